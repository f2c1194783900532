"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""


class DigestQAError(Exception):
    """Base class: the message is written for the user, no traceback is shown."""

    exit_code = 2


class InputError(DigestQAError):
    """Bad paths, empty folders, unreadable files, malformed options."""


class StoreError(DigestQAError):
    """The store is missing, corrupt, locked by another ingest, or the server is down."""


class StoreMissing(StoreError):
    """No store at the configured place yet (nothing ingested): the UI offers to add digests."""


class ConfigError(DigestQAError):
    """A configuration file or environment variable has a bad value."""


class BackendError(DigestQAError):
    """An LLM backend failed (connection, timeout, HTTP error) after retries.

    `code` says what kind of failure, for programs (`ask --json`'s `llm.fallback`): timeout,
    connection, stream_broken, context_overflow, model_not_found, rate_limited, http_error, format."""

    def __init__(self, message: str, code: str = "error"):
        super().__init__(message)
        self.code = code
