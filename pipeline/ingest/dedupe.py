"""Content ids and duplicate search: exact (normalised text) and near (MinHash over word shingles, LSH index)."""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

from pipeline.config import IngestConfig
from pipeline.forkmap import CTX, fork_map
from pipeline.text import normalize


def content_key(content: str) -> int:
    """64-bit key of an article's content (its text without house text), normalised: equal content, equal key."""
    return int.from_bytes(hashlib.sha256(normalize(content).encode("utf-8")).digest()[:8], "little")


def content_id(text: str) -> str:
    return "a" + hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()[:16]


_WORD = re.compile(r"\w+")


def _shingle_hashes(norm_text: str, k: int, vocab: dict[str, int]) -> np.ndarray:
    """32-bit hashes of the word k-shingles of a normalised text (CRC32 of words, combined polynomially).

    Vectorised with numpy: hashing each joined shingle string in Python costs several times more.
    """
    words = _WORD.findall(norm_text)
    for w in set(words).difference(vocab):
        vocab[w] = zlib.crc32(w.encode("utf-8")) or 1
    codes = np.fromiter(map(vocab.__getitem__, words), dtype=np.uint64, count=len(words))
    if len(codes) < k:
        return np.array([int(codes.sum()) & 0xFFFFFFFF], dtype=np.uint64)
    h = np.zeros(len(codes) - k + 1, dtype=np.uint64)
    for j in range(k):
        h = (h * np.uint64(1_000_003) + codes[j : len(codes) - k + 1 + j]) & np.uint64(0xFFFFFFFF)
    return np.unique(h)


def _identity(x):
    return x


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _minhashes(norm_texts: list[str], cfg: IngestConfig) -> list:
    from datasketch import MinHash

    n = len(norm_texts)
    if not n:
        return []
    first = MinHash(num_perm=cfg.num_perm, seed=1, hashfunc=_identity)
    # the signatures on every core (forkmap), then one MinHash object per text around its signature
    values = fork_map(_signature, n, {"texts": norm_texts, "k": cfg.shingle_words, "first": first, "vocab": {}})
    return [MinHash(num_perm=cfg.num_perm, hashfunc=_identity, permutations=first.permutations, scheme=first.scheme,
                    hashvalues=v) for v in values]


def _signature(i: int) -> np.ndarray:
    c = CTX
    first = c["first"]  # never updated: a template (its permutations)
    mh = type(first)(num_perm=len(first.hashvalues), hashfunc=_identity, permutations=first.permutations,
                     scheme=first.scheme)
    mh.update_batch(_shingle_hashes(c["texts"][i], c["k"], c["vocab"]))
    return mh.hashvalues


def minhash_signatures(norm_texts: list[str], cfg: IngestConfig, hashes: list | None = None) -> np.ndarray:
    """(n, num_perm) uint64 MinHash signatures of normalised texts (word shingles, seed 1): kept in the run folder so
    that later updates find near duplicates of earlier articles without re-reading them."""
    hashes = _minhashes(norm_texts, cfg) if hashes is None else hashes
    if not hashes:
        return np.zeros((0, cfg.num_perm), dtype=np.uint64)
    return np.stack([np.asarray(h.hashvalues, dtype=np.uint64) for h in hashes])


def near_duplicate_groups(norm_texts: list[str], cfg: IngestConfig, hashes: list | None = None) -> list[int]:
    """Group id per text: texts whose estimated shingle Jaccard >= the threshold share a group.

    MinHash signatures with an LSH index (``datasketch``) find candidate pairs in near-linear time; each candidate
    pair is confirmed on the MinHash Jaccard estimate, so LSH false positives are not merged.
    """
    from datasketch import MinHashLSH

    n = len(norm_texts)
    uf = _UnionFind(n)
    if n < 2:
        return list(range(n))
    hashes = _minhashes(norm_texts, cfg) if hashes is None else hashes
    lsh = MinHashLSH(threshold=cfg.near_duplicate_threshold, num_perm=cfg.num_perm)
    for i, mh in enumerate(hashes):
        for j in lsh.query(mh):
            if mh.jaccard(hashes[j]) >= cfg.near_duplicate_threshold:
                uf.union(i, j)
        lsh.insert(i, mh)
    return [uf.find(i) for i in range(n)]


def near_duplicates_of(new: np.ndarray, old: np.ndarray, cfg: IngestConfig) -> list[int | None]:
    """For each new signature, the earlier article (row of ``old``) it is a near duplicate of, or None.

    The bands of datasketch's LSH for the same threshold and permutations find the candidates (a dict per band over
    the old rows); each is confirmed on the estimated Jaccard, the best one kept (ties: the earliest row).
    """
    from datasketch import MinHashLSH

    out: list[int | None] = [None] * len(new)
    if not len(new) or not len(old):
        return out
    params = MinHashLSH(threshold=cfg.near_duplicate_threshold, num_perm=cfg.num_perm)
    b, r = params.b, params.r
    old = np.ascontiguousarray(old, dtype=np.uint64)
    new = np.ascontiguousarray(new, dtype=np.uint64)
    tables: list[dict[bytes, list[int]]] = []
    for band in range(b):
        cols = old[:, band * r : (band + 1) * r]
        table: dict[bytes, list[int]] = {}
        for i, row in enumerate(cols):
            table.setdefault(row.tobytes(), []).append(i)
        tables.append(table)
    for k, sig in enumerate(new):
        cands: set[int] = set()
        for band, table in enumerate(tables):
            cands.update(table.get(sig[band * r : (band + 1) * r].tobytes(), ()))
        if not cands:
            continue
        rows = np.fromiter(sorted(cands), dtype=np.int64)
        jac = (old[rows] == sig).mean(axis=1)
        best = int(np.argmax(jac))
        if jac[best] >= cfg.near_duplicate_threshold:
            out[k] = int(rows[best])
    return out
