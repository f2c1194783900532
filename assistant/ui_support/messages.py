"""Errors -> a message a person can act on. The UI never shows a traceback.

Our own errors (`DigestQAError`) already carry a user-facing message; this adds what to do next in
the browser (the CLI's hints name commands). Anything else is a bug: the UI logs it to the
terminal that runs `digestqa ui` and says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from assistant.errors import BackendError, ConfigError, DigestQAError, InputError, StoreError, StoreMissing

EMPTY_STORE = ("The store holds no papers yet. Open **Library** (left) and upload digest files (.md), "
               "or run `digestqa ingest PATH` in a terminal; then ask away.")
EMPTY_LIBRARY = ("The store holds no papers yet: upload digest files (.md) under **Add digests** above, "
                 "or run `digestqa ingest PATH` in a terminal.")


@dataclass(frozen=True)
class Friendly:
    message: str
    hint: str = ""
    level: str = "error"  # error | warning | info: how the UI shows it

    @property
    def text(self) -> str:
        return f"{self.message}\n\n{self.hint}" if self.hint else self.message


def is_missing_store(exc: BaseException) -> bool:
    return isinstance(exc, StoreMissing)


def friendly(exc: BaseException) -> Friendly:
    if is_missing_store(exc):
        return Friendly(EMPTY_STORE, level="info")
    if isinstance(exc, StoreError) and "another ingest" in str(exc):
        return Friendly(f"{str(exc)[0].upper()}{str(exc)[1:]}.", "Try again when it has finished.", level="warning")
    if isinstance(exc, StoreError):
        return Friendly(f"The store cannot be used: {exc}.",
                        "Check the store setting (`DIGESTQA_STORE` or `digestqa ui --store DIR`), or start the "
                        "Chroma server, then reload the page.")
    if isinstance(exc, ConfigError):
        return Friendly(f"The configuration has a problem: {exc}.",
                        "Fix the `DIGESTQA_*` variable or `digestqa.toml`, then restart `digestqa ui`.")
    if isinstance(exc, BackendError):
        return Friendly(f"The LLM backend failed: {exc}.",
                        "Answers come from the extractive answerer until it is back.", level="warning")
    if isinstance(exc, InputError):
        return Friendly(str(exc), level="warning")
    if isinstance(exc, DigestQAError):
        return Friendly(str(exc))
    return Friendly(f"Something unexpected went wrong ({type(exc).__name__}: {str(exc)[:200]}).",
                    "The details are in the terminal running `digestqa ui`. Try again, or reload the page.")
