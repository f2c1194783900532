"""`digestqa mcp`: the real server in a subprocess, driven by the MCP SDK's own client over stdio and
over streamable HTTP on loopback (one server per transport for the module), on a store ingested from
the fixture digests. Every id a tool returns is checked against that store."""
from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from assistant.app import App
from assistant.cli.commands import main
from assistant.errors import InputError
from assistant.ingest.store import Store
from assistant.mcp.server import build_server
from assistant.mcp.tools import new_papers_since, parse_date, parse_paper_id
from assistant.search.retrieval import Filters
from assistant.types import Paper
from tests.factories import FIXTURES, make_app, make_settings

REPO = Path(__file__).resolve().parents[2]
TOOLS = {"search_papers", "get_paper", "ask", "list_papers", "brief", "new_papers"}
CALL_TIMEOUT_S = 120  # a first call loads the model; nothing here should take longer


class SyncSession:
    """One MCP ClientSession held open in a background event loop, so the module's tests share a
    server. `connect` returns the SDK transport (an async context manager of read/write streams)."""

    def __init__(self, connect):
        self.stream_errors: list[Exception] = []  # non-protocol lines the transport could not parse
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._stop: asyncio.Event | None = None
        self._holder = None
        self.session: ClientSession = self._run(self._open(connect), CALL_TIMEOUT_S)

    def _run(self, coro, timeout: float):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _record(self, message) -> None:
        if isinstance(message, Exception):
            self.stream_errors.append(message)

    async def _open(self, connect) -> ClientSession:
        ready = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()

        async def hold():  # the transport's scopes are entered and left in this one task
            try:
                async with connect() as (read, write):
                    async with ClientSession(read, write, read_timeout_seconds=CALL_TIMEOUT_S,
                                             message_handler=self._record) as session:
                        await session.initialize()
                        ready.set_result(session)
                        await self._stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        self._holder = asyncio.ensure_future(hold())
        return await ready

    def call(self, name: str, arguments: dict):
        return self._run(self.session.call_tool(name, arguments), CALL_TIMEOUT_S)

    def data(self, name: str, arguments: dict) -> dict:
        result = self.call(name, arguments)
        assert not result.is_error, result.content[0].text
        parsed = json.loads(result.content[0].text)
        assert parsed == result.structured_content  # the model and a program read the same object
        return parsed

    def error(self, name: str, arguments: dict) -> str:
        result = self.call(name, arguments)
        assert result.is_error, f"{name}({arguments}) should be a tool error, got {result.content[0].text[:200]}"
        return result.content[0].text

    def tools(self) -> dict:
        return {t.name: t for t in self._run(self.session.list_tools(), CALL_TIMEOUT_S).tools}

    def read(self, uri: str):
        return self._run(self.session.read_resource(uri), CALL_TIMEOUT_S)

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._holder is not None:
            try:
                asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(self._holder), 30), self._loop).result(35)
            except Exception:
                pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def server_env() -> dict[str, str]:
    # The subprocess imports this checkout's code (not an installed copy) and sees no user config.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTQA_") and k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def store_app(tmp_path_factory, embedder) -> App:
    app = make_app(tmp_path_factory.mktemp("mcp-store"), embedder)
    app.ingest([FIXTURES / "2026-01-20.md", FIXTURES / "2026-01-21.md"])
    return app


@pytest.fixture(scope="module")
def stored(store_app) -> dict[str, Paper]:
    return store_app.store.papers()


@pytest.fixture(scope="module")
def stdio(store_app, tmp_path_factory):
    errlog_path = tmp_path_factory.mktemp("mcp-stdio") / "stderr.txt"
    params = StdioServerParameters(command=sys.executable, cwd=str(REPO), env=server_env(),
                                   args=["-m", "assistant", "--store", str(store_app.settings.store), "mcp"])
    with open(errlog_path, "w") as errlog:
        client = SyncSession(lambda: stdio_client(params, errlog=errlog))
        client.errlog_path = errlog_path
        try:
            yield client
        finally:
            client.close()  # leaving stdio_client closes the server's stdin and kills it if it lingers


@contextmanager
def http_server(store: Path, port: int, *extra: str):
    log = open(store.parent / f"mcp-http-{port}.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "assistant", "--store", str(store), "mcp", "--http",
                               "--port", str(port), *extra], cwd=REPO, env=server_env(),
                              stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, Path(log.name).read_text()[-2000:]
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the HTTP server did not start within 60 s"
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        log.close()


