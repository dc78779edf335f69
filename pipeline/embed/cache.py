"""The on-disk, content-addressed vector cache.

Cache layout (``<cache_dir>/vectors/<sha256(model_id)[:20]>/``): one shard per batch of new vectors, three files
each: ``<shard>.vec.npy`` float32 (n, dim), ``<shard>.key.npy`` uint64 (n, 2) (the first 16 bytes of the sha256
of each text) and ``<shard>.json``, the manifest written last (its presence commits the shard) with the row count,
byte sizes and CRC-32 of both arrays. Files are written to a temporary name and ``os.replace``-d, so a crash never
leaves a half shard; a shard whose size or checksum is wrong is deleted and its texts recomputed. Small shards
are merged once there are many.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.embed.models import _read_json

_CACHE_VERSION = 1


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
