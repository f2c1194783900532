"""A store is data, not code, and its faults are named: hostile caches, stale caches after a kill,
read-only stores and full disks (issue 13)."""
from __future__ import annotations

import errno
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import commands as cli
from assistant.errors import StoreError
from assistant.ingest.parser import parse_digest_text
from assistant.ingest.pipeline import _EmbedWorker, _Planned, _write_plan
from assistant.ingest.store import Store
from assistant.search.lexical import lexical_cache_folders, lexical_cache_name
from assistant.types import Digest
from tests.factories import FIXTURES, make_app, make_settings, run_cli

ROOT = Path(__file__).resolve().parents[2]


class _Payload:
    """Unpickling this creates `marker`: what an attacker's cache file would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def store_copy(fixture_app, tmp_path) -> Path:
    target = tmp_path / "store"
    shutil.copytree(fixture_app.settings.store, target)
    return target


def _plant(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(_Payload(marker)))


def test_the_payload_would_run_if_unpickled(tmp_path):
    marker = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Payload(marker)))  # what the old cache loader did
    assert marker.exists()  # so the tests below can fail


def test_a_hostile_lexical_cache_runs_nothing_and_search_is_still_right(store_copy, embedder, tmp_path):
    expected = [s.id for s in make_app(store_copy, embedder, cache_dir=tmp_path / "c0")
                .search("KV cache eviction", 5, mode="lexical").sources]
    marker = tmp_path / "pwned"
    app = make_app(store_copy, embedder, cache_dir=tmp_path / "cache")
    name = lexical_cache_name(app.store)
    for folder in lexical_cache_folders(app.settings):  # the exact files it reads, and old-style names
        for planted in (name, name.replace(".npz", ".pkl"), "lexical-digestqa-x-g1-v2.pkl"):
            _plant(folder / planted, marker)
    found = [s.id for s in app.search("KV cache eviction", 5, mode="lexical").sources]
    assert not marker.exists()
    assert found == expected and found
    # The rebuilt cache replaced the planted file and is read back by the next process.
    again = make_app(store_copy, embedder, cache_dir=tmp_path / "cache")
    assert [s.id for s in again.search("KV cache eviction", 5, mode="lexical").sources] == expected
    assert not marker.exists()


def test_a_cache_whose_arrays_disagree_is_rebuilt(store_copy, embedder, tmp_path):
    import numpy as np

    app = make_app(store_copy, embedder, cache_dir=tmp_path / "cache")
    expected = [s.id for s in app.search("cardinality estimation", 3, mode="lexical").sources]
    path = lexical_cache_folders(app.settings)[0] / lexical_cache_name(app.store)
    with np.load(path, allow_pickle=False) as npz:
        parts = dict(npz)
    parts["indices"] = parts["indices"] + 10_000  # points past the last chunk
    with open(path, "wb") as fh:
        np.savez(fh, **parts)
    again = make_app(store_copy, embedder, cache_dir=tmp_path / "cache")
    assert [s.id for s in again.search("cardinality estimation", 3, mode="lexical").sources] == expected


def test_a_hostile_dense_baseline_cache_runs_nothing(store_copy, embedder, tmp_path):
    from assistant.evaluation.pipelines import DensePipeline

    marker = tmp_path / "pwned"
    pipeline = DensePipeline(make_app(store_copy, embedder), 3)
    target = pipeline.cache_dir()
    for name in ("docstore.json", "default__vector_store.json", "index_store.json", "graph_store.json"):
        _plant(target / name, marker)
    _ = pipeline.index
    assert not marker.exists() and pipeline.loaded_from_cache is False
    reloaded = DensePipeline(make_app(store_copy, embedder), 3)
    _ = reloaded.index
    assert reloaded.loaded_from_cache


def test_papers_written_by_a_killed_ingest_are_found_lexically(store_copy, embedder, tmp_path):
    app = make_app(store_copy, embedder, cache_dir=tmp_path / "cache")
    assert not app.search("zorblaxification", 3, mode="lexical").sources  # the cache is built now
    entry = (FIXTURES / "2026-01-20.md").read_text()
    start = entry.index("### [1]")
    entry = entry[start:entry.index("### [2]")].replace("2601.90001", "2601.99901")
    entry = entry.replace("Abstract:", "Abstract: We introduce zorblaxification.", 1)
    paper = parse_digest_text(entry, "x.md", Digest("x")).papers[0]
    store = Store(make_settings(store_copy))
    generation = store.state()["generation"]
    worker = _EmbedWorker(embedder, store.settings)
    _write_plan([_Planned(paper, "added")], store, worker)  # written, then killed: no generation bump
    worker.close()
    assert store.state()["generation"] == generation
    found = make_app(store_copy, embedder, cache_dir=tmp_path / "cache").search("zorblaxification", 3, mode="lexical")
    assert [s.id for s in found.sources] == ["2601.99901"]


def test_a_read_only_store_is_queried_and_ingest_says_read_only(store_copy, monkeypatch, capsys, quiet_env):
    """Tests run as root, where chmod stops nothing: the permission check is what is mocked here
    (the real chmod path is the subprocess test below)."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK and str(p).startswith(
        str(store_copy)) else real_access(p, mode, **kw))
    before = sorted(p.relative_to(store_copy) for p in store_copy.rglob("*"))
    for args in (["stats"], ["papers"], ["search", "KV cache", "--mode", "lexical"], ["ask", "What does KVSqueeze do?"]):
        code, out, err = run_cli(capsys, "--store", store_copy, *args)
        assert code == 0 and out and "Traceback" not in err, (args, err)
    code, out, err = run_cli(capsys, "--store", store_copy, "ingest", FIXTURES / "2026-01-21.md", "-q")
    assert code == 2 and "read-only" in err and "corrupt" not in err and len(err.strip().splitlines()) == 1
    assert sorted(p.relative_to(store_copy) for p in store_copy.rglob("*")) == before  # no lock, no cache


