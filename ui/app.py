"""The digestqa web UI. Start it with `digestqa ui` (which runs `streamlit run ui/app.py` with the
configured store). Pages live in ui/views/; all logic lives in the `assistant` package."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # `import frame` from every page, under `streamlit run` and AppTest alike
if importlib.util.find_spec("assistant") is None:
    sys.path.append(str(HERE.parent))  # a source checkout that was not pip-installed

import frame  # noqa: E402
import streamlit as st  # noqa: E402

st.set_page_config(page_title="digestqa", page_icon="📚", layout="wide", initial_sidebar_state="expanded")
st.set_option("client.showErrorDetails", "none")  # also under a bare `streamlit run`: messages, not tracebacks
frame.keep_widget_state()
page = st.navigation([
    st.Page(HERE / "views" / "chat.py", title="Chat", icon=":material/forum:", default=True),
    st.Page(HERE / "views" / "briefing.py", title="Briefing", icon=":material/summarize:"),
    st.Page(HERE / "views" / "library.py", title="Library", icon=":material/library_books:"),
    st.Page(HERE / "views" / "daily.py", title="What's new", icon=":material/new_releases:"),
    st.Page(HERE / "views" / "evals.py", title="Evals", icon=":material/monitoring:"),
])
page.run()
