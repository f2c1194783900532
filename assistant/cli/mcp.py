"""`digestqa mcp`: serve the store to any MCP client (desktop assistants, IDE agents, Open WebUI).
Registered by commands.py; the server itself is assistant/mcp/server.py (its tools: mcp/tools.py).

stdio (the default) is what desktop clients launch; nothing but protocol is written to stdout,
everything else goes to stderr. `--http` serves streamable HTTP on 127.0.0.1 unless `--host` says
otherwise. Read-only unless `--allow-ingest`.
"""
from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

from assistant.cli.common import add_command, port
from assistant.cli.launch_ui import _check_port_free
from assistant.errors import InputError

DESCRIPTION = ("Serve the store over the Model Context Protocol, so an LLM client's model "
               "can search, read and ask with digestqa's checked citations. Read-only "
               "unless --allow-ingest.")
EPILOG = """examples:
  digestqa mcp --store ~/papers/vectorstore          stdio: what a desktop client's config launches
  digestqa mcp --http --port 8765                    streamable HTTP at http://127.0.0.1:8765/mcp
  digestqa mcp --http --allow-ingest --ingest-root ~/digests
                                                     also let the client's model ingest digest files from ~/digests

tools: search_papers, get_paper, ask, list_papers, brief, new_papers (and ingest with --allow-ingest);
resources: paper://ID. See the README section "Use from your own LLM (MCP)" for client configs."""

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def add_mcp_command(sub, common) -> None:
    p = add_command(sub, common, "mcp", "serve the papers to your own LLM client (MCP)", DESCRIPTION, EPILOG)
    p.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    p.add_argument("--port", type=port, default=8765, help="HTTP port (default 8765)")
    p.add_argument("--host", default="127.0.0.1",
                   help="HTTP address (default 127.0.0.1: this machine only; anything else exposes the "
                        "store to your network with no login)")
    p.add_argument("--allow-ingest", action="store_true",
                   help="add an `ingest` tool that stores digest files from the folders given by --ingest-root")
    p.add_argument("--ingest-root", action="append", type=Path, default=[], metavar="DIR",
                   help="a folder the ingest tool may read (repeatable; default: the setting mcp_ingest_roots, "
                        "env DIGESTQA_MCP_INGEST_ROOTS)")


def run_mcp(args, app) -> int:
    if importlib.util.find_spec("mcp") is None:
        raise InputError("the MCP server needs the MCP SDK: pip install 'mcp>=2.3,<3'")
    if args.host != "127.0.0.1" and not args.http:
        raise InputError("--host applies to --http only (stdio has no address)")
    from assistant.mcp.server import build_server, quiet_logs  # the MCP SDK: ~1.5 s to import, for this command only

    roots = tuple(args.ingest_root) or app.settings.mcp_ingest_roots
    if args.ingest_root and not args.allow_ingest:
        raise InputError("--ingest-root applies to --allow-ingest only")
    if args.allow_ingest:
        if not roots:
            raise InputError("--allow-ingest needs the folders the ingest tool may read: --ingest-root DIR "
                             "(or mcp_ingest_roots in digestqa.toml, DIGESTQA_MCP_INGEST_ROOTS)")
        missing = [str(r) for r in roots if not Path(r).expanduser().is_dir()]
        if missing:
            raise InputError(f"ingest root is not a folder: {', '.join(missing)}")
        app.settings = replace(app.settings, mcp_ingest_roots=tuple(Path(r).expanduser().resolve() for r in roots))
        roots = app.settings.mcp_ingest_roots
    server = build_server(lambda: app, allow_ingest=args.allow_ingest, ingest_roots=roots)
    quiet_logs()
    access = (f"read-write (ingest allowed under {', '.join(map(str, roots))})" if args.allow_ingest else "read-only")
    if not args.http:
        print(f"digestqa MCP server on stdio (store {app.settings.store_label}; {access})", file=sys.stderr, flush=True)
        server.run("stdio")
        return 0
    if args.host not in LOOPBACK:
        print(f"digestqa: warning: listening on {args.host}: anyone who can reach this machine on port "
              f"{args.port} can query the store" + (" and ingest files" if args.allow_ingest else "")
              + " (there is no login)", file=sys.stderr, flush=True)
    _check_port_free(args.host, args.port, "digestqa mcp")
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(f"digestqa MCP server on http://{shown}:{args.port}/mcp (store {app.settings.store_label}; {access}). "
          "Ctrl-C stops it.", file=sys.stderr, flush=True)
    server.run("streamable-http", host=args.host, port=args.port)
    return 0


COMMANDS = {"mcp": run_mcp}
