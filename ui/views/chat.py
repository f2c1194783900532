"""Chat: questions and follow-ups, answers streamed in with linked citations, sources underneath."""
from __future__ import annotations

import time

import frame
import streamlit as st

from assistant.types import Answer
from assistant.ui_support.chatting import ask_in_chat, chat_for, clear_chat
from assistant.ui_support.overview import backend_info, describe_filters
from assistant.ui_support.render import escape_markdown, link_citations, notice_level, source_cards

CURSOR = " ▌"

app, overview = frame.start_page()
filters, top_k = frame.sidebar_filters(app, overview)

st.title("Ask the digests")
st.caption(f"{overview.papers} papers from {overview.digests} digest(s) · {backend_info(app.settings).label} "
           f"· {describe_filters(filters, overview.digest_labels)} · top-{top_k}")
frame.require_papers(overview)
session = chat_for(st.session_state, app, filters)


def render_details(answer: Answer) -> None:
    if answer.standalone_question and answer.standalone_question != answer.question:
        st.caption(f"Read as: {escape_markdown(answer.standalone_question)}")
    for notice in answer.notices:
        (st.warning if notice_level(notice) == "warning" else st.info)(escape_markdown(notice))
    if answer.unsupported:
        st.warning("Claims not found in the cited papers (marked ⚠ above):\n\n"
                   + "\n".join(f"- {escape_markdown(c.reason)}" for c in answer.unsupported))
    if answer.sources:
        # The order is the answer's (members of a set, or a comparison's two sides, first); the score
        # is the search's own, which the answer's order also weighs, so the two can differ.
        st.markdown("**Sources**, in the order the answer ranked them (★ cited in the answer)",
                    help="The score is the search's relevance score. The answer's order also weighs how much of "
                         "the question each paper states (and, for a comparison, puts each side's paper first), "
                         "so a lower score can come before a higher one.")
        for card in source_cards(answer, app.digests()):
            with st.expander(card.label):
                st.markdown(f"[{card.id}]({card.url}) · {card.category} · digests: {escape_markdown(card.when)} "
                            f"· found by {card.matched_by} · score {card.score:.3f}", help=card.digest_files)
                for section, text in card.passages:
                    st.caption(section)
                    st.markdown("> " + escape_markdown(text))
    total = answer.timings.get("total_s")
    st.caption(f"{answer.backend}" + (f" · {total:.1f} s" if total is not None else ""))


def render_turn(answer: Answer) -> None:
    with st.chat_message("user"):
        st.markdown(escape_markdown(answer.question))
    with st.chat_message("assistant"):
        st.markdown(link_citations(answer.text))
        render_details(answer)


intro = st.empty()
if not session.turns:
    intro.info("Ask about the papers in English or Chinese, e.g. *Which papers speed up LLM inference?* "
               "Follow-ups such as *and which of those use quantization?* refer to the previous answer.")
for turn in session.turns:
    render_turn(turn)

question = st.chat_input("Ask about the papers, in English or Chinese…")
if question:
    intro.empty()
    with st.chat_message("user"):
        st.markdown(escape_markdown(question))
    with st.chat_message("assistant"):
        placeholder = st.empty()
        placeholder.markdown("_Searching the papers…_")
        try:
            stream = ask_in_chat(session, question, top_k)
            shown = ""
            for word, wait_s in stream:
                shown += word
                placeholder.markdown(link_citations(shown) + CURSOR)
                if wait_s:
                    time.sleep(wait_s)
            placeholder.markdown(link_citations(stream.answer.text))
            render_details(stream.answer)
        except Exception as exc:
            placeholder.empty()
            frame.show_error(exc)

# Last, so that it is enabled as soon as the first answer is in; the callback runs before the rerun.
st.sidebar.button("Clear conversation", icon=":material/delete_sweep:", disabled=not session.turns,
                  on_click=clear_chat, args=(st.session_state,), width="stretch")
if session.turns:  # the conversation with its checked citations, and the cited papers for a reference manager
    from assistant.daily.export import bibtex, transcript_markdown

    st.sidebar.download_button("Transcript (Markdown)", transcript_markdown(session.turns), "digestqa-chat.md",
                               "text/markdown", icon=":material/download:", width="stretch")
    cited = {s.id: s.paper for turn in session.turns for s in turn.sources if s.id in turn.cited_ids}
    st.sidebar.download_button("Cited papers (BibTeX)", bibtex(list(cited.values())), "digestqa-chat.bib",
                               "application/x-bibtex", icon=":material/download:", width="stretch",
                               disabled=not cited)
