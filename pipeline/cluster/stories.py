"""Stories: the events inside one theme.

The story similarity of two articles of a theme is their cosine similarity plus two corrections::

    sim(i, j) = cos(xs_i, xs_j)                                      # smoothed article vectors (what they say)
              + STORY_ENTITY_WEIGHT * (cos(e_i, e_j) - ENTITY_NEUTRAL)  # names, places, numbers (TF-IDF)
              + STORY_TIME_WEIGHT * (k(t_i - t_j) - TIME_NEUTRAL)        # the dates

with ``k(dt) = exp(-dt^2 / (2 w^2))``, a Gaussian bump of width ``w = TIME_WIDTH_DAYS`` days: articles of one event
are close in time, as in the Priberam stream clusterer (Miranda et al. 2018), whose similarity decays with time.
A correction counts only when both articles have what it needs (entities; dates): otherwise it is 0, *neutral*,
and the similarity is the cosine alone -- so text without names or dates is cut on its vectors, at the same
threshold. Sharing more names than ``ENTITY_NEUTRAL`` (between ECB+'s same-topic-other-event mean 0.11 and its
same-event mean 0.39) pulls two articles together, fewer pushes them apart; likewise dates closer than about
``1.2 w`` (where ``k = TIME_NEUTRAL``) or further.

Every term is a dot product of per-article feature vectors (the time kernel through Gaussian features on a fixed
grid of days), so the mean similarity of two groups is a dot product of their feature sums: each theme gets its
own group-average tree on its articles (on micro-clusters above ``MAX_LEAVES`` articles), cut at
``STORY_THRESHOLD``, and polished by the same group-average rule (an article fitting no story at the threshold
becomes a story of its own). The same rule places a new article of an update (:mod:`pipeline.cluster.place`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import numpy as np

from pipeline.cluster import tree
from pipeline.cluster.cuts import REFINE_ITERATIONS, _refine
from pipeline.cluster.tree import _cut, _group_sums, _leaves, _upgma

#: Weight of the entity correction (the cosine of the entity TF-IDF vectors, centred on ``ENTITY_NEUTRAL``).
STORY_ENTITY_WEIGHT = 0.75
#: The entity cosine that counts as neutral.
ENTITY_NEUTRAL = 0.2
#: Weight of the time correction (the time kernel, centred on ``TIME_NEUTRAL``).
STORY_TIME_WEIGHT = 0.2
#: Width (standard deviation) of the Gaussian time kernel, in days.
TIME_WIDTH_DAYS = 7.0
#: The time kernel's value that counts as neutral: closer in time adds to the similarity, further subtracts.
TIME_NEUTRAL = 0.5
#: Story cut: the smallest mean story similarity at which two groups of one theme merge.
STORY_THRESHOLD = 0.9
#: Gaussian time features: centres every ``TIME_WIDTH_DAYS * _GRID`` days, kept within ``_REACH`` widths.
_GRID = 0.5
_REACH = 3.5


def parse_days(dates: Sequence[str | None] | None, n: int) -> np.ndarray:
    """Days since 1970-01-01 of ISO dates or date-times (``"2017-02-07"``, ``"2017-02-07T10:00:00Z"``); NaN where
    missing or unreadable."""
    out = np.full(n, np.nan)
    if dates is None:
        return out
    epoch = date(1970, 1, 1)
    for i, d in enumerate(dates):
        if not d:
            continue
        s = str(d).strip().replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(s)
            out[i] = (dt.date() - epoch).days + (dt.hour * 3600 + dt.minute * 60 + dt.second) / 86400.0
        except ValueError:
            try:
                out[i] = (date.fromisoformat(s[:10]) - epoch).days
            except ValueError:
                continue
    return out


def time_features(days: np.ndarray, width: float = TIME_WIDTH_DAYS):
    """(n, n_centres) sparse rows whose dot products approximate ``exp(-dt^2 / (2 w^2))`` for two dated articles
    (0 for an undated one): Gaussian bumps of width ``w / sqrt(2)`` on an absolute grid of days, rows normalised."""
    import scipy.sparse as sp

    w = width
    step = w * _GRID
    n = len(days)
    dated = np.flatnonzero(np.isfinite(days))
    if len(dated) == 0:
        return sp.csr_matrix((n, 1))
    lo = np.floor((days[dated].min() - _REACH * w) / step)
    reach = int(np.ceil(_REACH * w / step))
    rows, cols, vals = [], [], []
    for i in dated:
        c0 = int(np.floor(days[i] / step - lo))
        cs = np.arange(c0 - reach, c0 + reach + 2)
        v = np.exp(-((days[i] - (cs + lo) * step) ** 2) / (w * w))
        v /= np.linalg.norm(v)
        rows += [i] * len(cs)
        cols += cs.tolist()
        vals += v.tolist()
    width = int(np.floor((days[dated].max() + _REACH * w) / step - lo)) + reach + 3
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, width))


def story_weights() -> dict:
    """The story similarity's constants (saved with a run, so an update places articles by the same rule)."""
    return {"entity_weight": STORY_ENTITY_WEIGHT, "entity_neutral": ENTITY_NEUTRAL, "time_weight": STORY_TIME_WEIGHT,
            "time_neutral": TIME_NEUTRAL, "time_width_days": TIME_WIDTH_DAYS}


