"""Issue 25: the sample never mixes in, nothing read can exhaust the machine, no traceback from
damaged files, exports that parse, and the terminal and silent-empty cases. One class each."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import InputError
from tests.factories import FIXTURES, make_settings, run_cli

ROOT = Path(__file__).resolve().parents[2]
GOOD = (FIXTURES / "2026-01-20.md").read_text()


def _entry(n: int, new_id: str | None = None, abstract: str | None = None) -> str:
    start = GOOD.index(f"### [{n}]")
    end = GOOD.find("### [", start + 5)
    text = GOOD[start:end if end > 0 else len(GOOD)]
    old_id = text.split("arxiv.org/abs/")[1].split(")")[0]
    if new_id:
        text = text.replace(old_id, new_id)
    if abstract:
        head, _, _ = text.partition("Abstract:")
        text = f"{head}Abstract: {abstract}\n\n</details>\n\n"
    return text


# -- 1. the packaged sample never mixes into a user's store ---------------------------------------
SAMPLE_ABSTRACT = "This sample entry paraphrases the paper in the project's own words."


@pytest.fixture
def sample_dir(tmp_path, monkeypatch) -> Path:
    """A packaged sample of two entries (2601.90001, also in the user's 2026-01-20.md, and the
    sample-only 2601.95555), dated later than the user's digest, in a folder the product takes for
    its packaged sample."""
    folder = tmp_path / "pkg" / "sample_digests"
    folder.mkdir(parents=True)
    (folder / "2026-01-22.md").write_text("# digest\n\n" + _entry(1, abstract=SAMPLE_ABSTRACT)
                                          + _entry(2, "2601.95555", abstract=SAMPLE_ABSTRACT))
    monkeypatch.setattr("assistant.ingest.sample.SAMPLE_DIR", folder.resolve())
    return folder


def _own_digest(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    shutil.copy(FIXTURES / "2026-01-20.md", folder / "000_undated.md")  # undated: the sample's date used to win
    return folder / "000_undated.md"


def test_quick_start_sample_is_removed_by_the_first_real_ingest(fresh_app, sample_dir, tmp_path):
    fresh_app.ingest([sample_dir])
    assert set(fresh_app.store.papers()) == {"2601.90001", "2601.95555"}
    report = fresh_app.ingest([_own_digest(tmp_path)])
    papers = fresh_app.store.papers()
    assert "2601.95555" not in papers and SAMPLE_ABSTRACT not in papers["2601.90001"].abstract
    assert papers["2601.90001"].digests == ["000_undated"] and papers["2601.90001"].dates == []
    assert report.replaced == [] and report.unchanged == 0 and report.added == len(papers)
    assert len(report.notes) == 1 and "removed the packaged sample digest" in report.notes[0]
    assert "2026-01-22" not in fresh_app.store.digest_records() and fresh_app.stats()["digests"] == 1


def test_a_store_mixed_by_the_old_quick_start_is_repaired_by_the_next_ingest(fresh_app, sample_dir, tmp_path,
                                                                               monkeypatch):
    # The old code: the sample neither marked nor recognised, so its later date won the conflict.
    monkeypatch.setattr("assistant.ingest.pipeline.is_sample_file", lambda path: False)
    monkeypatch.setattr("assistant.ingest.pipeline.is_sample_origin", lambda origin: False)
    monkeypatch.setattr("assistant.ingest.pipeline._keep_sample_apart", lambda *args: None)
    own = _own_digest(tmp_path)
    fresh_app.ingest([sample_dir])
    mixed = fresh_app.ingest([own])
    assert SAMPLE_ABSTRACT in fresh_app.store.papers()["2601.90001"].abstract and mixed.replaced  # as the issue saw
    monkeypatch.undo()
    monkeypatch.setattr("assistant.ingest.sample.SAMPLE_DIR", sample_dir.resolve())
    report = fresh_app.ingest([own])
    papers = fresh_app.store.papers()
    assert SAMPLE_ABSTRACT not in papers["2601.90001"].abstract and "2601.95555" not in papers
    assert all(p.digests == ["000_undated"] for p in papers.values())
    assert report.replaced == [] and len(report.notes) == 1 and "removed the packaged sample" in report.notes[0]
    assert fresh_app.stats()["digests"] == 1


def test_the_sample_is_never_added_to_a_store_of_ones_own(fresh_app, sample_dir, tmp_path):
    own = _own_digest(tmp_path)
    fresh_app.ingest([own])
    with pytest.raises(InputError, match="never mixes"):
        fresh_app.ingest([sample_dir])
    report = fresh_app.ingest([sample_dir, own])  # both at once: only the real digest
    assert "left out the packaged sample" in report.notes[0] and "2601.95555" not in fresh_app.store.papers()
    assert SAMPLE_ABSTRACT not in fresh_app.store.papers()["2601.90001"].abstract


def test_a_conflict_that_drops_an_entry_is_never_counted_unchanged(fresh_app, tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    newer = folder / "2026-01-21.md"
    newer.write_text("# d\n\n" + _entry(1, abstract="The newer text."))
    older = folder / "2026-01-20.md"
    older.write_text("# d\n\n" + _entry(1, abstract="The older text."))
    fresh_app.ingest([newer])
    report = fresh_app.ingest([older])
    assert (report.unchanged, report.conflicts) == (0, 1) and report.replaced
    assert "1 kept over a differing entry" in report.headline


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "big"])
def test_ingest_of_a_device_a_fifo_or_a_huge_file_ends_at_once_with_one_line(tmp_path, target):
    path = {"/dev/zero": Path("/dev/zero"), "fifo": tmp_path / "pipe.md", "big": tmp_path / "big.md"}[target]
    if target == "fifo":
        os.mkfifo(path)
    if target == "big":
        with open(path, "w") as fh:  # 50 MB
            fh.write(("lorem ipsum dolor sit amet " * 40 + "\n") * 46000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    command = f"ulimit -v 4000000; exec {sys.executable} -m assistant --store {tmp_path / 'store'} ingest -q {path}"
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("digestqa: error: nothing ingested") and len(done.stderr.strip().splitlines()) == 1


def _store_with_an_index_file(path: Path) -> Path:
    """A store whose text collection has enough records (1,100) for Chroma to write its id map."""
    from assistant.ingest.store import Store

    store = Store(make_settings(path), create=True)
    n = 1100
    store.text_chunks.upsert(ids=[f"2601.9{i:04d}#tldr#x" for i in range(n)], embeddings=[[1.0]] * n,
                             metadatas=[{"paper_id": f"2601.9{i:04d}", "section": "tldr", "text": '"t"'} for i in range(n)])
    store.bump_generation()
    del store
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()  # Chroma keeps an open store per path in the process: read it anew
    return next(path.glob("*/index_metadata.pickle"))


def test_a_damaged_index_file_is_one_line_and_repair_rebuilds_it(tmp_path, capsys, quiet_env):
    index = _store_with_an_index_file(tmp_path / "store")
    index.write_bytes(index.read_bytes()[:500])
    code, out, err = run_cli(capsys, "--store", tmp_path / "store", "stats")
    assert code == 2 and str(index) in err and "digestqa repair" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(capsys, "--store", tmp_path / "store", "repair")
    assert code == 0 and "rebuilt digestqa_text (1100 records)" in out, err
    code, out, err = run_cli(capsys, "--store", tmp_path / "store", "stats", "--json")
    assert code == 0 and json.loads(out)["chunks"] == 1100


@pytest.mark.parametrize("target", ["dir", "binary", "/dev/zero", "nested"])
def test_digestqa_config_that_is_not_a_toml_file_is_one_line(tmp_path, target):
    path = {"dir": tmp_path, "binary": tmp_path / "b.toml", "/dev/zero": Path("/dev/zero"),
            "nested": tmp_path / "n.toml"}[target]
    if target == "binary":
        path.write_bytes(bytes(range(128, 256)) * 10)
    if target == "nested":
        path.write_text("a = " + "[" * 100_000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")} | {"DIGESTQA_CONFIG": str(path)}
    done = subprocess.run([sys.executable, "-m", "assistant", "stats"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("digestqa: error: DIGESTQA_CONFIG") and \
        len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_unknown_digest_and_dates_of_undated_digests_are_errors(fresh_app, tmp_path, capsys, quiet_env):
    undated = tmp_path / "digests" / "000_undated.md"
    undated.parent.mkdir()
    undated.write_text(GOOD)
    fresh_app.ingest([undated])
    store = fresh_app.settings.store
    code, out, err = run_cli(capsys, "--store", store, "papers", "--digest", "nosuchdigest")
    assert code == 2 and "unknown digest 'nosuchdigest'" in err and "000_undated" in err and out == ""
    for args in (["papers", "--since", "2026-01-01"], ["ask", "KV cache?", "--date", "2026-01-20"]):
        code, out, err = run_cli(capsys, "--store", store, *args)
        assert code == 2 and "carry no dates" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(capsys, "--store", store, "papers", "--digest", "000_undated")
    assert code == 0 and "6 paper(s)" in out


def test_the_stdio_server_answers_malformed_lines_and_keeps_serving(fixture_app):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    server = subprocess.Popen([sys.executable, "-m", "assistant", "--store", str(fixture_app.settings.store), "mcp"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                              cwd=ROOT, env=env)
    try:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
        lines = [json.dumps(init), "this is not json", json.dumps({"jsonrpc": "2.0", "id": {"o": 1}, "method": "ping"}),
                 json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": [1]}),
                 json.dumps({"jsonrpc": "2.0", "id": 4, "method": "ping"})]
        server.stdin.write("\n".join(lines) + "\n")
        server.stdin.flush()
        replies = [json.loads(server.stdout.readline()) for _ in range(5)]
    finally:
        server.kill()
        server.wait(10)
    by_id = {json.dumps(r.get("id")): r for r in replies}
    assert by_id["1"]["result"]["serverInfo"]["name"] == "digestqa"
    assert by_id["3"]["error"]["code"] == -32602 and by_id["4"]["result"] == {}
    assert sorted(r["error"]["code"] for r in replies if r["id"] is None) == [-32700, -32600]


def test_mcp_arguments_are_answered_in_our_words_and_echoes_are_capped(fixture_app):
    import asyncio

    from assistant.mcp.server import build_server
    from assistant.mcp.tools import PaperTools

    server = build_server(lambda: fixture_app)
    result = asyncio.run(server._handle_call_tool(None, _params("search_papers", {"query": "kv", "k": 500})))
    text = result.content[0].text
    assert result.is_error and text == "k must be a whole number from 1 to 50, got 500" and "pydantic" not in text
    tools = PaperTools(lambda: fixture_app)
    huge = "q" * 1_000_000
    assert len(json.dumps(tools.search_papers(huge, 3))) < 20_000
    with pytest.raises(InputError) as raised:
        tools.search_papers("kv", 3, category=huge)
    assert len(str(raised.value)) < 1000
    found = tools.search_papers("cardinality estimation", 3)["papers"]
    assert all(all(len(d) == 10 and d[4] == "-" for d in p["dates"]) for p in found)


def _params(name: str, arguments: dict):
    from mcp.types import CallToolRequestParams

    return CallToolRequestParams(name=name, arguments=arguments)


def test_an_injected_digest_is_neither_obeyed_nor_quoted(fresh_app):
    fresh_app.ingest([FIXTURES / "injected_instructions.md", FIXTURES / "2026-01-20.md"])
    lookup = fresh_app.ask("What accuracy does 9999.99999 report?")
    assert lookup.refused and lookup.cited_ids == [] and "9999.99999 is not in the stored digests" in lookup.text
    for question in ("How much KV cache memory does SparseKV save?", "What does 2601.90201 report?",
                     "Which papers study sparse key-value caches?"):
        answer = fresh_app.ask(question)
        assert "2601.90201" in answer.cited_ids, (question, answer.text)
        for planted in ("Ignore previous", "9999.99999", "99% accuracy", "You must"):
            assert planted not in answer.text, (question, answer.text)


def test_a_damaged_private_copy_of_a_read_only_store_is_made_again(tmp_path, capsys, quiet_env, monkeypatch):
    _store_with_an_index_file(tmp_path / "store")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK and str(p).startswith(
        str(tmp_path / "store")) else real_access(p, mode, **kw))
    code, out, _ = run_cli(capsys, "--store", tmp_path / "store", "stats", "--json")
    assert code == 0
    copy = next((tmp_path / "user-cache" / "readonly-stores").glob("*/*/*/index_metadata.pickle"))
    copy.write_bytes(b"\x80\x03}(garbage")
    code, out, err = run_cli(capsys, "--store", tmp_path / "store", "stats", "--json")
    assert code == 0 and json.loads(out)["chunks"] == 1100, err
