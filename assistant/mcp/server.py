"""The MCP server: digestqa's tools and `paper://` resources for any MCP client's model.

Built on the official MCP Python SDK (`mcp.server.mcpserver.MCPServer`): tool schemas come from
the typed parameters below, the SDK speaks the protocol over stdio or streamable HTTP. The work
is in `mcp_tools.PaperTools`; this module only names, describes and wires it. Retrieval, citation
checks and completeness stay on our side: the client's model gets ids it can cite and verify.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from assistant.app import App
from assistant.errors import DigestQAError, InputError
from assistant.mcp.stdio import checked_stdio_server
from assistant.mcp.tools import MAX_K, PaperTools, shown_value

INSTRUCTIONS = """digestqa holds arXiv papers from daily digests (title, authors, category, abstract and a \
Chinese summary per paper). Cite papers by their arXiv id in square brackets, e.g. [2601.16032]. \
Use `ask` for a question that needs an answer with checked citations, `search_papers` to find \
papers on a topic, `list_papers` for the complete set of papers on a topic or in a category, \
`get_paper` (or the paper://ID resource) to read one paper, `brief` for a category briefing and \
`new_papers` for what the last ingest added. Dates are digest days as YYYY-MM-DD."""

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

Category = Annotated[str | None, Field(description="arXiv main category, e.g. cs.LG or eess.SP (case-insensitive)")]
Since = Annotated[str | None, Field(description="only papers from digests on or after this day, YYYY-MM-DD")]
Until = Annotated[str | None, Field(description="only papers from digests on or before this day, YYYY-MM-DD")]
Author = Annotated[str | None, Field(description="only papers with this author: a surname or 'First Last'")]


def _result(data: dict | str) -> CallToolResult:
    """Compact JSON text for the model, the same object as structured content for programs."""
    if isinstance(data, str):
        return CallToolResult(content=[TextContent(type="text", text=data)])
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _call(work: Callable[[], dict | str]) -> CallToolResult:
    try:
        return _result(work())
    except DigestQAError as exc:  # the user's (or model's) mistake: a readable tool error, not a crash
        raise ToolError(str(exc)) from None


INGEST_DESCRIPTION = """Parse digest files and store their papers (re-running changes nothing). Reads only \
regular files under these folders, which the server's user allowed: {folders}. Returns counts of added, \
changed and unchanged papers and the entries that were skipped, with reasons."""


class DigestServer(MCPServer):
    """The SDK's server with two changes at the protocol's edge: arguments that fail the tools'
    schemas are answered in our words (pydantic's own message names its documentation URL and
    echoes the whole value), and stdio checks every line first (assistant/mcp/stdio.py)."""

    async def call_tool(self, name, arguments, context=None):
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(argument_problem(exc.__cause__, self._tool_schema(name))) from None
            raise

    def _tool_schema(self, name: str) -> dict:
        return (self._tool_input_schema(name) or {}).get("properties", {})

    async def run_stdio_async(self) -> None:
        async with checked_stdio_server() as (read_stream, write_stream):
            await self._lowlevel_server.run(read_stream, write_stream, self._lowlevel_server.create_initialization_options())


def argument_problem(error: ValidationError, properties: dict) -> str:
    """The first argument problem as one line: which argument, what it must be, what it got (cut)."""
    first = error.errors(include_url=False)[0]
    name = ".".join(str(part) for part in first["loc"]) or "arguments"
    schema = properties.get(str(first["loc"][0]), {}) if first["loc"] else {}
    low, high = schema.get("minimum"), schema.get("maximum")
    kind = first["type"]
    if kind == "missing":
        return f"{name} is required"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than") or (
            kind.startswith("int") and low is not None):
        what = f"must be a whole number from {low} to {high}" if low is not None and high is not None else "is out of range"
    else:
        what = {"int_type": "must be a whole number", "int_parsing": "must be a whole number",
                "int_from_float": "must be a whole number", "string_type": "must be text", "list_type": "must be a list",
                "dict_type": "must be an object"}.get(kind, "is not valid")
    return f"{name} {what}, got {shown_value(first.get('input'))}"


