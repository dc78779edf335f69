"""Choosing and polishing cuts: silhouette curves from leaf sums, the group-average polish, dense groups."""

from __future__ import annotations

import numpy as np

from pipeline.cluster.tree import _cut, _group_sums

#: At most this many articles are scored when the silhouette picks the cut.
SILHOUETTE_SAMPLE = 2000
#: Candidate cut thresholds are multiples of this.
GRID_STEP = 0.01
#: Stories: the finest cut whose silhouette is still at least this fraction of the best (theme) silhouette.
STORY_SILHOUETTE_RATIO = 0.9
#: Passes of the group-average polish after each cut.
REFINE_ITERATIONS = 5

def _silhouette_basis(x: np.ndarray, sums: np.ndarray, leaf: np.ndarray, random_state: int,
                      extra: list = ()) -> tuple:
    """What every silhouette curve of one set of leaves needs: (scored rows' leaves, their similarity sums to each
    leaf, their self-similarities). Above ``SILHOUETTE_SAMPLE`` articles a fixed random sample of them is scored.
    ``extra``: more similarity terms as ``(features (n, f), their leaf sums (m, f), weight)`` (the date term)."""
    n = x.shape[0]
    if n > SILHOUETTE_SAMPLE:
        rows = np.sort(np.random.default_rng(random_state).choice(n, size=SILHOUETTE_SAMPLE, replace=False))
    else:
        rows = np.arange(n)
    p = x[rows].astype(np.float64) @ sums.T  # (s, m)
    self_sim = np.einsum("ij,ij->i", x[rows], x[rows], dtype=np.float64)
    for f, f_sums, w in extra:
        p += w * (f[rows] @ f_sums.T)
        self_sim += w * np.einsum("ij,ij->i", f[rows], f[rows])
    return leaf[rows], p, self_sim


