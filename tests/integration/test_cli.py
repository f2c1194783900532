"""The CLI as a user meets it: real subprocesses, exit codes, one-line errors, --json fields."""
import json
import os
import subprocess
import sys

import pytest

from tests.factories import FIXTURES


def run(*args, store=None, env=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "assistant"] + ([f"--store={store}"] if store else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=300)


@pytest.fixture(scope="module")
def cli_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("cli") / "store"
    result = run("ingest", str(FIXTURES / "2026-01-20.md"), str(FIXTURES / "malformed.md"), "--json", "-q", store=store)
    assert result.returncode == 0, result.stderr
    return store, json.loads(result.stdout)


def test_ingest_json_has_the_documented_fields(cli_store):
    _, report = cli_store
    assert {"added", "changed", "unchanged", "skipped", "papers_total", "seconds"} <= set(report)
    assert report["added"] == 12 and report["papers_total"] == 12
    assert report["skipped"][0]["line"] > 0 and "malformed.md" in report["skipped"][0]["file"]


def test_stats_json(cli_store):
    store, _ = cli_store
    stats = json.loads(run("stats", "--json", store=store).stdout)
    assert stats["papers"] == 12 and stats["chunks"] > 12 and stats["digests"] == 2
    assert stats["categories"]["cs.LG"] == 7 and stats["store_bytes"] > 0


def test_search_json_is_a_ranked_list(cli_store):
    store, _ = cli_store
    result = run("search", "LSM compaction on zoned SSDs", "-k", "3", "--json", store=store)
    hits = json.loads(result.stdout)
    assert hits[0]["id"] == "2601.90005"
    assert set(hits[0]) == {"id", "title", "category", "score"}
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)


def test_papers_filters_by_category(cli_store):
    store, _ = cli_store
    listed = json.loads(run("papers", "--category", "cs.DB", "--json", store=store).stdout)
    assert {p["id"] for p in listed} == {"2601.90004", "2601.90005", "2601.90077", "2601.90078"}


def test_store_can_follow_the_subcommand_and_come_from_the_environment(cli_store):
    store, _ = cli_store
    after = subprocess.run([sys.executable, "-m", "assistant", "stats", "--json", "--store", str(store)],
                           capture_output=True, text=True)
    assert json.loads(after.stdout)["papers"] == 12
    from_env = run("stats", "--json", env={"DIGESTQA_STORE": str(store)})
    assert json.loads(from_env.stdout)["papers"] == 12


@pytest.mark.parametrize("args,message", [
    (["ingest", "/nonexistent/digests"], "no such file or folder"),
    (["search", "anything"], "no store at"),
    (["search", "x", "-k", "0"], "at least 1"),
    (["papers", "--date", "2026-13-01"], "YYYY-MM-DD"),
])
def test_user_mistakes_get_one_line_and_a_nonzero_exit(tmp_path, args, message):
    result = run(*args, store=tmp_path / "nostore")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_folder_is_a_user_error(tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("ingest", str(tmp_path / "empty"), store=tmp_path / "s")
    assert result.returncode == 2 and "no digest files" in result.stderr and "Traceback" not in result.stderr


def test_corrupt_store_is_a_user_error(tmp_path):
    store = tmp_path / "bad"
    store.mkdir()
    (store / "chroma.sqlite3").write_bytes(b"this is not sqlite" * 100)
    result = run("stats", store=store)
    assert result.returncode == 2 and "corrupt" in result.stderr and "Traceback" not in result.stderr


def test_help_teaches():
    result = run("--help")
    assert result.returncode == 0 and "examples:" in result.stdout and "ingest" in result.stdout
    assert "--category" in run("search", "--help").stdout


def test_many_problems_with_one_reason_print_as_one_line(capsys):
    from assistant.cli.commands import _print_problems

    items = [{"file": "d.md", "line": n, "reason": "the digest's AI summary failed"} for n in range(10, 80, 10)]
    _print_problems("partial", items + [{"file": "d.md", "line": 3, "reason": "no abstract"}])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "  partial  7 entries: the digest's AI summary failed"
    assert "d.md:10, d.md:20, d.md:30" in out[1] and out[2] == "  partial  d.md:3: no abstract"