def test_a_full_disk_during_ingest_is_one_line_and_the_store_stays_usable(store_copy, monkeypatch, capsys, quiet_env):
    from chromadb.errors import InternalError

    def full(self, batch, sentences=None):
        raise InternalError("error returned from database: (code: 13) database or disk is full")

    papers_before = len(Store(make_settings(store_copy)).paper_states())
    monkeypatch.setattr(Store, "write_papers", full)
    code, out, err = run_cli(capsys, "--store", store_copy, "ingest", FIXTURES / "old_style_id.md", "-q")
    assert code == 2 and err.startswith("digestqa: error: no space left on device") and "Traceback" not in err
    monkeypatch.undo()
    monkeypatch.setenv("DIGESTQA_CACHE_DIR", str(store_copy.parent / "user-cache"))
    code, out, err = run_cli(capsys, "--store", store_copy, "stats", "--json")
    assert code == 0 and f'"papers": {papers_before}' in out
    store = Store(make_settings(store_copy))
    assert store.orphan_chunk_ids() == [] and len(store.paper_states()) == papers_before


def test_an_enospc_oserror_and_a_permission_error_are_named():
    from assistant.ingest.store import store_fault

    assert "no space left" in str(store_fault(OSError(errno.ENOSPC, "No space left on device"), "s"))
    assert "read-only" in str(store_fault(PermissionError(errno.EACCES, "Permission denied"), "s"))
    assert "read-only" in str(store_fault(OSError(errno.EROFS, "Read-only file system"), "s"))
    assert store_fault(ValueError("something else"), "s") is None


