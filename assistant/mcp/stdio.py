"""The stdio transport with every incoming line checked first.

The SDK's stdio transport drops a line it cannot read as a JSON-RPC message (not JSON, `params`
not an object) and reads an object id as no id at all (a notification), so a client waiting for
the answer to such a line waits forever. Here each line is checked before the SDK sees it, and a
line that is not a valid message gets the JSON-RPC error reply the protocol defines: -32700 for
text that is not JSON, -32600 for a message of the wrong shape, -32602 for a request whose params
are not an object. A notification (no id) never gets a reply, as the protocol says; neither does a
line with an id that is not one, since no reply could name it, so it is answered with id null.
Nothing of the rejected line is echoed back.
"""
from __future__ import annotations

import json
import os
from contextlib import asynccontextmanager
from io import TextIOWrapper

import anyio

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602


def jsonrpc_problem(line: str) -> dict | None:
    """The error reply for a line that is not a valid JSON-RPC message, else None (also None for a
    blank line, and for a malformed notification, which gets no reply)."""
    if not line.strip():
        return None
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return _error(None, PARSE_ERROR, "Parse error: the line is not JSON")
    if not isinstance(message, dict):
        return _error(None, INVALID_REQUEST, "Invalid Request: a message is one JSON object (batches are not supported)")
    has_id = "id" in message
    ident = message.get("id")
    if has_id and (isinstance(ident, bool) or not isinstance(ident, (str, int)) or ident is None):
        return _error(None, INVALID_REQUEST, "Invalid Request: id must be a string or a number")
    if message.get("jsonrpc") != "2.0":
        return _error(ident, INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"') if has_id else None
    if "method" in message:
        if not isinstance(message["method"], str):
            return _error(ident, INVALID_REQUEST, "Invalid Request: method must be a string") if has_id else None
        if "params" in message and not isinstance(message["params"], dict):
            return _error(ident, INVALID_PARAMS, "Invalid params: params must be an object") if has_id else None
        return None
    if has_id and ("result" in message or "error" in message):
        return None  # a response to one of our requests: the SDK reads it
    return _error(ident, INVALID_REQUEST, "Invalid Request: no method") if has_id else None


def _error(ident: str | int | None, code: int, message: str) -> dict:
    return {"jsonrpc": "2.0", "id": ident, "error": {"code": code, "message": message}}


class _CheckedLines:
    """The wire's lines as the SDK reads them (`async for line in stdin`), minus the malformed ones,
    whose replies go to `replies`."""

    def __init__(self, lines, replies):
        self._lines = lines
        self._replies = replies

    def __aiter__(self):
        return self._checked()

    async def _checked(self):
        async for line in self._lines:
            problem = jsonrpc_problem(line)
            if problem is None:
                yield line
            else:
                await self._replies.send(problem)


@asynccontextmanager
async def checked_stdio_server():
    """Like the SDK's `stdio_server()`: (read_stream, write_stream) over the process's stdin and
    stdout, which are moved aside while serving (fd 0 reads the null device, fd 1 writes to stderr),
    so stray output from a library never corrupts the protocol."""
    # The SDK's transport (~1.5 s to import): the rest of this module (jsonrpc_problem) is used without it
    import mcp_types as types
    from mcp.server.stdio import stdio_server
    from mcp.shared.message import SessionMessage

    wire_in, wire_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    stdin = anyio.wrap_file(TextIOWrapper(os.fdopen(wire_in, "rb", closefd=False), encoding="utf-8", errors="replace"))
    stdout = anyio.wrap_file(TextIOWrapper(os.fdopen(wire_out, "wb", closefd=False), encoding="utf-8"))
    send_reply, replies = anyio.create_memory_object_stream(16)
    try:
        async with stdio_server(stdin=_CheckedLines(stdin, send_reply), stdout=stdout) as (read_stream, write_stream):
            async def forward() -> None:
                async with replies:
                    async for reply in replies:
                        await write_stream.send(SessionMessage(types.jsonrpc_message_adapter.validate_python(reply)))

            async with anyio.create_task_group() as group:
                group.start_soon(forward)
                try:
                    yield read_stream, write_stream
                finally:
                    group.cancel_scope.cancel()
    finally:
        os.dup2(wire_in, 0)
        os.dup2(wire_out, 1)