@pytest.fixture(scope="module")
def http(store_app):
    port = free_port()
    with http_server(Path(store_app.settings.store), port, "--allow-ingest", "--ingest-root", str(FIXTURES)):
        client = SyncSession(lambda: streamable_http_client(f"http://127.0.0.1:{port}/mcp"))
        client.port = port
        try:
            yield client
        finally:
            client.close()


def cited_in_text(text: str) -> set[str]:
    return set(re.findall(r"\[(\d{4}\.\d{4,5})\]", text))


# -- over stdio ---------------------------------------------------------------------------------
def test_tools_have_schemas_and_descriptions_and_no_ingest_by_default(stdio):
    tools = stdio.tools()
    assert set(tools) == TOOLS  # read-only: no ingest tool without --allow-ingest
    for tool in tools.values():
        assert len(tool.description) > 60 and tool.input_schema["type"] == "object"
        assert tool.annotations.read_only_hint is True
    k = tools["search_papers"].input_schema["properties"]["k"]
    assert (k["minimum"], k["maximum"], k["default"]) == (1, 50, 5)
    assert tools["search_papers"].input_schema["required"] == ["query"]
    assert "ingest" in stdio.error("ingest", {"paths": [str(FIXTURES)]})


def test_search_papers_ranks_stored_papers_with_filters(stdio, stored):
    found = stdio.data("search_papers", {"query": "KV cache compression for long-context inference", "k": 3})
    assert 1 <= len(found["papers"]) <= 3 and all(p["id"] in stored for p in found["papers"])
    assert found["papers"][0]["id"] in {"2601.90001", "2601.90002", "2601.90008"}
    assert all(p["passage"] and p["title"] == " ".join(stored[p["id"]].title.split()) for p in found["papers"])
    scores = [p["score"] for p in found["papers"]]
    assert scores == sorted(scores, reverse=True)

    db = stdio.data("search_papers", {"query": "index", "k": 50, "category": "CS.DB"})
    assert {p["id"] for p in db["papers"]} <= {pid for pid, p in stored.items() if p.category == "cs.DB"}
    later = stdio.data("search_papers", {"query": "learning", "k": 50, "since": "2026-01-21"})
    assert later["papers"] and all(max(p["dates"]) >= "2026-01-21" for p in later["papers"])


def test_get_paper_returns_every_field_with_the_chinese_summary(stdio, stored):
    paper = stdio.data("get_paper", {"id": "arXiv:2601.90001v3"})
    expected = stored["2601.90001"]
    assert paper["id"] == "2601.90001" and paper["url"] == "https://arxiv.org/abs/2601.90001"
    for field in ("title", "authors", "category", "tldr", "motivation", "method", "result", "conclusion",
                  "abstract", "dates"):
        assert paper[field] == getattr(expected, field)
    assert re.search(r"[\u4e00-\u9fff]", paper["tldr"])


def test_ask_returns_the_verified_answer_citing_stored_papers(stdio, stored):
    answer = stdio.data("ask", {"question": "Which papers compress or quantize the KV cache?"})
    assert not answer["refused"] and answer["cited_ids"]
    assert set(answer["cited_ids"]) <= set(stored)
    assert cited_in_text(answer["answer"]) == set(answer["cited_ids"])
    assert set(answer["cited_ids"]) <= {s["id"] for s in answer["sources"]} <= set(stored)
    assert "2601.90001" in answer["cited_ids"]
    assert set(answer) == {"answer", "cited_ids", "sources", "refused", "notices", "unsupported_claims"}

    off_topic = stdio.data("ask", {"question": "What is the best sourdough bread recipe?"})
    assert off_topic["refused"] and off_topic["cited_ids"] == []

    filtered = stdio.data("ask", {"question": "Which papers are about databases?", "category": "cs.DB"})
    assert all(stored[pid].category == "cs.DB" for pid in filtered["cited_ids"])


def test_list_papers_is_the_complete_set(stdio, stored, store_app):
    listed = stdio.data("list_papers", {"category": "cs.LG"})
    expected = [p.id for p in store_app.papers(Filters(categories=("cs.LG",)))]
    assert [p["id"] for p in listed["papers"]] == expected and listed["count"] == 4
    assert all(p["line"] and p["category"] == "cs.LG" for p in listed["papers"])

    by_date = stdio.data("list_papers", {"since": "2026-01-21", "until": "2026-01-21"})
    assert {p["id"] for p in by_date["papers"]} == {pid for pid, p in stored.items() if "2026-01-21" in p.dates}

    topic = stdio.data("list_papers", {"topic": "KV cache"})
    ids = [p["id"] for p in topic["papers"]]
    assert topic["count"] == len(ids) and set(ids) <= set(stored)
    assert {"2601.90001", "2601.90002", "2601.90008"} <= set(ids)  # every KV-cache paper, not the top one


