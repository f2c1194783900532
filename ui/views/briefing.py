"""Briefing: one category's papers over chosen digests, grouped into themes, with citations."""
from __future__ import annotations

from datetime import date

import frame
import streamlit as st

from assistant.ui_support.briefs import briefing_filename, make_briefing
from assistant.ui_support.overview import make_filters
from assistant.ui_support.render import demote_headings, escape_markdown, link_citations, notice_level

RESULT_KEY = "digestqa.briefing"
WHEN = {"latest": "Latest digest", "pick": "Pick dates", "range": "Date range", "all": "All dates"}
LANGS = {"en": "English", "zh": "中文"}

app, overview = frame.start_page()
st.title("Briefing")
st.caption("What one category's papers are about: themes, key results and numbers, each line cited.")
frame.require_papers(overview)

counts = overview.categories
left, middle, right = st.columns([2, 4, 2])
category = left.selectbox("Category", list(counts), format_func=lambda c: f"{c} ({counts[c]} papers)")
choices = list(WHEN) if overview.dates else ["latest", "pick", "all"]
when = middle.radio("Digests", choices, horizontal=True, help=f"Latest digest: {overview.latest_rule}.",
                    format_func=lambda w: "Pick digests" if w == "pick" and not overview.dates else WHEN[w])
lang = right.radio("Language", list(LANGS), format_func=LANGS.get, horizontal=True)
dates, digests, chosen = [], [], ()
if when == "pick" and overview.dates:
    dates = st.multiselect("Dates", overview.dates, placeholder="Choose digest dates")
elif when == "pick":
    digests = st.multiselect("Digests", overview.digest_names, placeholder="Choose digests",
                             format_func=overview.digest_label)
elif when == "range":
    first, last = date.fromisoformat(overview.dates[0]), date.fromisoformat(overview.dates[-1])
    chosen = st.date_input("From – to", (first, last), min_value=first, max_value=last)
    chosen = tuple(chosen) if isinstance(chosen, (tuple, list)) else (chosen,)
submitted = st.button("Build briefing", type="primary", icon=":material/summarize:")

if submitted:
    picked = make_filters(dates=dates, digests=digests, since=chosen[0] if chosen else None,
                          until=chosen[1] if len(chosen) > 1 else None)
    bar = st.progress(0.0, text=f"Reading the {category} papers…")

    def progress(stage: str, done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{stage.capitalize()}…")

    try:
        st.session_state[RESULT_KEY] = make_briefing(
            app, category, dates=picked.dates, since=picked.since, until=picked.until, digests=picked.digests,
            all_dates=when == "all", lang=lang, progress=progress)
    except Exception as exc:
        st.session_state.pop(RESULT_KEY, None)
        frame.show_error(exc)
    finally:
        bar.empty()

briefing = st.session_state.get(RESULT_KEY)
if briefing is not None:
    papers, themes = len(briefing.papers), len(briefing.themes)
    top, button = st.columns([5, 2])
    top.success(f"{briefing.category}, {getattr(briefing, 'label', '') or 'selected digests'}: "
                f"{papers} paper(s) in {themes} theme(s)")
    button.download_button("Download Markdown", briefing.markdown, file_name=briefing_filename(briefing),
                           mime="text/markdown", icon=":material/download:", width="stretch")
    for notice in briefing.notices:
        (st.warning if notice_level(notice) == "warning" else st.info)(escape_markdown(notice))
    with st.container(border=True):
        st.markdown(link_citations(demote_headings(briefing.markdown)))
