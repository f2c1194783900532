"""`digestqa ui`: start the Streamlit app (ui/app.py) on this machine with this command's settings.

The app runs in a child `python -m streamlit run` process. It rebuilds its Settings from the
environment, so the settings resolved here (flags, preset, TOML, env) are handed over as
DIGESTQA_* variables and both processes see the same store and backend.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import sys
import threading
import time
from pathlib import Path

from assistant.cli.common import add_command, port
from assistant.config import _ENV, Settings
from assistant.errors import InputError

DESCRIPTION = ("Start the web UI on this machine: chat with linked citations and sources, "
               "briefings, the paper library with digest upload, what's new, and eval runs. It uses the "
               "same store and answering backend as the other commands.")
EPILOG = """examples:
  digestqa ui                                 open http://127.0.0.1:8501 in your browser
  digestqa ui --store ~/papers/vectorstore    the same, on another store
  digestqa ui --port 8600 --no-browser        another port; print the address instead of opening it
  digestqa ui --preset ollama                 answer with the LLM of a preset

pages: Chat (questions with linked citations and sources), Briefing (per category, downloadable),
Library (browse papers, upload digests to ingest), What's new (the last ingest's papers by category,
watch hits, the watchlist, downloads), Evals (eval runs, metrics, comparisons).
Ctrl-C stops the server."""


def add_ui_command(sub, common) -> None:
    p = add_command(sub, common, "ui", "open the web UI in your browser (Streamlit)", DESCRIPTION, EPILOG)
    p.add_argument("--port", type=port, default=8501, help="port to listen on (default 8501)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 exposes it "
                        "to your network, with no login)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser; just print the address")


def find_ui_script() -> Path:
    """ui/app.py beside the `assistant` package in a source checkout (an editable install), else the
    copy a regular (wheel) install carries as `assistant/bundled_ui/` (see pyproject.toml)."""
    package = Path(__file__).resolve().parent.parent  # the `assistant` package
    candidates = [package.parent / "ui" / "app.py", package / "bundled_ui" / "app.py", Path.cwd() / "ui" / "app.py"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise InputError("the web UI files (ui/app.py) were not found "
                     f"(looked at {', '.join(str(c) for c in dict.fromkeys(candidates))}); reinstall digestqa, "
                     "or run this from the repository root")


def ui_environment(settings: Settings, base: dict[str, str]) -> dict[str, str]:
    """`base` plus DIGESTQA_* variables that reproduce `settings` in the app's process."""
    env = dict(base)
    for var, name in _ENV.items():
        if var == "OPENAI_API_KEY":
            continue  # the key travels as DIGESTQA_LLM_API_KEY (or was inherited already)
        value = getattr(settings, name)
        if value is None:
            env.pop(var, None)  # an inherited variable must not override what the flags chose
            continue
        if name in ("store", "cache_dir"):
            value = Path(value).expanduser().resolve() if name == "store" else Path(value).expanduser()
        if isinstance(value, tuple):  # as load_settings reads a list from the environment
            value = (os.pathsep if name == "mcp_ingest_roots" else ",").join(str(item) for item in value)
            if not value:
                env.pop(var, None)
                continue
        env[var] = str(value)
    if settings.preset:
        env["DIGESTQA_PRESET"] = settings.preset
    return env


def _check_port_free(host: str, port: int, command: str = "digestqa ui") -> None:
    import socket  # (here and below: ui and mcp only; every command imports this module: cli/__init__.py)

    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); another `{command}` may be "
                         f"running there: open it, or pick another port with --port") from None


def streamlit_command(script: Path, host: str, port: int) -> list[str]:
    # Always headless: a non-headless first run asks for an e-mail address on the terminal and
    # waits. The browser is opened by `open_when_ready` instead.
    return [sys.executable, "-m", "streamlit", "run", str(script),
            "--server.address", host, "--server.port", str(port), "--server.headless", "true",
            "--browser.gatherUsageStats", "false",  # offline product: no telemetry
            "--client.showErrorDetails", "none",  # errors are shown as messages, never tracebacks
            "--client.toolbarMode", "minimal",
            "--server.fileWatcherType", "none"]


def open_when_ready(url: str, timeout_s: float = 90.0) -> None:
    """Open the user's browser once the server answers its health check (run in a thread)."""
    import urllib.request  # ~30 ms to import
    import webbrowser

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    webbrowser.open(url)
                    return
        except OSError:
            pass
        time.sleep(0.3)


def _dies_with(parent: int):
    """A preexec_fn making the server die with this process even when it is killed with SIGKILL
    (no handler runs then): Linux's PR_SET_PDEATHSIG. Elsewhere None (Ctrl-C and SIGTERM are
    still forwarded by run_ui)."""
    if not sys.platform.startswith("linux"):
        return None

    def set_death_signal() -> None:  # runs in the child, between fork and exec
        import ctypes  # (in the child only)

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the call: nobody would signal us
            os._exit(1)

    return set_death_signal


def run_ui(args, app) -> int:
    import subprocess  # (ui only: see _check_port_free)

    if importlib.util.find_spec("streamlit") is None:
        raise InputError("the web UI needs Streamlit: pip install streamlit")
    script = find_ui_script()
    _check_port_free(args.host, args.port)
    settings = app.settings
    command = streamlit_command(script, args.host, args.port)
    backend = f"LLM {settings.llm_model}" if settings.uses_llm else "extractive answerer"
    shown_host = "localhost" if args.host in ("127.0.0.1", "::1") else args.host
    url = f"http://{shown_host}:{args.port}"
    print(f"digestqa UI on {url}  (store {settings.store_label}; {backend}). Ctrl-C stops it.",
          file=sys.stderr, flush=True)
    child = subprocess.Popen(command, env=ui_environment(settings, dict(os.environ)), preexec_fn=_dies_with(os.getpid()))
    if not args.no_browser:
        local = "127.0.0.1" if args.host in ("0.0.0.0", "::", "localhost") else args.host
        threading.Thread(target=open_when_ready, args=(f"http://{local}:{args.port}",), daemon=True).start()
    # A service manager (or a test) stops us with SIGTERM: stop the server with us, not leave it behind.
    signal.signal(signal.SIGTERM, lambda signum, frame: child.terminate())
    try:
        code = child.wait()
        return 0 if code in (-signal.SIGTERM, -signal.SIGINT) else code  # stopped on request
    except KeyboardInterrupt:  # the child got the same Ctrl-C; let it shut down cleanly
        try:
            child.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            child.kill()
        return 0