def test_brief_and_new_papers(stdio, stored):
    brief = stdio.data("brief", {"category": "cs.lg", "since": "2026-01-20"})
    assert brief["category"] == "cs.LG"
    assert set(brief["papers"]) == {pid for pid, p in stored.items() if p.category == "cs.LG"}
    assert all(f"[{pid}]" in brief["markdown"] or pid in brief["markdown"] for pid in brief["papers"])

    latest = stdio.data("new_papers", {})  # the store's one ingest added every paper
    assert {p["id"] for p in latest["papers"]} == set(stored) and latest["count"] == len(stored)
    assert latest["selection"].startswith("the last ingest")
    assert sum(latest["per_category"].values()) == latest["count"]
    assert stdio.data("new_papers", {"since": "2026-01-20"})["count"] == len(stored)
    assert stdio.data("new_papers", {"since": "2026-02-01"})["count"] == 0


@pytest.mark.parametrize("name, arguments, message", [
    ("search_papers", {"query": "cache", "category": "cs.XX"}, "unknown category 'cs.XX'; stored categories"),
    ("search_papers", {"query": "cache", "k": 0}, "k must be a whole number from 1 to 50, got 0"),
    ("search_papers", {"query": "cache", "k": 51}, "k must be a whole number from 1 to 50, got 51"),
    ("search_papers", {"query": "   "}, "query is empty"),
    ("search_papers", {"query": "cache", "since": "2026-01-32"}, "since must be a date as YYYY-MM-DD"),
    ("search_papers", {"query": "cache", "author": "Nobody Atall"}, "no stored paper has an author"),
    ("get_paper", {"id": "not-an-id"}, "is not an arXiv id"),
    ("get_paper", {"id": "2601.99999"}, "no paper 2601.99999 in the store"),
    ("get_paper", {}, "id is required"),
    ("ask", {"question": ""}, "question is empty"),
    ("list_papers", {}, "give a topic or at least one filter"),
    ("list_papers", {"since": "2026-01-22", "until": "2026-01-20"}, "is after until"),
    ("brief", {"category": "cs.XX"}, "no papers in category 'cs.XX'"),
    ("new_papers", {"since": "yesterday"}, "since must be a date"),
])
def test_bad_arguments_are_tool_errors_and_the_server_carries_on(stdio, name, arguments, message):
    assert message in stdio.error(name, arguments)
    assert stdio.data("get_paper", {"id": "2601.90005"})["id"] == "2601.90005"


def test_paper_resource_and_clean_stdout(stdio, stored):
    templates = stdio._run(stdio.session.list_resource_templates(), CALL_TIMEOUT_S).resource_templates
    assert [t.uri_template for t in templates] == ["paper://{+id}"]
    contents = stdio.read("paper://2601.90004").contents[0]
    assert contents.mime_type == "text/markdown"
    assert stored["2601.90004"].title.split()[0] in contents.text and "https://arxiv.org/abs/2601.90004" in contents.text
    assert stored["2601.90004"].tldr in contents.text
    with pytest.raises(MCPError, match="no paper 2601.99999"):
        stdio.read("paper://2601.99999")
    with pytest.raises(MCPError, match="no paper hep-th/9901001"):  # old-style ids (with a slash) reach the lookup
        stdio.read("paper://hep-th/9901001")
    assert stdio.stream_errors == []  # every line the server wrote to stdout was protocol
    assert "digestqa MCP server on stdio" in stdio.errlog_path.read_text()


# -- over streamable HTTP on 127.0.0.1 ---------------------------------------------------------
def test_http_serves_the_same_tools_plus_ingest_when_allowed(http, stored):
    tools = http.tools()
    assert set(tools) == TOOLS | {"ingest"} and tools["ingest"].annotations.read_only_hint is False
    answer = http.data("ask", {"question": "How is DOA estimated with one-bit samples?"})
    assert answer["cited_ids"] and set(answer["cited_ids"]) <= set(stored)
    assert "2601.90009" in answer["cited_ids"]
    found = http.data("search_papers", {"query": "2601.90007"})
    assert found["papers"][0]["id"] == "2601.90007"
    assert "unknown category" in http.error("list_papers", {"category": "astro-ph"})
    assert http.data("list_papers", {"category": "eess.SP"})["count"] == 1
    assert "https://arxiv.org/abs/2601.90009" in http.read("paper://2601.90009").contents[0].text


