"""Cluster stage: articles -> themes -> stories, with c-TF-IDF keywords and short labels.

How themes and stories are found (README paragraph)
---------------------------------------------------
Themes and stories are cuts of **group-average (UPGMA) merge trees**. (1) *Neighbours*: each article's 15 nearest
neighbours (at most a tenth of the articles; UMAP's and so BERTopic's default neighbourhood), taken on vectors
smoothed over 5 neighbours (the mean of each article's nearest vectors, which steadies the lists). (2) *Theme tree*:
two articles are as similar as 0.75 x the fraction of neighbours they share (**shared-nearest-neighbour**
similarity, Jarvis & Patrick 1973; Ertoz et al. 2003), which follows the local density instead of one global cosine
scale, + 0.25 x their cosine similarity, which orders the merges of groups sharing no neighbour. Group-average
linkage merges, most similar first, the two groups whose articles are most similar on average; on the sparse
neighbour-indicator vectors and the article vectors that average is ``sum(A) . sum(B) / (|A| |B|)``, so the tree
needs only group sums: up to 2,000 articles every article is a leaf; above, a spherical k-means first makes 2,000
micro-clusters (about 25 articles each above 50,000 articles, at most 5,000; linear in the number of articles), so
no articles x articles matrix is ever built. Under 30 articles (fewer than 3 neighbours) the tree is on cosine
similarity alone. (3) *Automatic theme cut*: t is chosen
on a 0.01 grid as the cut with the best mean **silhouette** computed on the articles' own vectors: each article's
average cosine similarity to its own group against its most similar other group. This needs no number of themes
and no per-corpus constant. (4) *Polish*: an article whose mean theme similarity to every theme is below t is left
out (unclustered); then each member moves to the theme its own vector is most similar to on average.
(5) *Stories*: a second tree, on the 5-neighbour-smoothed vectors and cosine similarity, cut at its finest
threshold whose silhouette (on the articles' own vectors) is still at least 90% of that tree's best one (finer cuts
stop paying off in separation); stories are its groups intersected with the themes, so they nest, polished the
same way (an article fitting no story becomes a one-article story). Above 2,000 articles, where micro-clusters are
coarser than stories, each theme gets its own story tree on its articles.
Groups smaller than ``min_size`` are listed as unclustered, never dropped. Overrides: ``n_themes`` cuts the tree
into exactly that many themes; ``threshold`` fixes the theme cut (a mean theme similarity) and
``story_threshold`` the story cut (a mean cosine similarity).

Keywords are class-based TF-IDF (BERTopic's formula) over 1-3-grams of the title and lead (English stop words
removed, unclustered articles as one extra class), with near-duplicates merged; a label is the top two or three
non-overlapping keyphrases (2 to 6 words) joined with " · ", spelled as in the articles and made unique. Ids derive
from a group's first article (input order = arrival order), or are carried over from ``previous`` by member overlap,
so a few new articles do not renumber anything.
"""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from collections.abc import Sequence

import numpy as np

from pipeline import PipelineError

#: Above this many articles, spherical k-means micro-clusters become the leaves of the merge tree.
MAX_LEAVES = 2000
#: Above ``MAX_LEAVES * LEAF_SIZE`` articles the micro-clusters hold about ``LEAF_SIZE`` articles each (finer than
#: a theme), up to ``LEAVES_CAP`` of them: the tree's O(leaves^2) memory stays bounded (under 0.5 GB).
LEAF_SIZE = 25
LEAVES_CAP = 5000
#: At most this many articles are scored when the silhouette picks the cut.
SILHOUETTE_SAMPLE = 2000
#: Candidate cut thresholds are multiples of this.
GRID_STEP = 0.01
#: Stories: the finest cut whose silhouette is still at least this fraction of the best (theme) silhouette.
STORY_SILHOUETTE_RATIO = 0.9
#: Passes of the group-average polish after each cut.
REFINE_ITERATIONS = 5
#: Nearest neighbours per article whose overlap is the theme tree's similarity (capped at a tenth of the articles);
#: 15 is UMAP's (and so BERTopic's) default neighbourhood size.
SNN_K = 15
#: Weight of the shared-neighbour fraction in the theme similarity; the cosine similarity of the articles' own
#: vectors has the rest. Shared neighbours decide where they exist; the cosine orders the merges of groups that share
#: no neighbour at all (without it, a theme whose stories hold more than ``SNN_K`` articles each can never be
#: re-joined). Any weight from 0.6 to 0.97 gives the same ECB+ and MultiLing themes within 0.013 ARI (0.5 drops
#: ECB+ and MultiLing pooled into one collection from 0.85 to 0.79; 1.0 splits synthetic themes into their
#: stories): see ``benchmarks/cluster_ablation.py``.
SNN_WEIGHT = 0.75
#: Neighbours averaged per article before the *story* tree, and before the neighbour lists of the theme tree are
#: taken (capped at a tenth of the articles): a third of ``SNN_K``, so an event of a handful of articles is not
#: averaged into its neighbours. Set on the ECB+ dev set
#: (stories ARI 0.83-0.86 for 3-10 neighbours, best at 5; 15 gave 0.82): see ``benchmarks/compare_clustering.py``.
STORY_SMOOTH_K = 5
#: Lloyd passes of the spherical k-means that makes the micro-clusters.
LEAF_ITERATIONS = 3
#: Rows per block of a micro-clustering pass: blocks are assigned and summed independently (in parallel on the Ray
#: engine), then their sums are added in block order. A fixed size, so the answer never depends on the engine.
LEAF_BLOCK = 4096


