"""Evals: the runs `digestqa eval` wrote, one run's metrics and chart, and two runs compared."""
from __future__ import annotations

import frame
import streamlit as st

from assistant.evaluation.compare import render_comparison
from assistant.ui_support.runs import (
    compare,
    comparison_rows,
    default_runs_root,
    flip_rows,
    kind_rows,
    list_runs,
    metric_rows,
    open_run,
    question_rows,
    resolve_runs_root,
    runs_roots,
)

NUMBER = st.column_config.NumberColumn(format="%.3f")

app, _ = frame.start_page()
st.title("Evals")
st.caption("Answer-quality runs written by `digestqa eval` (metric definitions: evals/README.md).")
st.session_state.setdefault("runs_root", str(default_runs_root(app.settings)))
root = st.text_input("Runs folder", key="runs_root",
                     help="a folder of run folders. Looked for beside the store, the config file and this "
                          "source checkout (evals/runs: yours; evals/reports: the reference runs): "
                          + ", ".join(str(r) for r in runs_roots(app.settings) if r.is_dir()))
root = resolve_runs_root(root, app.settings)
runs = list_runs(root)
if not runs:
    st.info(f"No eval runs under `{root}` yet. Run one in a terminal, e.g. "
            "`digestqa eval evals/datasets/dev.jsonl`, then reload this page (or point the folder above "
            "at the runs).")
    st.stop()

one, two = st.tabs(["One run", "Compare two runs"])
with one:
    info = st.selectbox("Run", runs, format_func=lambda r: r.label, key="run_one")
    try:
        view = open_run(info)
    except Exception as exc:
        frame.show_error(exc)
    else:
        config = view.report.get("config", {})
        corpus = config.get("corpus", {})
        st.caption(" · ".join(str(x) for x in (
            f"pipeline {config.get('pipeline', '?')} ({config.get('backend', '?')})",
            f"top-k {view.k}", f"dataset {info.dataset or '?'}: {info.questions} questions",
            f"corpus {corpus.get('papers', '?')} papers", config.get("timestamp", "")) if x))
        st.markdown("**Overall**")
        st.dataframe(metric_rows(view), hide_index=True, width="stretch")
        st.markdown("**Per kind of question**")
        st.dataframe(kind_rows(view), hide_index=True, width="stretch")
        if view.chart is not None:  # the page's full width: its legend and labels stay readable
            st.image(str(view.chart), caption="per-kind scores (chart.png)", width="stretch")
        else:
            st.info("This run has no chart.png.")
        failures = {k: v for k, v in view.report.get("failures", {}).items() if v}
        if failures:
            st.markdown("**Questions to look at**")
            st.dataframe([{"what": k.replace("_", " "), "qids": ", ".join(v)} for k, v in failures.items()],
                         hide_index=True, width="stretch")
        with st.expander(f"All {len(view.records)} questions"):
            st.dataframe(question_rows(view), hide_index=True, width="stretch")

with two:
    if len(runs) < 2:
        st.info("Comparing needs two runs; this folder has one.")
    else:
        left, right = st.columns(2)
        current = left.selectbox("Current run", runs, index=0, format_func=lambda r: r.label, key="run_now")
        earlier = right.selectbox("Earlier run", runs, index=1, format_func=lambda r: r.label, key="run_before")
        if current.path == earlier.path:
            st.info("Pick two different runs.")
        else:
            try:
                comparison = compare(current, earlier)
            except Exception as exc:
                frame.show_error(exc)
            else:
                for warning in comparison["warnings"]:
                    st.warning(warning)
                st.dataframe(comparison_rows(comparison), hide_index=True, width="stretch",
                             column_config={"earlier": NUMBER, "now": NUMBER,
                                            "delta": st.column_config.NumberColumn(format="%+.3f")})
                flips = flip_rows(comparison)
                if flips:
                    st.markdown("**Questions that changed**")
                    st.dataframe(flips, hide_index=True, width="stretch")
                else:
                    st.caption("No question changed on any scored metric.")
                with st.expander("As text (what `digestqa eval --compare` prints)"):
                    st.code(render_comparison(comparison), language=None)
