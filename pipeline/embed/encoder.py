"""Encoders: ``Embedder`` (a real model on a backend) and ``FakeEmbedder`` (hashed bag of words), both behind
the same cached ``encode(texts)``: dedupe, look up the cache, compute the misses in length-sorted batches, store them.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.embed.cache import VectorCache, text_keys
from pipeline.embed.models import (
    DEFAULT_MODEL,
    EmbedError,
    ModelSpec,
    _read_json,
    default_cache_dir,
    default_threads,
    model_fingerprint,
    resolve_model,
)
from pipeline.embed.vectors import _l2n

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
#: What ``backend="auto"`` becomes when the model can be exported (see the module docstring for the numbers).
AUTO_BACKEND = "onnx-int8"


class _CachedEncoder:
    """Shared ``encode``: dedupe, look up the cache, compute the misses in length-sorted batches, store them."""

    model_id: str
    dim: int
    FLUSH_EVERY = VectorCache.SHARD_ROWS  # texts computed between two cache writes

    def _setup_cache(self, cache_dir, use_cache: bool, batch_size: int, progress: bool) -> None:
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.use_cache = bool(use_cache)
        if batch_size < 1:
            raise EmbedError(f"batch_size must be >= 1, got {batch_size}.")
        self.batch_size = int(batch_size)
        self.progress = bool(progress)
        self._cache: VectorCache | None = None
        self.stats: dict = {"n_texts": 0, "n_cached": 0, "n_computed": 0, "n_tokens": 0, "seconds": 0.0}

    @property
    def cache(self) -> VectorCache:
        if self._cache is None:
            self._cache = VectorCache(self.cache_dir, self.model_id, self.dim)
        return self._cache

    def _compute(self, texts: list[str], tick) -> tuple[np.ndarray, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 L2-normalised vectors; cached texts are read, the others computed and stored."""
        t0 = time.perf_counter()
        if isinstance(texts, str):
            raise EmbedError("encode() takes a sequence of texts, not one string.")
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise EmbedError(f"encode() takes strings, got {type(t).__name__}.")
        uniq: dict[str, int] = {}
        inverse = np.fromiter((uniq.setdefault(t, len(uniq)) for t in texts), dtype=np.int64, count=len(texts))
        utexts = list(uniq)
        vecs = np.zeros((len(utexts), self.dim), np.float32)
        found = np.zeros(len(utexts), dtype=bool)
        keys = text_keys(utexts) if (self.use_cache and utexts) else None
        if keys is not None:
            found, _ = self.cache.get(keys, out=vecs)
        todo = np.nonzero(~found)[0]
        n_tokens = 0
        if len(todo):
            with _progress(self.progress, len(todo)) as tick:
                # in chunks, each stored as soon as it is done: an interrupted run keeps what it computed
                for a in range(0, len(todo), self.FLUSH_EVERY):
                    part = todo[a : a + self.FLUSH_EVERY]
                    computed, nt = self._compute([utexts[i] for i in part], tick)
                    computed = _l2n(computed)
                    vecs[part] = computed
                    n_tokens += nt
                    if keys is not None:
                        self.cache.put(keys[part], computed)
        self.stats = {"n_texts": len(texts), "n_unique": len(utexts), "n_cached": int(found.sum()),
                      "n_computed": int(len(todo)), "n_tokens": int(n_tokens),
                      "seconds": time.perf_counter() - t0}
        return vecs if len(utexts) == len(texts) else vecs[inverse]


