"""What's new: the last ingest's papers (watch hits first), the watchlist with its latest hits,
and downloads (BibTeX, RIS, Markdown, Atom). Logic lives in assistant.daily.whatsnew/watchlist/export."""
from __future__ import annotations

import tempfile
from pathlib import Path

import frame
import streamlit as st

from assistant.daily.export import bibtex, hits_atom, hits_markdown, ris
from assistant.daily.watchlist import Watchlist, WatchResult
from assistant.daily.whatsnew import new_papers
from assistant.ui_support.render import plain

app, overview = frame.start_page()
st.title("What's new")
frame.require_papers(overview)


def downloads(papers, name: str, key: str) -> None:
    cols = st.columns(2)
    cols[0].download_button("BibTeX", bibtex(papers), f"{name}.bib", "application/x-bibtex",
                            key=f"{key}-bib", icon=":material/download:", disabled=not papers)
    cols[1].download_button("RIS (Zotero, EndNote)", ris(papers), f"{name}.ris", "application/x-research-info-systems",
                            key=f"{key}-ris", icon=":material/download:", disabled=not papers)


# -- the last ingest's papers --------------------------------------------------------------------
try:
    previous = st.number_input("Ingests before the last one", min_value=0, value=0, step=1,
                               help="0 shows the last ingest that added papers; 1 the one before, …")
    view = new_papers(app, previous=int(previous))
    watchlist = Watchlist(app.settings)
    watches = watchlist.watches()
except Exception as exc:
    frame.show_error(exc)
    st.stop()

if not view["ingests"]:
    st.info("No ingest has recorded new papers yet. Add digests on the Library page; each ingest then "
            "lists here what it added.")
else:
    for ingest in view["ingests"]:
        st.caption(f"Ingest of {ingest['at']}: {ingest['added']} added, {ingest['changed']} changed")
    st.markdown(f"**{view['count']} papers** · " + " · ".join(f"{c} {n}" for c, n in view["categories"].items()))
    stored = app.catalog()
    downloads([stored[p["id"]] for p in view["papers"] if p["id"] in stored], "digestqa-new", "new")
    # Watch hits first and open; then one collapsed group per category, largest first, with its count.
    hits = [item for item in view["papers"] if item["watches"]]
    groups = [("Watch hits", hits, True)] if hits else []
    groups += [(category, [i for i in view["papers"] if i["category"] == category and not i["watches"]], False)
               for category in view["categories"]]
    for label, items, expanded in groups:
        if not items:
            continue
        with st.expander(f"{label} ({len(items)})", expanded=expanded):
            for item in items:
                star = f" ★ {plain('; '.join(item['watches']))}" if item["watches"] else ""
                changed = " (changed)" if item["kind"] == "changed" else ""
                st.markdown(f"**{plain(item['title'])}**{changed}{star}  \n[{item['id']}]({item['url']}) · "
                            f"{item['category']}  \n{plain(item['contribution'])}")

# -- watchlist ---------------------------------------------------------------------------------------
st.header("Watchlist")
st.caption("Standing questions, answered over each ingest's new papers with the same checked citations as the chat.")
with st.form("watch-add", clear_on_submit=True):
    query = st.text_input("Question or topic", placeholder="e.g. KV cache compression", key="watch-query")
    cols = st.columns(2)
    categories = cols[0].multiselect("Only these categories", list(overview.categories))
    author = cols[1].text_input("Only this author", placeholder="optional")
    if st.form_submit_button("Watch", icon=":material/visibility:"):
        try:
            watchlist.add(query, categories, [author] if author.strip() else [])
            st.rerun()
        except Exception as exc:
            frame.show_error(exc)

if watches:
    cols = st.columns(2)
    if cols[0].button("Run over the new papers", icon=":material/play_arrow:"):
        with st.spinner("Answering each watch…"):
            watchlist.run(app)
        st.rerun()
    if cols[1].button("Run over every paper", icon=":material/all_inclusive:"):
        with st.spinner("Answering each watch…"):
            watchlist.run(app, sorted(app.catalog()))
        st.rerun()
    watches = watchlist.watches()
    results = [WatchResult(w, w.hits, 0, not w.hits) for w in watches]
    for watch in watches:
        with st.container(border=True):
            top = st.columns([5, 1])
            when = f"last run {watch.last_run}" if watch.last_run else "not run yet"
            top[0].markdown(f"**#{watch.id} {plain(watch.label)}**  \n{when} · {len(watch.hits)} hit(s)")
            if top[1].button("Remove", key=f"rm-{watch.id}"):
                watchlist.remove(str(watch.id))
                st.rerun()
            for hit in watch.hits:
                st.markdown(f"- [{hit.id}]({hit.url}) **{plain(hit.title)}** ({hit.category})  \n  {plain(hit.sentence)}")
    if any(w.hits for w in watches):
        stored = app.catalog()
        hit_papers = [stored[pid] for pid in dict.fromkeys(h.id for w in watches for h in w.hits) if pid in stored]
        downloads(hit_papers, "digestqa-watch-hits", "hits")
        cols = st.columns(2)
        cols[0].download_button("Markdown", hits_markdown(results), "digestqa-watch-hits.md", "text/markdown",
                                icon=":material/download:")
        with tempfile.TemporaryDirectory() as tmp:
            atom = Path(hits_atom(results, Path(tmp) / "hits.xml")).read_bytes()
        cols[1].download_button("Atom feed", atom, "digestqa-watch-hits.xml", "application/atom+xml",
                                icon=":material/rss_feed:")
else:
    st.info("No watches yet: add a question or topic above.")