def test_http_ingest_reports_and_survives_bad_paths(http, stored):
    report = http.data("ingest", {"paths": [str(FIXTURES / "2026-01-21.md")]})
    assert (report["added"], report["changed"], report["unchanged"]) == (0, 0, 4)
    assert report["papers_total"] == len(stored)
    assert "/no/such/digests" in http.error("ingest", {"paths": ["/no/such/digests"]})
    assert http.data("new_papers", {})["count"] == len(stored)  # an ingest that added nothing is not "new"


def test_http_refuses_a_foreign_host_header(http):
    # DNS rebinding: a web page must not reach the loopback server through a name it controls.
    request = urllib.request.Request(f"http://127.0.0.1:{http.port}/mcp", method="POST", data=b"{}",
                                     headers={"Host": f"evil.example:{http.port}", "Content-Type": "application/json",
                                              "Accept": "application/json, text/event-stream"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 421
    assert http.data("get_paper", {"id": "2601.90001"})["id"] == "2601.90001"


# -- without a server -----------------------------------------------------------------------------
def call_in_process(app: App, name: str, arguments: dict):
    async def call():
        async with Client(build_server(lambda: app)) as client:
            return await client.call_tool(name, arguments)

    return asyncio.run(call())


def test_a_missing_or_empty_store_is_a_clear_tool_error(tmp_path):
    result = call_in_process(App(make_settings(tmp_path / "none")), "search_papers", {"query": "cache"})
    assert result.is_error and "no store at" in result.content[0].text and "digestqa ingest" in result.content[0].text

    empty = App(make_settings(tmp_path / "empty"))
    _ = Store(empty.settings, create=True).papers_collection  # a store that exists and holds nothing
    for name, arguments in (("new_papers", {}), ("list_papers", {"category": "cs.LG"}), ("get_paper", {"id": "2601.16032"})):
        result = call_in_process(empty, name, arguments)
        assert result.is_error and "holds no papers" in result.content[0].text, (name, result.content[0].text)


def test_argument_parsers():
    assert parse_paper_id(" arXiv:2601.16032v2 ") == "2601.16032"
    assert parse_paper_id("hep-th/9901001") == "hep-th/9901001"
    assert parse_date("2026-01-05", "since") == "2026-01-05" and parse_date("", "since") is None
    for bad in ("2601", "2601.160", "../etc/passwd", ""):
        with pytest.raises(InputError):
            parse_paper_id(bad)
    with pytest.raises(InputError, match="until must be a date"):
        parse_date("2026-02-30", "until")


def test_new_papers_of_undated_digests_are_the_last_digest_by_name():
    def paper(pid, digests, dates=()):
        return Paper(id=pid, title="t", authors=[], category="cs.LG", digests=list(digests), dates=list(dates))

    undated = {p.id: p for p in (paper("1", ["003_a"]), paper("2", ["004_b"]), paper("3", ["003_a", "004_b"]))}
    papers, label = new_papers_since(undated, None)
    assert sorted(p.id for p in papers) == ["2", "3"] and "004_b" in label
    dated = {p.id: p for p in (paper("1", ["x"], ["2026-01-20"]), paper("2", ["y"], ["2026-01-22"]))}
    assert [p.id for p in new_papers_since(dated, "2026-01-21")[0]] == ["2"]
    assert [p.id for p in new_papers_since(dated, None)[0]] == ["2"]


def test_host_flag_warns_and_a_taken_port_is_a_one_line_error(tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--store", str(tmp_path / "s"), "mcp", "--http", "--host", "0.0.0.0", "--port", str(port)])
    err = capsys.readouterr().err
    assert code == 2 and "warning: listening on 0.0.0.0" in err and "no login" in err
    assert f"cannot listen on 0.0.0.0:{port}" in err and "digestqa mcp" in err
    assert main(["--store", str(tmp_path / "s"), "mcp", "--host", "0.0.0.0"]) == 2
    assert "--host applies to --http only" in capsys.readouterr().err
