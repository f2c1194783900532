"""The daily reader on the real stack (fixture digests, real model and Chroma): what's new after
each ingest, the watchlist answered over new papers only, flagged summaries, and the exports that
the commands write. Commands run in-process on the test's App (the model is loaded once)."""
import json

import bibtexparser
import pytest
import rispy

from assistant.cli import answer as cli_answer
from assistant.cli import commands as cli
from assistant.daily.history import History
from assistant.daily.watchlist import Watchlist
from assistant.errors import InputError
from tests.factories import FIXTURES, make_app


def command(app, capsys, *argv):
    args = cli.build_parser().parse_args(list(argv))
    handler = cli.COMMANDS.get(args.command) or cli_answer.COMMANDS[args.command]
    assert handler(args, app) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def daily_app(tmp_path_factory, embedder):
    """Two ingests, a watch added in between, then an edited replacement: a reader's three days."""
    from tests.factories import make_app

    app = make_app(tmp_path_factory.mktemp("daily") / "store", embedder)
    first = app.ingest([FIXTURES / "2026-01-20.md"])
    Watchlist(app.settings).add("KV cache quantization")
    Watchlist(app.settings).add("filtered vector search", categories=["cs.LG"])  # VecFilter is cs.DB: no hit
    second = app.ingest([FIXTURES / "2026-01-21.md"])
    return app, first, second


def test_history_records_what_each_ingest_added(daily_app):
    app, first, second = daily_app
    records = History(app.settings).records()
    assert len(records) == 2 and first.added == 6 and second.added == 3
    assert records[0].added == [f"2601.9000{i}" for i in range(1, 7)]
    assert records[1].added == ["2601.90007", "2601.90008", "2601.90009"]  # 90001 only relisted
    assert records[1].changed == [] and records[1].digests == ["2026-01-21"]


def test_new_json_shows_the_last_ingest_per_category(daily_app, capsys):
    app, _, _ = daily_app
    view = json.loads(command(app, capsys, "new", "--json"))
    assert view["count"] == 3 and view["categories"] == {"cs.DB": 1, "cs.LG": 1, "eess.SP": 1}
    assert [p["id"] for p in view["papers"]] == ["2601.90007", "2601.90008", "2601.90009"]
    first = view["papers"][0]
    assert set(first) == {"id", "title", "category", "kind", "authors", "url", "dates", "contribution", "watches"}
    assert first["kind"] == "added" and first["contribution"]
    previous = json.loads(command(app, capsys, "new", "--previous", "1", "--json"))
    assert previous["count"] == 6
    assert json.loads(command(app, capsys, "new", "--since", "2999-01-01", "--json"))["count"] == 0


def test_watch_run_answers_over_new_papers_only(daily_app, capsys):
    app, _, _ = daily_app
    results = json.loads(command(app, capsys, "watch", "run", "--json"))
    kv, vec = results
    assert kv["query"] == "KV cache quantization" and kv["searched"] == 3
    # QuantKV is new; KVSqueeze and TokenDrop are KV-cache papers too, but from the earlier ingest.
    assert [h["id"] for h in kv["hits"]] == ["2601.90008"] and "2601.90008" in kv["hits"][0]["sentence"]
    assert vec["searched"] == 1 and vec["hits"] == []  # only QuantKV is new and cs.LG; it is not about that
    text = command(app, capsys, "watch", "run")
    assert "#1 KV cache quantization: 1 new paper(s)" in text and "[2601.90008]" in text
    assert "#2 filtered vector search (category cs.LG): nothing new" in text
    # The hit now comes first in `new`, marked with its watch.
    view = json.loads(command(app, capsys, "new", "--json"))
    assert view["papers"][0]["id"] == "2601.90008" and view["papers"][0]["watches"] == ["KV cache quantization"]


def test_watch_run_all_and_exports(daily_app, capsys, tmp_path):
    app, _, _ = daily_app
    out = command(app, capsys, "watch", "run", "--all", "--md", str(tmp_path / "h.md"),
                  "--atom", str(tmp_path / "h.xml"), "--bib", str(tmp_path / "h.bib"), "--json")
    kv = json.loads(out)[0]
    ids = {h["id"] for h in kv["hits"]}
    assert kv["searched"] == 9 and "2601.90008" in ids and ids <= {"2601.90001", "2601.90002", "2601.90008"}
    assert "2601.90008" in (tmp_path / "h.md").read_text()
    assert "<feed" in (tmp_path / "h.xml").read_text()
    entries = bibtexparser.parse_file(str(tmp_path / "h.bib")).entries
    assert {e["eprint"] for e in entries} == ids


def test_watch_list_and_remove(daily_app, capsys):
    app, _, _ = daily_app
    listed = json.loads(command(app, capsys, "watch", "list", "--json"))
    assert [w["query"] for w in listed] == ["KV cache quantization", "filtered vector search"]
    with pytest.raises(InputError):
        command(app, capsys, "watch", "remove", "99")


def test_papers_bib_ris_and_ask_bib(daily_app, capsys, tmp_path):
    app, _, _ = daily_app
    out = command(app, capsys, "papers", "--category", "cs.DB", "--bib", str(tmp_path / "db.bib"),
                  "--ris", str(tmp_path / "db.ris"))
    assert "3 paper(s); wrote" in out
    assert sorted(e.key for e in bibtexparser.parse_file(str(tmp_path / "db.bib")).entries) == \
        ["arXiv:2601.90004", "arXiv:2601.90005", "arXiv:2601.90007"]
    assert len(rispy.loads((tmp_path / "db.ris").read_text())) == 3
    answer = json.loads(command(app, capsys, "ask", "Which papers compress the KV cache?", "--json",
                                "--bib", str(tmp_path / "a.bib")))
    keys = {e["eprint"] for e in bibtexparser.parse_file(str(tmp_path / "a.bib")).entries}
    assert keys == set(answer["cited_ids"]) and keys


