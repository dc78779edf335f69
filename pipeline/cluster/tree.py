"""Group-average (UPGMA) merge trees on group sums: leaves (micro-clusters), neighbours, shared-neighbour vectors,
the nearest-neighbour-chain merge, cuts."""

from __future__ import annotations

import math
import warnings

import numpy as np

#: Above this many articles, spherical k-means micro-clusters become the leaves of the merge tree.
MAX_LEAVES = 2000
#: Above ``MAX_LEAVES * LEAF_SIZE`` articles the micro-clusters hold about ``LEAF_SIZE`` articles each (finer than
#: a theme), up to ``LEAVES_CAP`` of them: the tree's O(leaves^2) memory stays bounded (under 0.5 GB).
LEAF_SIZE = 25
LEAVES_CAP = 5000
#: Lloyd passes of the spherical k-means that makes the micro-clusters.
LEAF_ITERATIONS = 3

def _nearest(x: np.ndarray, centers: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Index of the most similar centre for every row, in chunks (never an n x m matrix for large n)."""
    out = np.empty(x.shape[0], dtype=np.int64)
    ct = np.ascontiguousarray(centers.T, dtype=np.float32)
    for a in range(0, x.shape[0], chunk):
        out[a : a + chunk] = np.argmax(x[a : a + chunk] @ ct, axis=1)
    return out


def _leaves(x: np.ndarray, max_leaves: int, random_state: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(leaf of each article, leaf vector sums, leaf sizes).

    Up to ``max_leaves`` articles every article is a leaf. Above, spherical k-means micro-clusters: ``max_leaves``
    articles drawn with ``random_state`` seed the centres, then ``LEAF_ITERATIONS`` Lloyd passes (each O(n m d),
    linear in n for the fixed m).
    """
    n = x.shape[0]
    if n <= max_leaves:
        return np.arange(n), x.astype(np.float64), np.ones(n)
    rng = np.random.default_rng(random_state)
    centers = x[np.sort(rng.choice(n, size=max_leaves, replace=False))].astype(np.float32)
    for _ in range(LEAF_ITERATIONS + 1):
        labels = _nearest(x, centers)
        sums = _group_sums(labels, max_leaves, x)
        sizes = np.bincount(labels, minlength=max_leaves)
        keep = sizes > 0
        centers = (sums[keep] / np.maximum(np.linalg.norm(sums[keep], axis=1, keepdims=True), 1e-12))
        centers = centers.astype(np.float32)
    used, labels = np.unique(labels, return_inverse=True)
    return labels, sums[used], sizes[used].astype(np.float64)


def _knn(x: np.ndarray, k: int, leaf: np.ndarray, sums: np.ndarray, chunk: int = 1024,
         probe: int = 3) -> np.ndarray:
    """(n, k) indices of each row's ``k`` most similar rows (itself included), sorted.

    Exact up to ``MAX_LEAVES`` articles (row chunks, never n x n). Above, the neighbours are searched among the
    members of the article's own micro-cluster and the nearest other ones: at least ``probe`` micro-clusters and
    at least ``4 k`` candidates, so a small micro-cluster never starves the search."""
    n = x.shape[0]
    k = max(1, min(k, n))
    out = np.empty((n, k), dtype=np.int64)
    if n <= MAX_LEAVES:
        for a in range(0, n, chunk):
            sim = x[a : a + chunk] @ x.T
            out[a : a + chunk] = np.sort(np.argpartition(-sim, k - 1, axis=1)[:, :k], axis=1)
        return out
    cen = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    order = np.argsort(leaf, kind="stable")
    bounds = np.searchsorted(leaf[order], np.arange(len(sums) + 1))
    members = [order[bounds[i] : bounds[i + 1]] for i in range(len(sums))]
    size = np.diff(bounds)
    width = min(len(sums), max(probe, 64))
    nearest = np.empty((len(sums), width), dtype=np.int64)
    for a in range(0, len(sums), chunk):
        csim = cen[a : a + chunk] @ cen.T
        csim[np.arange(csim.shape[0]), np.arange(a, a + csim.shape[0])] = np.inf  # own micro-cluster first
        part = np.argpartition(-csim, width - 1, axis=1)[:, :width]
        nearest[a : a + chunk] = np.take_along_axis(
            part, np.argsort(-np.take_along_axis(csim, part, 1), axis=1, kind="stable"), 1)
    for li in range(len(sums)):
        rows = members[li]
        if len(rows) == 0:
            continue
        near = nearest[li]
        need = int(np.searchsorted(np.cumsum(size[near]), 4 * k)) + 1
        cand = np.concatenate([members[j] for j in near[: max(probe, need)]])
        kk = min(k, len(cand))
        sim = x[rows] @ x[cand].T
        idx = cand[np.argpartition(-sim, kk - 1, axis=1)[:, :kk]]
        if kk < k:  # fewer candidates than k (tiny corner case): repeat the article itself
            idx = np.concatenate([idx, np.repeat(rows[:, None], k - kk, axis=1)], axis=1)
        out[rows] = np.sort(idx, axis=1)
    return out


def _smooth(x: np.ndarray, k: int, leaf: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Each vector replaced by the normalised mean of its ``k`` nearest neighbours (itself included): one step of
    neighbourhood averaging (as in mean shift) that pulls articles of one event together and thins the noise
    between groups."""
    return _smooth_from(x, _knn(x, k, leaf, sums)) if k > 1 else x


def _smooth_from(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Each vector replaced by the normalised mean of the rows ``idx`` lists for it."""
    if idx.shape[1] <= 1:
        return x
    out = np.empty_like(x)
    for a in range(0, x.shape[0], 4096):
        out[a : a + 4096] = x[idx[a : a + 4096]].mean(axis=1)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def _snn(idx: np.ndarray):
    """Shared-nearest-neighbour vectors: row i is the indicator of i's neighbour list divided by sqrt(k), a sparse
    unit vector, so the dot product of two rows is the fraction of neighbours they share (Jarvis & Patrick 1973;
    Ertoz, Steinbach & Kumar 2003)."""
    import scipy.sparse as sp

    n, k = idx.shape
    v = sp.csr_matrix((np.full(n * k, 1.0 / math.sqrt(k)), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
    v.sum_duplicates()
    return v


def _group_sums(labels: np.ndarray, m: int, x):
    """Row sums of ``x`` (dense or sparse) per label in ``range(m)``: dense float64, or sparse CSR for sparse x."""
    import scipy.sparse as sp

    ind = sp.csr_matrix((np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(m, len(labels)))
    if sp.issparse(x):
        return (ind @ x).tocsr()
    return ind @ x.astype(np.float64)


def _gram(sums) -> np.ndarray:
    """``sums @ sums.T`` as a dense float64 array; in row blocks for sparse sums (the sparse product of all rows at
    once would hold m^2 indices too)."""
    import scipy.sparse as sp

    if not sp.issparse(sums):
        return np.asarray(sums, dtype=np.float64) @ np.asarray(sums, dtype=np.float64).T
    m = sums.shape[0]
    g = np.empty((m, m))
    st = sums.T.tocsc()
    for a in range(0, m, 256):
        g[a : a + 256] = (sums[a : a + 256] @ st).toarray()
    return g


def _upgma(sums, sizes: np.ndarray) -> list[tuple[float, int, int]]:
    """Group-average merges of the leaves as ``(similarity, a, b)``, most similar first.

    ``sums`` are the leaf sums of the article vectors (dense, or sparse for shared-neighbour vectors), or a list of
    ``(leaf sums, weight)`` for a weighted sum of such similarities. Nearest-neighbour chain on the Gram matrix of
    the leaf sums: O(m^2) memory and time for m leaves.
    """
    m = len(sizes)
    if m < 2:
        return []
    if isinstance(sums, list):
        g = np.zeros((m, m))
        for part, weight in sums:
            g += weight * _gram(part)
    else:
        g = _gram(sums)
    size = sizes.astype(np.float64).copy()
    active = np.ones(m, dtype=bool)
    merges: list[tuple[float, int, int]] = []
    chain: list[int] = []
    remaining = m
    neg = -np.inf
    while remaining > 1:
        if not chain:
            chain.append(int(np.flatnonzero(active)[0]))
        a = chain[-1]
        sims = g[a] / (size[a] * size)
        sims[~active] = neg
        sims[a] = neg
        b = int(np.argmax(sims))
        if len(chain) > 1 and sims[chain[-2]] >= sims[b]:
            b = chain[-2]
        if len(chain) > 1 and b == chain[-2]:
            chain.pop()
            chain.pop()
            lo, hi = (a, b) if a < b else (b, a)
            merges.append((float(sims[b]), lo, hi))
            g[lo] += g[hi]
            g[:, lo] += g[:, hi]
            size[lo] += size[hi]
            active[hi] = False
            remaining -= 1
        else:
            chain.append(b)
    # group average is reducible: sorting gives a valid dendrogram (stable for ties)
    merges.sort(key=lambda t: -t[0])
    return merges


def _find(parent: np.ndarray, i: int) -> int:
    """Root of ``i`` in a union-find forest, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _cut(merges: list[tuple[float, int, int]], m: int, threshold: float) -> np.ndarray:
    """Leaf -> group (dense ids) after applying every merge with similarity >= threshold."""
    parent = np.arange(m)
    for s, a, b in merges:
        if s < threshold:
            break
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([_find(parent, i) for i in range(m)])
    return np.unique(roots, return_inverse=True)[1]


def _prefix_for(merges: list, sizes: np.ndarray, k: int, min_size: int) -> int:
    """Number of merges (most similar first) giving exactly ``k`` groups of >= ``min_size`` articles; the
    coarsest such cut, or the closest count when ``k`` cannot be reached."""
    m = len(sizes)
    parent = np.arange(m)
    size = sizes.copy()
    big = int((size >= min_size).sum())
    counts = [big]
    for _s, a, b in merges:
        ra, rb = _find(parent, a), _find(parent, b)
        big -= int(size[ra] >= min_size) + int(size[rb] >= min_size)
        lo, hi = min(ra, rb), max(ra, rb)
        parent[hi] = lo
        size[lo] += size[hi]
        big += int(size[lo] >= min_size)
        counts.append(big)
    c = np.asarray(counts)
    exact = np.flatnonzero(c == k)
    if len(exact):
        return int(exact[-1])
    best = int(np.argmin(np.abs(c - k)[::-1]))
    warnings.warn(f"n_themes={k} cannot be reached with min_size={min_size}; using {int(c[::-1][best])}.",
                  stacklevel=4)
    return len(c) - 1 - best