class _progress:
    """A rich progress bar over texts when enabled; ``tick(n)`` advances it (a no-op otherwise)."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total, self._p = enabled, total, None

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._p = Progress(TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           transient=True)
        self._p.start()
        task = self._p.add_task("embed", total=self.total)
        return lambda n: self._p.advance(task, n)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.stop()
        return False


def _length_batches(lengths: np.ndarray, batch_size: int, max_tokens: int | None = None) -> list[np.ndarray]:
    """Indices sorted by length (longest first), cut into batches of ``batch_size`` (and at most ``max_tokens``
    padded tokens per batch, so long texts come in smaller batches)."""
    order = np.argsort(-lengths, kind="stable")
    batches, a = [], 0
    while a < len(order):
        longest = int(lengths[order[a]])
        size = batch_size
        if max_tokens:
            size = max(1, min(batch_size, max_tokens // max(longest, 1)))
        batches.append(order[a : a + size])
        a += size
    return batches


class Embedder(_CachedEncoder):
    """Sentence-transformers model -> L2-normalised float32 vectors, cached on disk.

    Parameters
    ----------
    model : str or path
        ``"all-MiniLM-L6-v2"`` (the packaged copy), a local sentence-transformers folder, or a model id already in
        the Hugging Face cache. Nothing is downloaded.
    backend : "auto" | "torch" | "onnx" | "onnx-int8"
    batch_size : texts per forward pass (texts are sorted by length first, so padding stays small).
    threads : CPU threads (default: all cores this process may use).
    max_seq_length : tokens kept per text (default: the model's, 256 for all-MiniLM-L6-v2).
    cache_dir : cache folder (default ``default_cache_dir()``); also holds the ONNX exports.
    use_cache : read and write the vector cache.
    progress : show a progress bar while computing.
    """

    def __init__(self, model: str | os.PathLike = DEFAULT_MODEL, *, backend: str = "auto", batch_size: int = 64,
                 threads: int | None = None, max_seq_length: int | None = None,
                 cache_dir: str | os.PathLike | None = None, use_cache: bool = True, progress: bool = False):
        if backend not in BACKENDS:
            raise EmbedError(f"unknown embedding backend {backend!r}: use one of {', '.join(BACKENDS)}.")
        self._setup_cache(cache_dir, use_cache, batch_size, progress)
        self.model_name = str(model)
        self.path = resolve_model(model)
        self.spec = ModelSpec.read(self.path)
        if max_seq_length is not None:
            if max_seq_length < 2:
                raise EmbedError(f"max_seq_length must be >= 2, got {max_seq_length}.")
            self.spec.max_seq_length = int(max_seq_length)
        limit = (_read_json(self.path / "config.json") or {}).get("max_position_embeddings")
        if isinstance(limit, int) and self.spec.max_seq_length > limit:
            raise EmbedError(f"max_seq_length {self.spec.max_seq_length} is more than the {limit} positions of "
                             f"{self.model_name!r}.")
        self.threads = int(threads) if threads else default_threads()
        self.fingerprint = model_fingerprint(self.path)
        short = self.model_name.rstrip("/").rsplit("/", 1)[-1] if not Path(self.model_name).exists() \
            else self.path.resolve().name
        self._short = re.sub(r"[^A-Za-z0-9._-]+", "_", short) or "model"
        self.requested_backend = backend
        if backend == "auto":
            backend = AUTO_BACKEND if self.spec.supported else "torch"
        if backend.startswith("onnx") and not self.spec.supported:
            raise EmbedError(f"backend {backend!r} cannot run {self.model_name!r}: {self.spec.why_unsupported}; "
                             f"use backend='torch'.")
        self._impl = None
        from pipeline.embed.backends_onnx import _OnnxImpl
        from pipeline.embed.backends_torch import _TorchImpl
        from pipeline.embed.int8 import cpu_flags, describe

        #: what was asked, what runs, and why (recorded in the manifest; ``note`` goes in the stage line)
        self.backend_info: dict = {"requested": backend, "cpu": cpu_flags()}
        try:
            if backend == "torch":
                self._impl = _TorchImpl(self)
            else:
                self._impl = _OnnxImpl(self, quantized=backend == "onnx-int8")
                if backend == "onnx-int8":
                    check = self._impl.check()
                    self.backend_info["int8_check"] = check
                    if not check["passed"]:
                        if self.requested_backend != "auto":
                            raise EmbedError(f"backend 'onnx-int8' does not hold on this CPU: {describe(check)}; "
                                             f"use backend='onnx' (float32) or 'auto'.")
                        backend, self._impl = "onnx", _OnnxImpl(self, quantized=False)
                        self.backend_info["note"] = f"float32: {describe(check)} failed"
                    else:
                        self.backend_info["note"] = f"{describe(check)} passed"
        except EmbedError:
            if self.requested_backend != "auto" or backend == "torch":
                raise
            backend, self._impl = "torch", _TorchImpl(self)
        self.backend = backend
        self.backend_info["used"] = backend
        self.dim = self._impl.dim
        # the backend's tag carries the ONNX recipe version: a new export / quantisation recipe never reads old vectors
        self.model_id = f"{self._short}@{self.fingerprint[:12]}:{self._impl.tag}:{self.spec.max_seq_length}"

    def tokenize_lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Token count (special tokens included, after truncation) of each text."""
        return self._impl.lengths(list(texts))

    def _compute(self, texts: list[str], tick) -> tuple[np.ndarray, int]:
        return self._impl.encode(texts, tick)

    def __repr__(self) -> str:
        return f"Embedder({self.model_id!r}, dim={self.dim}, threads={self.threads})"


def _char_blocks(texts: list[str], size: int = 16_384) -> list[np.ndarray]:
    """Indices of ``texts``, longest (in characters) first, in blocks of ``size``."""
    clen = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    order = np.argsort(-clen, kind="stable")
    return [order[a : a + size] for a in range(0, len(order), size)]


class FakeEmbedder(_CachedEncoder):
    """Deterministic hashed bag-of-words vectors (word unigrams and bigrams), no model: for fast tests.

    Same interface as ``Embedder``; the cache is off unless ``cache_dir`` is given. Texts sharing words get
    positive cosine, so clustering code behaves sensibly on it.
    """

    def __init__(self, dim: int = 64, *, seed: int = 0, batch_size: int = 64, cache_dir=None,
                 use_cache: bool | None = None, progress: bool = False, **_ignored):
        self._setup_cache(cache_dir, bool(cache_dir is not None) if use_cache is None else use_cache,
                          batch_size, progress)
        self.dim = int(dim)
        self.seed = int(seed)
        self.backend = "fake"
        self.backend_info = {"requested": "fake", "used": "fake"}
        self.model_id = f"fake-bow:{self.dim}:{self.seed}"

    _WORD = re.compile(r"\w+")

    def _vec(self, text: str) -> np.ndarray:
        words = self._WORD.findall(text.casefold()) or ["<empty>"]
        feats = words + [a + " " + b for a, b in zip(words, words[1:])]
        v = np.zeros(self.dim, np.float32)
        salt = self.seed.to_bytes(8, "little")
        for f in feats:
            h = int.from_bytes(hashlib.blake2b(f.encode("utf-8", "surrogatepass"), digest_size=8, salt=salt)
                               .digest(), "little")
            v[h % self.dim] += 1.0 if (h >> 63) else -1.0
        if not v.any():
            v[0] = 1.0
        return v

    def _compute(self, texts: list[str], tick) -> tuple[np.ndarray, int]:
        out = np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
        tick(len(texts))
        return out, sum(len(self._WORD.findall(t)) + 2 for t in texts)

    def tokenize_lengths(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([len(self._WORD.findall(t)) + 2 for t in texts], dtype=np.int64)


# ----------------------------------------------------------------------------------------------------------------