def test_an_edited_summary_mismatch_is_flagged_everywhere(tmp_path, embedder, capsys):
    from tests.factories import make_app

    app = make_app(tmp_path / "store", embedder)
    app.ingest([FIXTURES / "2026-01-21.md"])
    assert app.stats()["summary_flags"] == 0
    report = app.ingest([FIXTURES / "2026-01-21_edited.md"])
    assert report.changed == 1 and History(app.settings).records()[-1].changed == ["2601.90007"]
    assert app.stats()["summary_flags"] == 1
    assert "1 paper(s) state a number" in command(app, capsys, "stats")
    assert json.loads(command(app, capsys, "papers", "--flagged", "--json"))[0]["id"] == "2601.90007"
    shown = json.loads(command(app, capsys, "show", "2601.90007", "--json"))
    assert shown["summary_flags"][0]["number"] == "5.6" and "6.3x" in shown["summary_flags"][0]["abstract_sentence"]
    text = command(app, capsys, "show", "2601.90007")
    assert "⚠ 5.6 (TL;DR)" in text and "abstract:" in text
    view = json.loads(command(app, capsys, "new", "--json"))
    assert [(p["id"], p["kind"]) for p in view["papers"]] == [("2601.90007", "changed")]
    with pytest.raises(InputError, match="no paper"):
        command(app, capsys, "show", "2601.99999")


def test_whats_new_page_shows_new_papers_watch_hits_and_downloads(daily_app):
    from tests.integration.test_ui_apptest import everything, open_ui

    app, _, _ = daily_app
    Watchlist(app.settings).run(app)
    at = open_ui(app, "daily")
    shown = everything(at)
    assert "**3 papers**" in shown and "QuantKV" in shown and "#1 KV cache quantization" in shown
    labels = [b.label for b in at.get("download_button")]
    assert {"BibTeX", "RIS (Zotero, EndNote)", "Markdown", "Atom feed"} <= set(labels)
    at.text_input(key="watch-query").set_value("protein design")
    at.button[0].click().run()  # the form's submit button
    assert not at.exception and "#3 protein design" in everything(at)


def test_library_card_shows_a_summary_flag(tmp_path, embedder):
    from tests.factories import make_app
    from tests.integration.test_ui_apptest import open_ui

    app = make_app(tmp_path / "store", embedder)
    app.ingest([FIXTURES / "2026-01-21_edited.md"])
    at = open_ui(app, "library")
    at.selectbox[-1].set_value("2601.90007").run()
    warnings = [w.value for w in at.warning]
    assert any("states 5.6, which the abstract does not" in w and "6.3x" in w for w in warnings), warnings


def test_brief_bib_writes_the_briefings_papers(daily_app, capsys, tmp_path):
    app, _, _ = daily_app
    command(app, capsys, "brief", "--category", "cs.DB", "--all-dates", "--no-llm", "--json", "-q",
            "--bib", str(tmp_path / "b.bib"))
    keys = {e["eprint"] for e in bibtexparser.parse_file(str(tmp_path / "b.bib")).entries}
    assert keys == {"2601.90004", "2601.90005", "2601.90007"}


def test_chat_offers_the_transcript_and_cited_papers(daily_app):
    from tests.integration.test_ui_apptest import ask, open_ui

    app, _, _ = daily_app
    at = ask(open_ui(app), "How much does KVSqueeze reduce KV-cache memory?")
    buttons = {b.label: b for b in at.sidebar.get("download_button")}
    assert {"Transcript (Markdown)", "Cited papers (BibTeX)"} <= set(buttons)


def test_the_ingest_checks_every_paper_it_writes_as_it_goes(tmp_path, embedder):
    from assistant.daily.summary_check import SummaryChecks
    from tests.factories import make_app

    app = make_app(tmp_path / "store", embedder)
    app.ingest([FIXTURES / "2026-01-21.md"])
    path = SummaryChecks(app.settings).path
    cached = json.loads(path.read_text())["papers"]
    states = app.store.paper_states()
    # Every written paper checked under its stored content hash: `stats` has nothing left to check.
    assert cached and {pid: entry["hash"] for pid, entry in cached.items()} == {pid: h for pid, (h, _) in states.items()}
    app.ingest([FIXTURES / "2026-01-21_edited.md"])
    cached = json.loads(path.read_text())["papers"]
    assert cached["2601.90007"]["hash"] == app.store.paper_states()["2601.90007"][0] and cached["2601.90007"]["flags"]


def test_show_lists_every_digest_a_paper_appeared_in_by_its_readable_label(tmp_path, embedder, capsys):
    app = make_app(tmp_path / "store", embedder)
    undated = tmp_path / "007_5f3a9c1d2e4b6a80.md"
    undated.write_bytes((FIXTURES / "2026-01-21.md").read_bytes())
    app.ingest([FIXTURES / "2026-01-20.md", undated])
    shown = command(app, capsys, "show", "2601.90001")
    line = next(line for line in shown.splitlines() if line.startswith("digest"))
    assert line.startswith("digests: ") and set(line.removeprefix("digests: ").split(", ")) == {"2026-01-20", "digest 007"}