def build_server(make_app: Callable[[], App], allow_ingest: bool = False,
                 ingest_roots: tuple[Path, ...] = ()) -> MCPServer:
    """`ingest_roots`: the folders the `ingest` tool may read (with `allow_ingest`); none: no tool."""
    tools = PaperTools(make_app)
    server = DigestServer("digestqa", instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool(annotations=READ_ONLY)
    def search_papers(
        query: Annotated[str, Field(description="what to look for, in English or Chinese, or an arXiv id")],
        k: Annotated[int, Field(ge=1, le=MAX_K, description=f"how many papers to return, 1 to {MAX_K}")] = 5,
        category: Category = None, since: Since = None, until: Until = None, author: Author = None,
    ) -> CallToolResult:
        """Rank stored papers for a query (hybrid dense + keyword search; no answer is written).

        Returns papers best first: id, title, category, digest dates, score (0-1) and the best
        matching passage. Use get_paper for a paper's full text, ask for a checked answer."""
        return _call(lambda: tools.search_papers(query, k, category, since, until, author))

    @server.tool(annotations=READ_ONLY)
    def get_paper(
        id: Annotated[str, Field(description="arXiv id, e.g. 2601.16032 (a version suffix like v2 is ignored)")],
    ) -> CallToolResult:
        """Every stored field of one paper: title, authors, category, abstract, the digest's Chinese
        summary sections (tldr, motivation, method, result, conclusion), digests and dates, arXiv URL."""
        return _call(lambda: tools.get_paper(id))

    @server.tool(annotations=READ_ONLY)
    def ask(
        question: Annotated[str, Field(description="the question, in English or Chinese")],
        category: Category = None, since: Since = None, until: Until = None, author: Author = None,
    ) -> CallToolResult:
        """Answer a question from the stored papers with citations checked by digestqa.

        Returns the answer text with [id] citations, cited_ids (every id the answer cites, each one
        a stored paper), sources (id, title) it drew on, refused (true when the digests do not
        cover the question: then say so rather than answering from memory), notices (removed
        citations, fallbacks) and unsupported_claims (sentences whose numbers or claims were not
        found in the cited papers). Quote the answer's citations as they are."""
        return _call(lambda: tools.ask(question, category, since, until, author))

    @server.tool(annotations=READ_ONLY)
    def list_papers(
        topic: Annotated[str | None, Field(description="a research topic, e.g. 'KV cache compression'")] = None,
        category: Category = None, since: Since = None, until: Until = None, author: Author = None,
    ) -> CallToolResult:
        """The complete set of stored papers on a topic and/or matching filters, one line each.

        With only filters (category, author, dates) every matching paper is listed. With a topic,
        digestqa decides which papers are about it and lists all of them (not just the top few).
        Each entry: id, title, category and one sentence on what the paper does."""
        return _call(lambda: tools.list_papers(topic, category, since, until, author))

    @server.tool(annotations=READ_ONLY)
    def brief(
        category: Annotated[str, Field(description="arXiv main category, e.g. cs.DB")],
        date: Annotated[str | None, Field(description="the digest of this day, YYYY-MM-DD")] = None,
        since: Since = None, until: Until = None,
    ) -> CallToolResult:
        """A briefing of one category's papers: overview, themes with one cited line per paper,
        numbers worth knowing and a table of every paper (Markdown), plus the ids it covers.
        Without date/since/until it covers the latest digest holding the category."""
        return _call(lambda: tools.brief(category, date, since, until))

    @server.tool(annotations=READ_ONLY)
    def new_papers(
        since: Annotated[str | None, Field(description="YYYY-MM-DD; leave out for what the last ingest added")] = None,
    ) -> CallToolResult:
        """What is new: the papers the last ingest added or changed (or, with `since`, papers from
        digests dated on or after that day), counted per category, with id, title, category and dates."""
        return _call(lambda: tools.new_papers(since))

    if allow_ingest:
        folders = ", ".join(str(Path(r).expanduser()) for r in ingest_roots)

        @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                                 idempotent_hint=True, open_world_hint=False),
                     description=INGEST_DESCRIPTION.format(folders=folders))
        def ingest(
            paths: Annotated[list[str], Field(description="digest files (.md/.txt) or folders, under the folders "
                                                          "this tool's description names, as paths on the server")],
        ) -> CallToolResult:
            return _call(lambda: tools.ingest(paths))

    # {+id} (reserved expansion) so that old-style ids with a slash (hep-th/9901001) match too.
    @server.resource("paper://{+id}", name="paper", mime_type="text/markdown",
                     description="One stored paper as Markdown: metadata, abstract and the Chinese summary.")
    def paper(id: str) -> str:
        try:
            return tools.paper_resource(id)
        except InputError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except DigestQAError as exc:
            raise ResourceError(str(exc)) from None

    return server


def quiet_logs() -> None:
    """Warnings and errors only, on stderr: stdout belongs to the protocol in stdio mode."""
    for name in ("mcp", "uvicorn", "uvicorn.access", "httpx", "chromadb"):
        logging.getLogger(name).setLevel(logging.WARNING)