def _silhouettes(basis: tuple, *, sizes: np.ndarray, merges: list, grid: np.ndarray,
                 with_se: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Mean cosine silhouette of the cut at each threshold of ``grid`` (sklearn's definition: a singleton scores
    0; a one-group cut scores -1 so it is never preferred to a real split). ``with_se``: also the standard error
    of each mean (standard deviation of the articles' silhouettes / sqrt(articles scored)).

    Exact from the leaf sums (``basis`` from :func:`_silhouette_basis`): the mean similarity of article i to group
    C is ``x_i . sum(C) / |C|`` (minus itself for its own group), so one (sample x leaves) product serves every cut
    of every tree on the same leaves. Cost O(sample * leaves * len(grid)).
    """
    import scipy.sparse as sp

    own_leaf, p, self_sim = basis
    m = len(sizes)
    r = np.arange(len(own_leaf))
    out = np.full(len(grid), -1.0)
    se = np.zeros(len(grid))
    last_key, last_val, last_se = None, -1.0, 0.0
    p_t = np.ascontiguousarray(p.T)  # (m, s), once: a transposed view is copied by every sparse product below
    for gi, t in enumerate(grid):
        g = _cut(merges, m, t)
        k = int(g.max()) + 1
        key = (k, int(g[0]))
        if key == last_key:
            out[gi], se[gi] = last_val, last_se
            continue
        if k == 1:
            last_key, last_val, last_se = key, -1.0, 0.0
            continue
        csize = np.bincount(g, weights=sizes, minlength=k)
        ind = sp.csr_matrix((np.ones(m), (np.arange(m), g)), shape=(m, k))
        pk = np.asarray((ind.T @ p_t).T)  # (s, k): sum of similarities to each group
        own = g[own_leaf]
        n_own = csize[own]
        a_sim = (pk[r, own] - self_sim) / np.maximum(n_own - 1, 1)
        mean_sim = pk
        mean_sim /= csize  # in place: one (sample x groups) array at a time
        mean_sim[r, own] = -np.inf
        b_sim = mean_sim.max(axis=1)
        a_d, b_d = 1.0 - a_sim, 1.0 - b_sim
        sil = (b_d - a_d) / np.maximum(np.maximum(a_d, b_d), 1e-12)
        sil[n_own <= 1] = 0.0
        last_key, last_val = key, float(sil.mean())
        last_se = float(sil.std() / np.sqrt(max(len(sil), 1)))
        out[gi], se[gi] = last_val, last_se
    return (out, se) if with_se else out


def _refine(x, lab: np.ndarray, threshold: float, iterations: int, chunk: int = 4096,
            keep_out: bool = False) -> np.ndarray:
    """Polish a partition the way group-average linkage would judge one article: each article moves to the group
    it is most similar to on average (its own group counted without itself), and is left out (-1) when that mean
    similarity is below ``threshold``. ``x`` is dense or sparse (shared-neighbour vectors), or a list of
    ``(vectors, weight)`` for a weighted sum of similarities. With ``keep_out`` the articles at -1 stay out.
    Lloyd-style passes, O(n k d) each, until nothing moves."""
    import scipy.sparse as sp

    parts = x if isinstance(x, list) else [(x, 1.0)]
    lab = lab.copy()
    n = parts[0][0].shape[0]
    out0 = lab < 0
    for _ in range(iterations):
        used, dense = np.unique(lab[lab >= 0], return_inverse=True)
        if len(used) == 0:
            return lab
        cur = np.full(n, -1)
        cur[lab >= 0] = dense
        k = len(used)
        rows_in = np.flatnonzero(cur >= 0)
        size = np.bincount(cur[rows_in], minlength=k).astype(np.float64)
        sums_t = []
        for xp, _w in parts:
            sums = _group_sums(cur[rows_in], k, xp[rows_in])
            # float32 for the float32 vectors; float64 columns (the date term's moments) keep their precision
            sums_t.append(sums.T.tocsr() if sp.issparse(xp) else sums.T.astype(np.result_type(xp.dtype, np.float32)))
        new = np.full(n, -1)
        for a in range(0, n, chunk):
            own = cur[a : a + chunk]
            r = np.flatnonzero(own >= 0)
            dots = np.zeros((len(own), k))
            selfsim = np.zeros(len(r))
            for (xp, w), st in zip(parts, sums_t):
                xs = xp[a : a + chunk]
                d = xs @ st
                dots += w * (d.toarray() if sp.issparse(d) else d)
                if sp.issparse(xs):
                    selfsim += w * np.asarray(xs[r].multiply(xs[r]).sum(axis=1), dtype=np.float64).ravel()
                else:
                    selfsim += w * np.einsum("ij,ij->i", xs[r], xs[r], dtype=np.float64)
            denom = np.broadcast_to(size, dots.shape).copy()
            denom[r, own[r]] -= 1.0
            dots[r, own[r]] -= selfsim
            with np.errstate(divide="ignore", invalid="ignore"):
                mean = np.where(denom > 0, dots / np.maximum(denom, 1e-12), -np.inf)
            best = np.argmax(mean, axis=1)
            ok = mean[np.arange(len(best)), best] >= threshold - 1e-9
            new[a : a + chunk] = np.where(ok, used[best], -1)
        if keep_out:
            new[out0] = -1
        if np.array_equal(new, lab):
            break
        lab = new
    return lab


def _dense_groups(lab: np.ndarray, min_size: int) -> tuple[list[np.ndarray], np.ndarray]:
    """(groups of >= min_size rows ordered by first row, rows in no such group)."""
    valid = lab >= 0
    counts = np.bincount(lab[valid]) if valid.any() else np.zeros(0, int)
    big = np.zeros(len(lab), dtype=bool)
    big[valid] = counts[lab[valid]] >= min_size
    groups: dict[int, list[int]] = {}
    for i in np.flatnonzero(big):
        groups.setdefault(int(lab[i]), []).append(int(i))
    return [np.asarray(g) for g in sorted(groups.values(), key=lambda g: g[0])], np.flatnonzero(~big)
