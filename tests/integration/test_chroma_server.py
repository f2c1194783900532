"""The distributed path: a real `chroma run` server on loopback, compared with the embedded store."""
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import StoreError
from tests.factories import FIXTURES, make_app

QUESTIONS = ["Which papers compress or evict the KV cache of LLMs?", "How fast is LearnedJoin?",
             "哪篇论文用等变图注意力网络预测分子性质？", "What did Chen Ding publish here?"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(chroma).exists():
        pytest.skip("the chroma CLI is not installed")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    process = subprocess.Popen([chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import chromadb

    deadline = time.time() + 90
    while True:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            break
        except Exception:
            if time.time() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("chroma server did not start")
            time.sleep(0.5)
    yield port
    process.terminate()
    process.wait(timeout=30)


def test_server_store_answers_like_the_embedded_store(chroma_server, fixture_app, tmp_path, embedder):
    server_app = make_app(tmp_path / "unused", embedder, chroma_host="127.0.0.1", chroma_port=chroma_server,
                          cache_dir=tmp_path / "cache")
    report = server_app.ingest([FIXTURES / "2026-01-20.md", FIXTURES / "2026-01-21.md", FIXTURES / "latex_unicode.md",
                                FIXTURES / "injection.md"])
    assert report.papers_total == fixture_app.stats()["papers"]
    assert server_app.ingest([FIXTURES / "2026-01-20.md"]).added == 0  # idempotent on the server too
    stats = server_app.stats()
    assert stats["chunks"] == fixture_app.stats()["chunks"] and stats["store_bytes"] is None
    for question in QUESTIONS:
        embedded, served = fixture_app.ask(question), server_app.ask(question)
        assert [s.id for s in served.sources] == [s.id for s in embedded.sources], question
        assert served.cited_ids == embedded.cited_ids and served.text == embedded.text, question


def test_a_server_that_is_down_is_a_clear_error(tmp_path, embedder):
    app = make_app(tmp_path / "unused", embedder, chroma_host="127.0.0.1", chroma_port=_free_port())
    with pytest.raises(StoreError, match="cannot reach the Chroma server"):
        app.stats()


def test_cli_reports_a_down_server_in_one_line(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_")}
    env.update(DIGESTQA_CHROMA_HOST="127.0.0.1", DIGESTQA_CHROMA_PORT=str(_free_port()))
    result = subprocess.run([sys.executable, "-m", "assistant", "stats"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2 and "cannot reach the Chroma server" in result.stderr
    assert "Traceback" not in result.stderr
