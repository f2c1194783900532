"""Everything the Streamlit UI (`ui/`) needs beyond layout, kept here so it is plain, testable Python.

`ui/` only lays widgets out and calls these helpers and the `App`; no retrieval, prompt or
ingest code lives there. None of these modules imports Streamlit.

- render:   answer text -> Markdown with linked citations, source cards, word streaming
- chatting: the chat session a browser tab keeps, and streaming one turn
- overview: store stats, the answering backend, filters, the paper table
- uploads:  uploaded digest files -> ingest -> a summary of what was added, changed, skipped
- runs:     eval run folders -> tables, and the comparison of two runs
- briefs:   the briefing page's call into `assistant.briefing`
- messages: errors -> a friendly message that says what to do
"""