def _without_write_permission() -> list[str] | None:
    """A command prefix under which file permissions bind: as root, drop the capabilities that
    override them (setpriv); as anyone else, nothing is needed."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        return None
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]


def test_a_chmod_read_only_store_for_real(store_copy, tmp_path):
    prefix = _without_write_permission()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions cannot be made to bind")
    subprocess.run(["chmod", "-R", "a-w", str(store_copy)], check=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    env["DIGESTQA_CACHE_DIR"] = str(tmp_path / "user-cache")

    def run(*args):
        return subprocess.run(prefix + [sys.executable, "-m", "assistant", "--store", str(store_copy), *map(str, args)],
                              capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)

    try:
        probe = subprocess.run(prefix + ["touch", str(store_copy / "probe")], capture_output=True)
        if probe.returncode == 0:
            pytest.skip("the store stayed writable (the file system ignores permissions)")
        stats = run("stats", "--json")
        assert stats.returncode == 0 and '"papers"' in stats.stdout, stats.stderr
        search = run("search", "cardinality estimation", "--mode", "lexical", "--json")
        assert search.returncode == 0 and "2601.9000" in search.stdout, search.stderr
        ingest = run("ingest", FIXTURES / "2026-01-21.md", "-q")
        assert ingest.returncode == 2 and "read-only" in ingest.stderr and "Traceback" not in ingest.stderr
        assert "corrupt" not in stats.stderr + search.stderr + ingest.stderr
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(store_copy)], check=True)


def test_a_real_full_disk(store_copy, tmp_path):
    """A small tmpfs holding the store: the next ingest fills it (needs root and mount; skipped
    elsewhere, the mocked test above covers the logic)."""
    mount = tmp_path / "small"
    mount.mkdir()
    size_kb = sum(p.stat().st_size for p in store_copy.rglob("*") if p.is_file()) // 1024 + 200
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        shutil.copytree(store_copy, mount / "store", ignore=shutil.ignore_patterns(".cache"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
        env["DIGESTQA_CACHE_DIR"] = str(tmp_path / "user-cache")
        def run(*a):
            return subprocess.run([sys.executable, "-m", "assistant", "--store", str(mount / "store"), *map(str, a)],
                                  capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
        big = tmp_path / "big.md"
        text = (FIXTURES / "2026-01-20.md").read_text()
        big.write_text("\n".join(text.replace("2601.900", f"2601.9{n:02d}") for n in range(10, 40)))
        ingest = run("ingest", big, "-q")
        assert ingest.returncode == 2 and "no space left on device" in ingest.stderr, ingest.stderr
        assert "Traceback" not in ingest.stderr and len(ingest.stderr.strip().splitlines()) == 1
        # The disk stays full: reading still works (from a private copy made where there is room).
        stats = run("stats", "--json")
        assert stats.returncode == 0 and '"papers"' in stats.stdout, stats.stderr
        search = run("search", "cardinality estimation", "--json")
        assert search.returncode == 0 and "2601.9000" in search.stdout, search.stderr
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_ingest_into_a_read_only_store_raises_store_error(store_copy, embedder, monkeypatch):
    monkeypatch.setattr("assistant.ingest.pipeline.is_read_only", lambda path: True)
    with pytest.raises(StoreError, match="read-only"):
        make_app(store_copy, embedder).ingest([FIXTURES / "2026-01-21.md"])


# -- one rule for the same paper twice (item 2) ------------------------------------------------
ENTRY = (FIXTURES / "2026-01-20.md").read_text()
ENTRY = ENTRY[ENTRY.index("### [1]"):ENTRY.index("### [2]")]


def _digest(folder: Path, name: str, version: str = "", title: str | None = None, abstract_note: str = "") -> Path:
    text = ENTRY.replace("abs/2601.90001", f"abs/2601.90001{version}")
    if title:
        text = text.replace("KVSqueeze: Per-Head Low-Rank Compression", title, 1)
    if abstract_note:
        text = text.replace("No retraining is required.", abstract_note)
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("# Digest\n\n" + text)
    return path


def test_within_one_run_the_higher_version_then_the_later_date_wins(tmp_path):
    from assistant.ingest.pipeline import collect_papers

    newer = _digest(tmp_path / "d", "2026-01-21.md", abstract_note="Newer digest.")
    older = _digest(tmp_path / "d", "2026-01-20.md", abstract_note="Older digest.")
    conflicts: list[dict] = []
    papers, _, _ = collect_papers([older, newer], conflicts=conflicts)
    assert "Newer digest." in papers[0].abstract and sorted(papers[0].dates) == ["2026-01-20", "2026-01-21"]
    assert conflicts[0]["kept"]["file"] == str(newer) and conflicts[0]["dropped"]["file"] == str(older)
    assert conflicts[0]["changed"] == ["abstract"] and conflicts[0]["kept"]["line"] == 3
    versioned = _digest(tmp_path / "d", "2026-01-19.md", "v3", abstract_note="Version three.")
    conflicts = []
    papers, _, _ = collect_papers([older, newer, versioned], conflicts=conflicts)
    assert "Version three." in papers[0].abstract and papers[0].version == 3
    assert conflicts[-1]["kept"]["version"] == 3


def test_across_runs_an_older_digest_does_not_replace_and_a_higher_version_does(fresh_app, tmp_path, capsys,
                                                                              monkeypatch, quiet_env):
    newer = _digest(tmp_path / "a", "2026-01-21.md", "v2", abstract_note="Newer digest.")
    fresh_app.ingest([newer])
    older = _digest(tmp_path / "b", "2026-01-20.md", "v2", title="Hijacked title", abstract_note="Older digest.")
    report = fresh_app.ingest([older])
    paper = fresh_app.store.papers()["2601.90001"]
    assert "Newer digest." in paper.abstract and paper.title.startswith("KVSqueeze")
    assert "2026-01-20" in paper.dates  # it did appear there
    assert report.changed == 0 and report.replaced[0]["kept"]["file"] == str(newer)
    assert report.replaced[0]["dropped"] == {"file": str(older), "line": 3, "digest": "2026-01-20",
                                             "date": "2026-01-20", "version": 2}
    assert any("outranks" in s["reason"] and s["file"] == str(older) for s in report.skipped)
    assert report.unchanged == 0  # reported once, as skipped, not also as unchanged
    # A higher version replaces the stored text even from an older digest, and says so in --json.
    hijack = _digest(tmp_path / "c", "2026-01-19.md", "v12", title="Hijacked title")
    code = cli.main(["--store", str(fresh_app.settings.store), "ingest", str(hijack), "--json", "-q"])
    out = capsys.readouterr().out
    import json

    row = json.loads(out)["replaced"][0]
    assert code == 0 and row["id"] == "2601.90001" and "title" in row["changed"]
    assert row["kept"]["file"] == str(hijack) and row["kept"]["version"] == 12
    assert row["dropped"]["file"] == str(newer) and row["dropped"]["line"] == 3
    code = cli.main(["--store", str(fresh_app.settings.store), "ingest", str(older), "-q"])
    out = capsys.readouterr().out
    assert code == 0 and "replaced 2601.90001: kept " in out and f"dropped {older}:3" in out


def test_old_paper_records_stay_readable():
    from assistant.types import Paper

    old = '{"id": "2601.1", "title": "T", "authors": [], "category": "cs.DB", "digests": ["d"], "dates": []}'
    paper = Paper.from_json(old)
    assert paper.version is None and paper.origin is None and paper.title == "T"


# -- terminal safety (item 6) -----------------------------------------------------------------
def test_escape_sequences_and_invisible_characters_are_stripped_on_parse():
    text = ENTRY.replace("KVSqueeze: Per-Head", "KV\x1b[2J\x1b]0;pwned\x07Squeeze\u202e: Per-Head", 1)
    text = text.replace("No retraining is required.", "No retraining\x00 is\u200b required.\x9b31m")
    bad_title = ENTRY.replace("KVSqueeze: Per-Head Low-Rank Compression of the KV Cache for Long-Context LLM Inference",
                              "\u200b\u200c\u2060\ufeff").replace("2601.90001", "2601.90002")
    parsed = parse_digest_text(text + "\n" + bad_title, "x.md", Digest("x"))
    assert [p.id for p in parsed.papers] == ["2601.90001"]
    paper = parsed.papers[0]
    assert paper.title.startswith("KVSqueeze: Per-Head") and paper.abstract.endswith("No retraining is required.")
    shown = paper.to_json()
    assert not any(c in shown for c in "\x1b\x07\x00\u202e\u200b\x9b")
    problem = next(p for p in parsed.problems if p.paper_id == "2601.90002")
    assert problem.skipped and "empty title" in problem.reason


def test_old_records_with_escape_sequences_are_cleaned_when_read():
    from assistant.types import Paper

    record = ('{"id": "2601.1", "title": "A\\u001b[31mB", "authors": ["X\\u200bY"], "category": "cs.DB", '
              '"abstract": "one\\u0007 two"}')
    paper = Paper.from_json(record)
    assert (paper.title, paper.authors, paper.abstract) == ("AB", ["XY"], "one two")


# -- exit codes (item 7) ----------------------------------------------------------------------
def test_an_unknown_category_is_exit_2_with_the_known_ones(fixture_app, capsys, quiet_env):
    store = fixture_app.settings.store
    for command in (["papers"], ["search", "cache"], ["ask", "which papers compress the KV cache?"]):
        code, out, err = run_cli(capsys, "--store", store, *command, "--category", "cs.XX")
        assert code == 2 and "unknown category 'cs.XX'" in err and "cs.LG (" in err, (command, err)
    code, out, err = run_cli(capsys, "--store", store, "papers", "--category", "CS.lg")
    assert code == 0 and "paper(s)" in out
    code, out, err = run_cli(capsys, "--store", store, "papers", "--author", "Nobody Atall")
    assert code == 0 and "0 paper(s)" in out and "no stored paper has an author matching 'Nobody Atall'" in err


# -- smaller (item 8) -------------------------------------------------------------------------
def test_a_utf16_digest_is_decoded(tmp_path):
    from assistant.ingest.parser import parse_digest_file

    for encoding in ("utf-16", "utf-16-be", "utf-32"):
        path = tmp_path / f"{encoding}.md"
        bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
        path.write_bytes(bom + ("# Digest\n\n" + ENTRY).encode(encoding))
        parsed = parse_digest_file(path)
        assert [p.id for p in parsed.papers] == ["2601.90001"] and not parsed.problems, encoding


def test_an_eval_dataset_with_a_utf8_bom_is_read(tmp_path):
    from assistant.evaluation.dataset import load_dataset

    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"qid": "q1", "question": "Which papers compress the KV cache?", '
                     b'"kind": "fact", "gold_ids": ["2601.90001"]}\n')
    questions = load_dataset(path)
    assert [q.qid for q in questions] == ["q1"]


def test_removing_a_fake_citation_leaves_tidy_markdown():
    from assistant.answer.citations import neutralize_citations, verify_citations
    from assistant.types import Paper, Source

    class NoWeights:
        def coverage(self, terms, available):
            return 1.0

    source = Source(Paper("2601.90001", "Forecasting", [], "cs.LG", abstract="Forecasting"), 1.0)
    text = "See *Forecasting [2601.99999]* and Forecasting [2601.90001; 2601.99998]."
    verified = verify_citations(text, [source], NoWeights())
    assert "*Forecasting*" in verified.text and "Forecasting [2601.90001]." in verified.text
    assert verified.removed_ids == ["2601.99999", "2601.99998"]
    assert neutralize_citations("Forecasting [2601.99999] markets") == "Forecasting (2601.99999) markets"


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_ui_server_dies_when_digestqa_ui_is_killed_with_sigkill(tmp_path):
    import signal
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    parent = subprocess.Popen([sys.executable, "-m", "assistant", "--store", str(tmp_path / "store"), "ui",
                               "--no-browser", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child = None
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not _children(parent.pid):
            time.sleep(0.2)
        (child,) = _children(parent.pid)
        time.sleep(2)  # let the server get going
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 20
        while time.time() < deadline and Path(f"/proc/{child}").exists() and \
                "zombie" not in Path(f"/proc/{child}/status").read_text().lower():
            time.sleep(0.2)
        alive = Path(f"/proc/{child}").exists() and "zombie" not in Path(f"/proc/{child}/status").read_text().lower()
        assert not alive, "the Streamlit server outlived `digestqa ui`"
    finally:
        for pid in [parent.pid, child] if child else [parent.pid, *_children(parent.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


# -- absurd entries are capped at ingest (item 5, the ingest half) ------------------------------
def test_an_absurd_abstract_is_cut_and_reported_as_partial():
    from assistant.ingest.parser import MAX_FIELD_CHARS, MAX_TITLE_CHARS

    huge = "This sentence repeats to make a one-megabyte abstract. " * 19_000
    text = ENTRY.replace("No retraining is required.", huge).replace("KVSqueeze:", "KVSqueeze " + "very " * 400 + ":", 1)
    parsed = parse_digest_text(text, "x.md", Digest("x"))
    paper = parsed.papers[0]
    assert MAX_FIELD_CHARS * 0.8 <= len(paper.abstract) <= MAX_FIELD_CHARS and paper.abstract.endswith(".")
    assert len(paper.title) <= MAX_TITLE_CHARS + 1
    reasons = [p.reason for p in parsed.problems if not p.skipped]
    assert any(r.startswith("abstract is 1,") and "kept its first" in r for r in reasons)
    assert any(r.startswith("title is 2,") for r in reasons)