class ClusterError(PipelineError):
    """Invalid input or parameter for the cluster stage."""


# --------------------------------------------------------------------------------------------- merge tree


def _nearest(x: np.ndarray, centers: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """Index of the most similar centre for every row, in chunks (never an n x m matrix for large n)."""
    out = np.empty(x.shape[0], dtype=np.int64)
    ct = np.ascontiguousarray(centers.T, dtype=np.float32)
    for a in range(0, x.shape[0], chunk):
        out[a : a + chunk] = np.argmax(x[a : a + chunk] @ ct, axis=1)
    return out


def _map_here(fn, items: Sequence, *shared) -> list:
    """``[fn(item, *shared) for item in items]``: the local engine's map (the Ray engine passes its own, running the
    same calls as tasks)."""
    return [fn(item, *shared) for item in items]


def _leaf_block(xb: np.ndarray, centers: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One block's share of a Lloyd pass: (nearest centre of each row, per-centre vector sums (m, dim) float64,
    per-centre counts (m,))."""
    labels = _nearest(xb, centers)
    return labels, _group_sums(labels, m, xb), np.bincount(labels, minlength=m)


def _leaves(x: np.ndarray, max_leaves: int, random_state: int,
            mapper=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(leaf of each article, leaf vector sums, leaf sizes).

    Up to ``max_leaves`` articles every article is a leaf. Above, spherical k-means micro-clusters: ``max_leaves``
    articles drawn with ``random_state`` seed the centres, then ``LEAF_ITERATIONS`` Lloyd passes (each O(n m d),
    linear in n for the fixed m). Each pass is a map over blocks of ``LEAF_BLOCK`` rows (:func:`_leaf_block`) and
    a reduce adding the block sums in block order, so ``mapper`` (``mapper(fn, blocks, *shared)``, default: a plain
    loop) may run the blocks anywhere, e.g. as Ray tasks, and the result is the same to the bit.
    """
    n = x.shape[0]
    if n <= max_leaves:
        return np.arange(n), x.astype(np.float64), np.ones(n)
    mapper = mapper or _map_here
    rng = np.random.default_rng(random_state)
    centers = x[np.sort(rng.choice(n, size=max_leaves, replace=False))].astype(np.float32)
    blocks = [x[a : a + LEAF_BLOCK] for a in range(0, n, LEAF_BLOCK)]
    for _ in range(LEAF_ITERATIONS + 1):
        parts = mapper(_leaf_block, blocks, centers, max_leaves)
        labels = np.concatenate([p[0] for p in parts])
        sums, sizes = parts[0][1].copy(), parts[0][2].copy()
        for p in parts[1:]:
            sums += p[1]
            sizes += p[2]
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
    if k <= 1:
        return x
    idx = _knn(x, k, leaf, sums)
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


# --------------------------------------------------------------------------------------------- keywords

#: Characters of each article (title + lead) used for keywords: keeps c-TF-IDF cheap on 100k articles.
KEYWORD_CHARS = 1000
#: Above this many articles, keywords are counted on each story's most central articles in proportion.
KEYWORD_SAMPLE = 30000
#: Reporting words that every news article uses: not keywords.
_NEWS_WORDS = {"said", "says", "say", "told", "according", "reported", "reports", "added", "just", "like",
               "reuters", "afp", "ap", "mr", "mrs", "ms", "monday", "tuesday", "wednesday", "thursday", "friday",
               "saturday", "sunday", "year", "years", "new", "time"}
_STOP_WORDS: list[str] | None = None
_TOKEN = r"(?u)\b[^\W\d_][\w'’-]*[^\W_]\b"


def _stem(word: str) -> str:
    """A tiny plural/possessive folding used only to spot near-duplicate keywords ("force" ~ "forces")."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ss") or len(w) <= 3:
        return w
    for suf, rep in (("ies", "y"), ("es", "e"), ("s", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: len(w) - len(suf)] + rep
    return w


def _phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in phrase.split())


def _contains(long: tuple[str, ...], short: tuple[str, ...]) -> bool:
    k = len(short)
    return k < len(long) and any(long[i : i + k] == short for i in range(len(long) - k + 1))


def _select_keywords(terms: Sequence[str], scores: Sequence[float], n: int) -> list[str]:
    """The ``n`` best keyphrases (``terms`` sorted by decreasing ``scores``) with near-duplicates merged.

    Near-duplicates: equal after plural/possessive folding ("iraqi force" ~ "iraqi forces"), or one phrase inside
    the other. A longer phrase scoring at least half as much as a chosen shorter one replaces it ("gaza" ->
    "gaza strip"), otherwise it is dropped; a shorter phrase inside a chosen longer one is dropped.
    """
    chosen: list[list] = []  # [phrase, score, key]
    for p, s in zip(terms, scores):
        if s <= 0 or len(chosen) >= n:
            break
        key = _phrase_key(p)
        action, target = "add", None
        for c in chosen:
            if c[2] == key or _contains(c[2], key):
                action = "skip"
                break
            if _contains(key, c[2]):
                action, target = ("replace" if s >= 0.5 * c[1] else "skip"), c
                break
        if action == "add":
            chosen.append([p, s, key])
        elif action == "replace":
            target[0], target[2] = p, key
    out: list[str] = []
    keys: list[tuple[str, ...]] = []
    for p, _s, key in chosen:
        if any(k == key or _contains(k, key) or _contains(key, k) for k in keys):
            continue
        out.append(p)
        keys.append(key)
    return out


def _stop_words() -> list[str]:
    global _STOP_WORDS
    if _STOP_WORDS is None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        _STOP_WORDS = sorted(set(ENGLISH_STOP_WORDS) | _NEWS_WORDS)
    return _STOP_WORDS


class _Keywords:
    """Class-based TF-IDF over 1-3-grams (English stop words removed), computed once per run."""

    def __init__(self, texts: Sequence[str]):
        from sklearn.feature_extraction.text import CountVectorizer

        docs = [t[:KEYWORD_CHARS] for t in texts]
        self.n = len(docs)
        kw = dict(ngram_range=(1, 3), stop_words=_stop_words(), token_pattern=_TOKEN, lowercase=True, dtype=np.float32)
        try:
            cv = CountVectorizer(min_df=2 if self.n >= 50 else 1, **kw)
            self.x = cv.fit_transform(docs).tocsr()
            self.terms = cv.get_feature_names_out()
        except ValueError:  # empty vocabulary (no words, only stop words)
            self.x, self.terms = None, np.array([], dtype=object)

    def top(self, groups: list[np.ndarray], n_keywords: int) -> list[list[str]]:
        """Keyphrases of each group of article rows: BERTopic's c-TF-IDF, tf(t,c)/|c| * log(1 + A/f(t)).

        Articles in no group form one more class, so words common everywhere are not distinctive.
        """
        import scipy.sparse as sp

        if self.x is None or not groups:
            return [[] for _ in groups]
        member = np.full(self.n, len(groups), dtype=np.int64)
        for i, g in enumerate(groups):
            member[g] = i
        ind = sp.csr_matrix((np.ones(self.n), (member, np.arange(self.n))), shape=(len(groups) + 1, self.n))
        tf = (ind @ self.x).tocsr()
        words = np.asarray(tf.sum(axis=1)).ravel()
        keep = words > 0
        f = np.asarray(tf.sum(axis=0)).ravel()
        avg = words[keep].mean() if keep.any() else 1.0
        idf = np.log1p(avg / np.maximum(f, 1e-12))
        out = []
        for i in range(len(groups)):
            a, b = tf.indptr[i], tf.indptr[i + 1]
            cols, vals = tf.indices[a:b], tf.data[a:b] / max(words[i], 1e-12) * idf[tf.indices[a:b]]
            # score desc, then term asc: deterministic ties
            order = np.lexsort((self.terms[cols], -np.round(vals, 12)))[: 4 * n_keywords + 10]
            out.append(_select_keywords([str(self.terms[cols[j]]) for j in order], vals[order].tolist(), n_keywords))
        return out


# --------------------------------------------------------------------------------------------- labels

_SEP = " · "
_SURFACE = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)


def label_words(label: str) -> list[str]:
    """The words of a label (the `` · `` separators are not words)."""
    return [w for w in label.split() if w != "·"]


def _surface_forms(texts: Sequence[str]) -> dict[str, str]:
    """lower-case word -> how ``texts`` spell it: lower case when at least a quarter of its uses are (common words
    capitalised in headlines stay lower case), else its most frequent spelling (ties: alphabetical)."""
    counts: dict[str, dict[str, int]] = {}
    for t in texts:
        for w in _SURFACE.findall(t):
            d = counts.setdefault(w.lower(), {})
            d[w] = d.get(w, 0) + 1
    out = {}
    for k, d in counts.items():
        out[k] = k if 4 * d.get(k, 0) >= sum(d.values()) else min(d.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return out


def _same_word(a: str, b: str) -> bool:
    """Equal, or one a short extension of the other ("iraq" / "iraqi", "iran" / "iranian")."""
    if a == b:
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 4 and long.startswith(short) and len(long) - len(short) <= 3


def _make_label(keywords: Sequence[str], forms: dict[str, str], skip: int = 0) -> str:
    """2-6 words: the top keyphrases (up to three) joined with `` · ``, spelled as in the articles."""
    parts: list[str] = []
    n_words = 0
    used: set[str] = set()
    for p in list(keywords)[skip:]:
        toks = p.split()
        stems = {_stem(t) for t in toks}
        if n_words + len(toks) > 6 or any(_same_word(a, b) for a in stems for b in used):
            continue
        parts.append(" ".join(forms.get(t, t) for t in toks))
        used |= {_stem(t) for t in toks}
        n_words += len(toks)
        if len(parts) == 3 or n_words >= 5:
            break
    return _SEP.join(parts)


def _unique_labels(keywords: list[list[str]], forms: list[dict[str, str]], fallback: list[str]) -> list[str]:
    """One label per group, all different; fallback words when there are no keywords."""
    labels = []
    for kws, fm, fb in zip(keywords, forms, fallback):
        lab = _make_label(kws, fm)
        if len(label_words(lab)) < 2:
            lab = (lab + _SEP + fb) if lab else fb
        labels.append(lab)
    for _ in range(3):  # disambiguate repeated labels with the next keyphrases
        seen: dict[str, list[int]] = {}
        for i, lab in enumerate(labels):
            seen.setdefault(lab.lower(), []).append(i)
        dups = [ix for ix in seen.values() if len(ix) > 1]
        if not dups:
            return labels
        for ix in dups:
            for rank, i in enumerate(ix[1:], start=1):
                alt = _make_label(keywords[i], forms[i], skip=rank)
                if len(label_words(alt)) >= 2 and alt.lower() not in seen:
                    labels[i] = alt
    seen_l: set[str] = set()
    for i, lab in enumerate(labels):
        base, k = lab, 2
        while lab.lower() in seen_l:
            words = label_words(base)
            lab = (base if len(words) < 6 else _SEP.join(base.split(_SEP)[:-1]) or fallback[i]) + f" ({k})"
            k += 1
        labels[i] = lab
        seen_l.add(lab.lower())
    return labels


# --------------------------------------------------------------------------------------------- ids


def _digest(s: str, n: int = 10) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()[:n]


def _match_previous(new: list[set[str]], old: list[tuple[str, set[str]]]) -> dict[int, str]:
    """Greedy one-to-one matching of new groups to earlier ones by Jaccard overlap (>= 1/3), best pairs first."""
    pairs = []
    for i, a in enumerate(new):
        for oid, b in old:
            inter = len(a & b)
            if inter:
                jac = inter / len(a | b)
                if jac >= 1 / 3:
                    pairs.append((-jac, -inter, i, oid))
    pairs.sort()
    got: dict[int, str] = {}
    used: set[str] = set()
    for _j, _k, i, oid in pairs:
        if i not in got and oid not in used:
            got[i] = oid
            used.add(oid)
    return got


def _assign_ids(groups: list[list[str]], prefix: str, old: list[tuple[str, set[str]]], taken: set[str]) -> list[str]:
    """Ids for groups (member ids in input order): an earlier group's id when one matches, else derived from the
    group's oldest member (first in input order), so adding a few articles does not renumber anything."""
    matched = _match_previous([set(g) for g in groups], old) if old else {}
    reserved = taken | set(matched.values())
    out = []
    for i, g in enumerate(groups):
        if i in matched:
            out.append(matched[i])
            continue
        gid, k = f"{prefix}{_digest(g[0])}", 2
        while gid in reserved:
            gid, k = f"{prefix}{_digest(g[0])}-{k}", k + 1
        reserved.add(gid)
        out.append(gid)
    return out


# --------------------------------------------------------------------------------------------- granularity

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


def _check(name: str, value, ok: bool, rule: str) -> None:
    if not ok:
        raise ClusterError(f"{name}={value!r} should be {rule}.")


def _silhouette_basis(x: np.ndarray, sums: np.ndarray, leaf: np.ndarray, random_state: int) -> tuple:
    """What every silhouette curve of one set of leaves needs: (scored rows' leaves, their similarity sums to each
    leaf, their self-similarities). Above ``SILHOUETTE_SAMPLE`` articles a fixed random sample of them is scored."""
    n = x.shape[0]
    if n > SILHOUETTE_SAMPLE:
        rows = np.sort(np.random.default_rng(random_state).choice(n, size=SILHOUETTE_SAMPLE, replace=False))
    else:
        rows = np.arange(n)
    p = x[rows].astype(np.float64) @ sums.T  # (s, m)
    return leaf[rows], p, np.einsum("ij,ij->i", x[rows], x[rows], dtype=np.float64)


def _silhouettes(basis: tuple, *, sizes: np.ndarray, merges: list, grid: np.ndarray) -> np.ndarray:
    """Mean cosine silhouette of the cut at each threshold of ``grid`` (sklearn's definition: a singleton scores
    0; a one-group cut scores -1 so it is never preferred to a real split).

    Exact from the leaf sums (``basis`` from :func:`_silhouette_basis`): the mean similarity of article i to group
    C is ``x_i . sum(C) / |C|`` (minus itself for its own group), so one (sample x leaves) product serves every cut
    of every tree on the same leaves. Cost O(sample * leaves * len(grid)).
    """
    import scipy.sparse as sp

    own_leaf, p, self_sim = basis
    m = len(sizes)
    r = np.arange(len(own_leaf))
    out = np.full(len(grid), -1.0)
    last_key, last_val = None, -1.0
    for gi, t in enumerate(grid):
        g = _cut(merges, m, t)
        k = int(g.max()) + 1
        key = (k, int(g[0]))
        if key == last_key:
            out[gi] = last_val
            continue
        if k == 1:
            last_key, last_val = key, -1.0
            continue
        csize = np.bincount(g, weights=sizes, minlength=k)
        ind = sp.csr_matrix((np.ones(m), (np.arange(m), g)), shape=(m, k))
        pk = np.asarray((ind.T @ p.T).T)  # (s, k): sum of similarities to each group
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
        out[gi] = last_val
    return out


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
            sums_t.append(sums.T.tocsr() if sp.issparse(xp) else sums.T.astype(np.float32))
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


def _story_cut(xs: np.ndarray, threshold: float, random_state: int) -> np.ndarray:
    """Groups of one theme's articles: its own group-average tree (on micro-clusters above ``MAX_LEAVES``
    articles) cut at ``threshold``."""
    leaf, sums, sizes = _leaves(xs, MAX_LEAVES, random_state)
    return _cut(_upgma(sums, sizes), len(sizes), threshold)[leaf]


def _theme_stories(item: tuple, t_story: float) -> list[np.ndarray]:
    """One theme's stories as lists of its local rows, largest first. ``item`` is (the theme's smoothed vectors,
    their cut of the global story tree or None above ``MAX_LEAVES`` articles, the seed of its own tree)."""
    xs_t, init, seed = item
    if init is None:  # micro-clusters are coarser than stories: each theme gets its own tree on its articles
        init = _story_cut(xs_t, t_story, seed)
    slab = _refine(xs_t, init, t_story, REFINE_ITERATIONS) if len(xs_t) > 1 else init
    free = slab < 0
    slab[free] = slab.max() + 1 + np.arange(int(free.sum()))  # articles in no story: a story each
    groups, _ = _dense_groups(slab, 1)
    return sorted(groups, key=lambda q: (-len(q), int(q.min())))


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


def _members(rows: np.ndarray, x: np.ndarray, ids: Sequence[str]) -> list[dict]:
    """Members with their cosine similarity to the group centre (normalised mean), most central first."""
    c = x[rows].sum(axis=0, dtype=np.float64)
    c /= max(float(np.linalg.norm(c)), 1e-12)
    sims = np.round(x[rows].astype(np.float64) @ c, 4)
    order = sorted(range(len(rows)), key=lambda j: (-sims[j], ids[rows[j]]))
    return [{"id": ids[rows[j]], "similarity": float(sims[j]) + 0.0} for j in order]


def cluster_articles(
    vectors: np.ndarray,
    texts: Sequence[str],
    ids: Sequence[str],
    *,
    titles: Sequence[str] | None = None,
    n_themes: int | None = None,
    threshold: float | None = None,
    story_threshold: float | None = None,
    min_size: int = 2,
    n_keywords: int = 10,
    random_state: int = 0,
    previous: dict | None = None,
    mapper=None,
) -> dict:
    """Group articles into themes and each theme into stories.

    Parameters
    ----------
    vectors : ndarray of shape (n_articles, dim)
        L2-normalised article vectors (renormalised here if they are not).
    texts, ids : sequences of length n_articles
        Article texts (for keywords) and unique article ids. The input order is taken as arrival order: a group's
        id derives from its first member.
    titles : sequence of length n_articles, optional
        Prepended to the texts for keywords.
    n_themes : int, optional
        Override: cut the merge tree into this many themes (of at least ``min_size`` articles).
    threshold : float, optional
        Override: theme cut as a mean pairwise theme similarity in [-1, 1] (``SNN_WEIGHT`` x fraction of shared
        neighbours + the rest x cosine similarity; the cosine alone under 30 articles). Exclusive with ``n_themes``.
    story_threshold : float, optional
        Override of the story cut inside every theme (mean pairwise cosine similarity).
    min_size : int
        Smallest theme; smaller groups are listed as unclustered.
    n_keywords : int
        Keyphrases per theme and per story.
    random_state : int
        Seed of the micro-clustering used above ``MAX_LEAVES`` articles.
    previous : dict, optional
        An earlier result of this function: themes (and stories) overlapping an earlier one keep its id.
    mapper : callable, optional
        ``mapper(fn, items, *shared) -> [fn(item, *shared) for item in items]``, the map that runs the
        independent pieces (micro-clustering blocks, each theme's stories); default a plain loop. An engine (Ray)
        passes its own; the result does not depend on it.

    Returns
    -------
    dict
        ``{"themes": [...], "unclustered": [ids], "params": {...}}``, JSON-ready and deterministic.
    """
    x = np.asarray(vectors)
    _check("vectors.ndim", getattr(x, "ndim", None), x.ndim == 2, "2 (n_articles, dim)")
    n = x.shape[0]
    _check("len(texts)", len(texts), len(texts) == n, f"equal to the number of vectors ({n})")
    _check("len(ids)", len(ids), len(ids) == n, f"equal to the number of vectors ({n})")
    if titles is not None:
        _check("len(titles)", len(titles), len(titles) == n, f"equal to the number of vectors ({n})")
    ids = [str(i) for i in ids]
    if len(set(ids)) != n:
        dup = sorted({i for i in ids if ids.count(i) > 1})[:3] if n < 10000 else "..."
        raise ClusterError(f"ids should be unique; repeated: {dup}.")
    if n_themes is not None:
        _check("n_themes", n_themes, isinstance(n_themes, (int, np.integer)) and not isinstance(n_themes, bool)
               and n_themes >= 1, ">= 1")
    for name, v in (("threshold", threshold), ("story_threshold", story_threshold)):
        if v is not None:
            _check(name, v, isinstance(v, (int, float, np.floating)) and math.isfinite(v) and -1 <= v <= 1,
                   "a similarity in [-1, 1]")
    if n_themes is not None and threshold is not None:
        raise ClusterError(f"n_themes={n_themes} and threshold={threshold} should not both be set.")
    _check("min_size", min_size, isinstance(min_size, (int, np.integer)) and min_size >= 1, ">= 1")
    _check("n_keywords", n_keywords, isinstance(n_keywords, (int, np.integer)) and n_keywords >= 1, ">= 1")
    if previous is not None and not (isinstance(previous, dict) and isinstance(previous.get("themes"), list)):
        raise ClusterError("previous should be a clusters dict with a 'themes' list.")
    if n and not np.all(np.isfinite(x)):
        raise ClusterError("vectors should be finite (found NaN or inf).")

    x = x.astype(np.float32, copy=True)
    if n:
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    params: dict = {"method": "group-average agglomerative clustering on shared-nearest-neighbour and cosine "
                              "similarity",
                    "n_articles": n, "min_size": int(min_size)}
    if n < max(2, min_size):
        warnings.warn(f"only {n} article(s): nothing to cluster, all listed as unclustered.", stacklevel=2)
        params.update(theme_threshold=None, story_threshold=None, chosen_by="too few articles")
        return {"themes": [], "unclustered": list(ids), "params": params}

    # ---- shared neighbourhoods: each article's nearest neighbours, found on vectors smoothed over a few
    # neighbours (which steadies the lists); the story tree is built on those smoothed vectors too
    x_raw = x
    n_leaves = min(n, max(MAX_LEAVES, min(LEAVES_CAP, n // LEAF_SIZE)))
    leaf, raw_sums, sizes = _leaves(x, n_leaves, random_state, mapper)
    m = len(sizes)
    k_story = max(1, min(STORY_SMOOTH_K, n // 10))
    xs = _smooth(x_raw, k_story, leaf, raw_sums)
    k_snn = max(1, min(SNN_K, n // 10))
    # the theme similarity: SNN_WEIGHT x the fraction of shared neighbours + the rest x the cosine similarity (which
    # orders the merges of groups sharing no neighbour); below 3 neighbours (under 30 articles) a shared list says
    # little and the cosine is used alone
    if k_snn >= 3:
        v = [(_snn(_knn(xs, k_snn, leaf, raw_sums)), SNN_WEIGHT), (x_raw, 1.0 - SNN_WEIGHT)]
    else:
        v = [(x_raw, 1.0)]

    # ---- themes: a cut of the group-average tree on shared-neighbour similarity, polished
    merges = _upgma([(raw_sums if vp is x_raw else _group_sums(leaf, m, vp), w) for vp, w in v], sizes)
    grid = np.round(np.arange(GRID_STEP, 1.0, GRID_STEP), 4)
    # the tree is built on shared neighbours, but a cut is judged on the articles' own vectors
    basis = _silhouette_basis(x_raw, raw_sums, leaf, random_state)  # shared by the theme and story curves
    sil = (_silhouettes(basis, sizes=sizes, merges=merges, grid=grid)
           if n_themes is None and threshold is None else None)
    if n_themes is not None:
        n_merges = _prefix_for(merges, sizes, int(n_themes), min_size)
        t_theme = merges[n_merges - 1][0] if n_merges else 1.0
        g = _cut(merges[:n_merges], m, -np.inf)[leaf]
        chosen = f"n_themes={int(n_themes)} given"
    else:
        if threshold is not None:
            t_theme, chosen = float(threshold), f"threshold={threshold} given"
        else:
            best = int(np.argmax(sil))
            t_theme = float(grid[best])
            chosen = f"auto: best mean silhouette ({sil[best]:.4f}) over thresholds {GRID_STEP:g} apart"
        g = _cut(merges, m, t_theme)[leaf]
    groups0, _ = _dense_groups(g, min_size)
    lab = np.full(n, -1)
    for j, rows in enumerate(groups0):
        lab[rows] = j
    if n_themes is None:  # with n_themes the count is the contract: no polish that could dissolve a theme
        # out when an article shares too few neighbours with every theme; then each theme member goes to the
        # theme its own vector is most similar to on average (the same group-average rule, on the raw vectors)
        lab = _refine(v, lab, t_theme, REFINE_ITERATIONS)
        lab = _refine(x_raw, lab, -np.inf, REFINE_ITERATIONS, keep_out=True)
    theme_rows, rest = _dense_groups(lab, min_size)
    if len(theme_rows) == 0:
        warnings.warn("no theme found: all articles listed as unclustered.", stacklevel=2)

    # ---- stories: a second tree, on the smoothed vectors (cosine), with its own silhouette curve, nested in the themes
    s_merges = _upgma(_group_sums(leaf, m, xs), sizes)
    if story_threshold is not None:
        t_story, story_how = float(story_threshold), f"story_threshold={story_threshold} given"
    else:
        s_sil = _silhouettes(basis, sizes=sizes, merges=s_merges, grid=grid)
        sb = int(np.argmax(s_sil))
        top = float(s_sil[sb])
        ok = np.flatnonzero((grid >= grid[sb] - 1e-9) & (s_sil >= STORY_SILHOUETTE_RATIO * top))
        t_story = float(grid[ok[-1]]) if len(ok) else float(grid[sb])
        story_how = (f"auto: finest cut of the story tree ({k_story} neighbours averaged) with silhouette >= "
                     f"{STORY_SILHOUETTE_RATIO} x its best ({top:.4f})")
    gs = _cut(s_merges, m, t_story)[leaf] if n <= MAX_LEAVES else None
    # themes are independent: one map item each (Ray tasks on the Ray engine)
    found = (mapper or _map_here)(_theme_stories, [(xs[rows], None if gs is None else gs[rows], random_state + ti)
                                                   for ti, rows in enumerate(theme_rows)], t_story)
    story_rows: list[list[np.ndarray]] = [[rows[q] for q in groups] for rows, groups in zip(theme_rows, found)]

    # ---- keywords and labels (one c-TF-IDF pass; above KEYWORD_SAMPLE articles, each story's most central
    # articles in proportion, so the text work stays bounded)
    flat_stories = [s for stories in story_rows for s in stories]
    members_t = [_members(r, x_raw, ids) for r in theme_rows]
    members_s = [_members(r, x_raw, ids) for r in flat_stories]
    index = {a: i for i, a in enumerate(ids)}
    docs = [f"{titles[i]}\n{texts[i]}" if titles is not None and titles[i] else str(texts[i]) for i in range(n)]
    if n <= KEYWORD_SAMPLE:
        sub = np.arange(n)
    else:
        frac = KEYWORD_SAMPLE / n
        pick = [index[a["id"]] for ms in members_s for a in ms[: max(1, math.ceil(frac * len(ms)))]]
        pick += rest[:: max(1, math.ceil(1 / frac))].tolist()
        sub = np.unique(np.asarray(pick, dtype=np.int64))
    pos = np.full(n, -1)
    pos[sub] = np.arange(len(sub))

    def local(rows: np.ndarray) -> np.ndarray:
        p_ = pos[rows]
        return p_[p_ >= 0]

    kw = _Keywords([docs[i] for i in sub])
    theme_kw = kw.top([local(r) for r in theme_rows], n_keywords)
    story_kw = kw.top([local(r) for r in flat_stories], n_keywords)

    # ---- ids (oldest member first), matching earlier themes when given
    def in_order(rows: np.ndarray) -> list[str]:
        return [ids[i] for i in sorted(rows.tolist())]

    old_themes = [(t["id"], {a["id"] for a in t.get("articles", [])}) for t in (previous or {}).get("themes", [])]
    theme_ids = _assign_ids([in_order(r) for r in theme_rows], "theme-", old_themes, set())
    old_story = {t["id"]: [(s["id"], {a["id"] for a in s.get("articles", [])}) for s in t.get("stories", [])]
                 for t in (previous or {}).get("themes", [])}
    all_old_story_ids = {sid for v in old_story.values() for sid, _ in v}

    themes = []
    k = 0
    taken_story: set[str] = set()

    def forms_of(member_list: list[dict]) -> dict[str, str]:
        return _surface_forms([docs[index[m["id"]]][:KEYWORD_CHARS] for m in member_list[:5]])

    theme_labels = _unique_labels(theme_kw, [forms_of(m) for m in members_t],
                                  [f"theme {tid[-4:]}" for tid in theme_ids])
    story_labels = _unique_labels(story_kw, [forms_of(m) for m in members_s],
                                  [f"story {j + 1}" for j in range(len(flat_stories))])
    for ti, rows in enumerate(theme_rows):
        stories = story_rows[ti]
        sids = _assign_ids([in_order(s) for s in stories], "story-", old_story.get(theme_ids[ti], []),
                           taken_story | (all_old_story_ids - {sid for sid, _ in old_story.get(theme_ids[ti], [])}))
        taken_story.update(sids)
        st = []
        for si in range(len(stories)):
            st.append({"id": sids[si], "label": story_labels[k], "keywords": story_kw[k], "size": len(stories[si]),
                       "articles": members_s[k]})
            k += 1
        st.sort(key=lambda s: (-s["size"], s["id"]))
        themes.append({"id": theme_ids[ti], "label": theme_labels[ti], "keywords": theme_kw[ti],
                       "size": int(len(rows)), "articles": members_t[ti], "stories": st})
    themes.sort(key=lambda t: (-t["size"], t["id"]))
    params.update(
        theme_threshold=round(float(t_theme), 4),
        chosen_by=chosen,
        story_threshold=round(float(t_story), 4), story_chosen_by=story_how,
        n_leaves=m, shared_neighbours=k_snn if k_snn >= 3 else None,
        shared_neighbour_weight=SNN_WEIGHT if k_snn >= 3 else 0.0,
        story_smoothing_neighbours=k_story,
        n_themes=len(themes), n_unclustered=int(len(rest)),
    )
    unclustered = [ids[i] for i in sorted(rest.tolist())]
    return {"themes": themes, "unclustered": unclustered, "params": params}
