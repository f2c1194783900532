"""What every page shares: the cached App, the sidebar (store, backend, filters) and error display.

Layout only: data comes from `assistant.ui_support` and the `App`.
"""
from __future__ import annotations

import logging
import threading

import streamlit as st

from assistant.app import App
from assistant.config import Settings, load_settings
from assistant.errors import DigestQAError
from assistant.search.retrieval import Filters
from assistant.ui_support.chatting import warm_up
from assistant.ui_support.messages import EMPTY_STORE, Friendly, friendly
from assistant.ui_support.overview import StoreOverview, backend_info, make_filters, settings_key, store_overview

APP_KEY = "digestqa.app"  # an App placed here is used instead of the shared one (tests hand theirs in)
FILTER_KEYS = ("f_categories", "f_date_mode", "f_dates", "f_range", "f_digests", "f_top_k")
DATE_MODES = ("All", "Pick", "Range")
log = logging.getLogger("digestqa.ui")


@st.cache_resource(show_spinner="Opening the store…")
def _shared_app(key: str, _settings: Settings) -> App:
    """One App per configuration for the whole server: the store, the embedding model and the LLM
    client are loaded once and reused by every rerun and every browser tab."""
    app = App(_settings)
    # Load the question-time model and indexes in the background, so the page opens at once and
    # the first question does not pay for them.
    threading.Thread(target=warm_up, args=(app,), name="digestqa-warm-up", daemon=True).start()
    return app


def show(message: Friendly) -> None:
    {"info": st.info, "warning": st.warning}.get(message.level, st.error)(message.text)


def show_error(exc: BaseException) -> None:
    if not isinstance(exc, DigestQAError):
        log.error("unexpected error in the web UI", exc_info=exc)
    show(friendly(exc))


def current_app() -> App:
    injected = st.session_state.get(APP_KEY)
    if injected is not None:
        return injected
    try:
        settings = load_settings()
    except DigestQAError as exc:
        show_error(exc)
        st.stop()
    return _shared_app(settings_key(settings), settings)


def keep_widget_state() -> None:
    """Streamlit forgets a widget's value when a page without it runs; re-assigning the keys at the
    top of every run keeps the sidebar filters while the user visits other pages."""
    for key in FILTER_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def start_page() -> tuple[App, StoreOverview]:
    """The App and what its store holds, with the store and backend shown in the sidebar."""
    app = current_app()
    try:
        overview = store_overview(app)  # our own errors become overview.problem; this is for the rest
    except Exception as exc:
        show_error(exc)
        st.stop()
    backend = backend_info(app.settings)
    with st.sidebar:
        st.markdown("#### Store")
        if overview.problem is not None and overview.problem.level != "info":
            st.error("Store unavailable")
        left, right = st.columns(2)
        left.metric("Papers", overview.papers)
        right.metric("Digests", overview.digests)
        st.caption(f"Last ingest: {overview.last_ingest_label}  \nStore: `{overview.short_label}`",
                   help=f"Store: {overview.label}")
        st.markdown("#### Answering")
        st.markdown(f"**{backend.label}**", help=backend.detail)
        st.caption(backend.summary)
    return app, overview


def require_papers(overview: StoreOverview, empty_message: str = EMPTY_STORE) -> None:
    """Stop the page with a friendly message when there is nothing to show yet."""
    if overview.problem is not None and overview.problem.level != "info":  # the store failed: say how
        show(overview.problem)
        st.stop()
    if overview.problem is not None or overview.empty:  # no store yet, or an empty one: how to fill it
        show(Friendly(empty_message, level="info"))
        st.stop()


def sidebar_filters(app: App, overview: StoreOverview, with_top_k: bool = True) -> tuple[Filters, int]:
    """Categories, digest dates (or digests, when their names carry no date) and top-k."""
    st.session_state.setdefault("f_top_k", min(app.settings.top_k, 20))
    st.session_state.setdefault("f_date_mode", DATE_MODES[0])
    with st.sidebar:
        st.markdown("#### Filters")
        counts = overview.categories
        categories = st.multiselect("Categories", list(counts), key="f_categories", placeholder="All categories",
                                    format_func=lambda c: f"{c} ({counts.get(c, 0)})")
        dates, since, until, digests = [], None, None, []
        if overview.dates:
            mode = st.radio("Digest dates", DATE_MODES, key="f_date_mode", horizontal=True)
            if mode == "Pick":
                dates = st.multiselect("Dates", overview.dates, key="f_dates", placeholder="Choose digest dates")
            elif mode == "Range":
                from datetime import date

                first, last = date.fromisoformat(overview.dates[0]), date.fromisoformat(overview.dates[-1])
                st.session_state.setdefault("f_range", (first, last))
                chosen = st.date_input("From – to", key="f_range", min_value=first, max_value=last)
                chosen = tuple(chosen) if isinstance(chosen, (tuple, list)) else (chosen,)
                since = chosen[0] if chosen else None
                until = chosen[1] if len(chosen) > 1 else None
        elif len(overview.digest_names) > 1:
            digests = st.multiselect("Digests", overview.digest_names, key="f_digests", placeholder="All digests",
                                     format_func=overview.digest_label,
                                     help=f"Oldest first, {overview.latest_rule}. Files: "
                                          + ", ".join(overview.digest_names))
        top_k = st.session_state["f_top_k"]
        if with_top_k:
            top_k = st.slider("Papers per answer (top-k)", 1, 20, key="f_top_k")
    return make_filters(categories, dates, since, until, digests), int(top_k)