def story_parts(xs: np.ndarray, ents, days: np.ndarray, weights: dict | None = None) -> list[tuple[object, float]]:
    """The story similarity as ``[(features, weight), ...]``: ``sim(i, j) = sum(w * f_i . f_j)``."""
    w = weights or story_weights()
    parts: list[tuple[object, float]] = [(xs, 1.0)]
    has = np.asarray(ents.getnnz(axis=1) > 0)
    if w["entity_weight"] and has.any():
        parts.append((ents, w["entity_weight"]))
        parts.append((has.astype(np.float64)[:, None], -w["entity_weight"] * w["entity_neutral"]))
    dated = np.isfinite(days)
    if w["time_weight"] and dated.any():
        parts.append((time_features(days, w["time_width_days"]), w["time_weight"]))
        parts.append((dated.astype(np.float64)[:, None], -w["time_weight"] * w["time_neutral"]))
    return parts


def theme_stories(parts: list[tuple[object, float]], xs: np.ndarray, threshold: float,
                  random_state: int) -> list[np.ndarray]:
    """Stories of one theme's articles (rows of ``parts``), largest first: its group-average tree cut at
    ``threshold``, polished; an article fitting no story is a story of its own."""
    n = xs.shape[0]
    if n == 1:
        return [np.zeros(1, dtype=np.int64)]
    leaf, _sums, sizes = _leaves(xs, tree.MAX_LEAVES, random_state)
    m = len(sizes)
    sums = [(p if m == n else _group_sums(leaf, m, p), w) for p, w in parts]
    init = _cut(_upgma(sums, sizes), m, threshold)[leaf]
    lab = _refine(parts, init, threshold, REFINE_ITERATIONS)
    free = lab < 0
    lab[free] = lab.max() + 1 + np.arange(int(free.sum()))
    groups: dict[int, list[int]] = {}
    for i, g in enumerate(lab.tolist()):
        groups.setdefault(g, []).append(i)
    return sorted((np.asarray(g) for g in groups.values()), key=lambda q: (-len(q), int(q.min())))


def mean_similarity(parts_new: list[tuple[object, float]], parts_group: list[tuple[object, float]]) -> np.ndarray:
    """(n_new,) mean story similarity of each new row to a group's rows (same part order in both lists)."""
    import scipy.sparse as sp

    total = None
    for (a, w), (b, _w) in zip(parts_new, parts_group):
        s = b.sum(axis=0)
        s = np.asarray(s, dtype=np.float64).ravel()
        d = a @ s if not sp.issparse(a) else a.dot(s)
        d = np.asarray(d, dtype=np.float64).ravel() * w
        total = d if total is None else total + d
    n_group = parts_group[0][0].shape[0]
    return total / max(n_group, 1)
