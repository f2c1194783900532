"""Library: browse and filter the stored papers; upload digest files to ingest them."""
from __future__ import annotations

import time

import frame
import streamlit as st

from assistant.markup import readable
from assistant.ui_support.messages import EMPTY_LIBRARY
from assistant.ui_support.overview import paper_rows, search_papers
from assistant.ui_support.render import plain
from assistant.ui_support.uploads import Upload, ingest_uploads, progress_line

SUMMARY_KEY = "digestqa.ingest_summary"


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


UPLOADER_KEY = "digestqa.uploader_round"  # a new key empties the uploader after an ingest

app, overview = frame.start_page()
st.title("Library")

# -- upload --------------------------------------------------------------------------------------
with st.expander("Add digests", expanded=overview.empty or SUMMARY_KEY in st.session_state,
                 icon=":material/upload_file:"):
    st.caption("Upload digest files (.md or .txt). Ingesting is idempotent: a paper already stored is left "
               "alone, an edited entry replaces its old version, and broken entries are skipped with the reason.")
    round_ = st.session_state.setdefault(UPLOADER_KEY, 0)
    files = st.file_uploader("Digest files", type=["md", "markdown", "txt"], accept_multiple_files=True,
                             key=f"uploader-{round_}")
    digest_date = st.date_input("Digest date, for files whose name carries no YYYY-MM-DD", value=None)
    if st.button("Ingest", key="ingest", type="primary", disabled=not files, icon=":material/database_upload:"):
        bar = st.progress(0.0, text="Reading the files…")

        started: list[float] = []  # when embedding began (the first report), for the rate and ETA

        def progress(done: int, total: int) -> None:
            started[:] = started or [time.monotonic()]
            bar.progress(done / total if total else 1.0, text=progress_line(done, total, time.monotonic() - started[0]))

        try:
            summary = ingest_uploads(app, [Upload(f.name, f.getvalue()) for f in files],
                                     digest_date.isoformat() if digest_date else None, progress)
        except Exception as exc:
            bar.empty()
            frame.show_error(exc)
        else:
            st.session_state[SUMMARY_KEY] = summary
            st.session_state[UPLOADER_KEY] = round_ + 1
            st.rerun()  # the sidebar's counts and the table below now include the new papers

    summary = st.session_state.get(SUMMARY_KEY)
    if summary is not None:
        (st.success if summary.added or summary.changed else st.info)(summary.headline)
        cols = st.columns(4)
        for col, (name, value) in zip(cols, [("Added", summary.added), ("Changed", summary.changed),
                                             ("Unchanged", summary.unchanged), ("Skipped", len(summary.skipped))], strict=False):
            col.metric(name, value)
        if summary.skipped:
            skipped = plural(len(summary.skipped), "entry or file", "entries or files")
            st.warning(f"Skipped, with the reason: {skipped}.")
            st.dataframe(summary.skipped, hide_index=True, width="stretch")
        if summary.partial:
            st.info(f"Kept with something missing: {plural(len(summary.partial), 'entry', 'entries')}.")
            st.dataframe(summary.partial, hide_index=True, width="stretch")

# -- browse --------------------------------------------------------------------------------------
frame.require_papers(overview, EMPTY_LIBRARY)
filters, _ = frame.sidebar_filters(app, overview, with_top_k=False)
query = st.text_input("Search titles, authors and ids", placeholder="e.g. quantization, Chen Ding, 2601.16032")
papers = search_papers(app.papers(filters), query)
st.caption(f"{len(papers)} of {overview.papers} papers")
st.dataframe(paper_rows(papers, app.digests()), hide_index=True, width="stretch",
             column_config={"arXiv": st.column_config.LinkColumn("arXiv", display_text="open", width="small"),
                            "title": st.column_config.TextColumn("title", width="large")})

if papers:
    by_id = {p.id: p for p in papers}
    chosen = st.selectbox("Read a paper", list(by_id), format_func=lambda pid: f"{pid} · {readable(by_id[pid].title)}")
    paper = by_id[chosen]
    with st.container(border=True):
        st.markdown(f"**{plain(paper.title)}**  \n[{paper.id}]({paper.url}) · {paper.category} · "
                    f"{plain(', '.join(paper.authors))}")
        for name, text in (("TL;DR", paper.tldr), ("Abstract", paper.abstract)):
            if text.strip():
                st.caption(name)
                st.markdown(plain(text))
        from assistant.daily.summary_check import check_paper  # the digest's summary, checked against the abstract

        for flag in check_paper(paper):
            st.warning(f"The {'TL;DR' if flag.section == 'tldr' else 'Result'} states {flag.number}, which the "
                       f"abstract does not.  \nSummary: {plain(flag.summary_sentence)}  \n"
                       f"Abstract: {plain(flag.abstract_sentence)}")
    from assistant.daily.export import bibtex, ris

    # Built on every rerun, so only for a filtered set (bibtexparser writes 350 papers in ~0.6 s).
    if len(papers) > 2000:
        st.caption("Filter to at most 2,000 papers to download them as BibTeX or RIS.")
    else:
        cols = st.columns(2)
        cols[0].download_button(f"BibTeX of these {len(papers)} papers", bibtex(papers), "digestqa-papers.bib",
                                "application/x-bibtex", icon=":material/download:")
        cols[1].download_button(f"RIS of these {len(papers)} papers", ris(papers), "digestqa-papers.ris",
                                "application/x-research-info-systems", icon=":material/download:")
