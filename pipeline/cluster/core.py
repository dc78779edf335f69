"""``cluster_articles``: the orchestration of the theme tree, the story trees, keywords, labels and ids.

How themes and stories are found (README paragraph)
---------------------------------------------------
Themes and stories are cuts of **group-average (UPGMA) merge trees**. (1) *Neighbours*: each article's 15 nearest
neighbours (at most a tenth of the articles; UMAP's and so BERTopic's default neighbourhood), taken on vectors
smoothed over 5 neighbours (the mean of each article's nearest vectors, which steadies the lists). (2) *Theme tree*:
two articles are as similar as 0.75 x the fraction of neighbours they share (**shared-nearest-neighbour**
similarity, Jarvis & Patrick 1973; Ertoz et al. 2003) + 0.25 x their cosine similarity, less the **date term**
when both are dated (:mod:`pipeline.cluster.dates`: 0.01 x (dt / 1 year)^2, so nothing within months, 0.25 at five
years, 1 at ten; ``theme_date_horizon``, None = off). Group-average linkage on
group sums: up to 2,000 articles every article is a leaf; above, spherical k-means micro-clusters are the leaves,
so no articles x articles matrix is ever built. Under 30 articles the tree is on cosine similarity alone (and dates).
(3) *Automatic theme cut*: the coarsest threshold on a 0.01 grid whose mean **silhouette** on the articles' own
vectors (cosine, plus the date term) is within one standard error of the best (``THEME_ONE_SE``). (4) *Polish*: an article whose mean theme similarity to every theme is below
the cut is left out (unclustered); then each member moves to the theme its own vector is most similar to on average
(cosine plus the date term).
(5) *Stories* (:mod:`pipeline.cluster.stories`): inside each theme, a group-average tree on the **story
similarity** -- smoothed-vector cosine + shared names, places and numbers (entity TF-IDF) + a Gaussian time kernel
on the articles' dates -- cut at a fixed threshold measured on ECB+, polished the same way.
Groups smaller than ``min_size`` are listed as unclustered, never dropped. Keywords are c-TF-IDF
(:mod:`pipeline.cluster.keywords`); ids derive from a group's oldest member or carry over from ``previous``
(:mod:`pipeline.cluster.ids`). ``return_state=True`` also returns what :func:`pipeline.cluster.place.place`
needs to put an update's new articles into these themes and stories by the same rules.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from pipeline.cluster import stories, tree
from pipeline.cluster.cuts import GRID_STEP, REFINE_ITERATIONS, _dense_groups, _refine, _silhouette_basis, _silhouettes
from pipeline.cluster.dates import THEME_DATE_HORIZON_DAYS, date_parts
from pipeline.cluster.entities import EntityVectors, exclude_words
from pipeline.cluster.errors import ClusterError, _check
from pipeline.cluster.ids import _assign_ids
from pipeline.cluster.keywords import KEYWORD_CHARS, _Keywords, _surface_forms, _unique_labels
from pipeline.cluster.stories import STORY_THRESHOLD, parse_days
from pipeline.cluster.tree import _cut, _group_sums, _knn, _leaves, _prefix_for, _smooth_from, _snn, _upgma

#: Nearest neighbours per article whose overlap is the theme tree's similarity (capped at a tenth of the articles);
#: 15 is UMAP's (and so BERTopic's) default neighbourhood size.
SNN_K = 15
#: Weight of the shared-neighbour fraction in the theme similarity; the cosine similarity has the rest (any weight
#: from 0.6 to 0.97 gives the same ECB+ and MultiLing themes within 0.013 ARI: ``benchmarks/cluster_ablation.py``).
SNN_WEIGHT = 0.75
#: Neighbours averaged per article before the story tree and before the theme tree's neighbour lists are taken.
STORY_SMOOTH_K = 5
#: The automatic theme cut takes the coarsest threshold within one standard error of the best mean silhouette
#: (False: the best itself). ECB+ has two near-equal silhouette peaks, topics (52 themes) and events (72): on
#: passage vectors the best flipped between them when 1.4% of the articles' passages changed (docs/notes/cluster.md).
THEME_ONE_SE = True
#: The grid's lowest threshold (the tree's root split) is not a candidate for the automatic cut: there the curve
#: has no left neighbour, so a best there is not a peak. On news2017's passage vectors the root split (2 groups,
#: "politics" vs the rest) scored 0.0978 against 0.0929 at ~370 groups.
THEME_SKIP_EDGE = True


def _members(rows: np.ndarray, x: np.ndarray, ids: Sequence[str]) -> list[dict]:
    """Members with their cosine similarity to the group centre (normalised mean), most central first."""
    c = x[rows].sum(axis=0, dtype=np.float64)
    c /= max(float(np.linalg.norm(c)), 1e-12)
    sims = np.round(x[rows].astype(np.float64) @ c, 4)
    order = sorted(range(len(rows)), key=lambda j: (-sims[j], ids[rows[j]]))
    return [{"id": ids[rows[j]], "similarity": float(sims[j]) + 0.0} for j in order]


def _validate(x, texts, ids, titles, dates, n_themes, threshold, story_threshold, min_size, n_keywords,
              previous, theme_date_horizon=None) -> list[str]:
    _check("vectors.ndim", getattr(x, "ndim", None), x.ndim == 2, "2 (n_articles, dim)")
    n = x.shape[0]
    for name, seq in (("texts", texts), ("ids", ids), ("titles", titles), ("dates", dates)):
        if seq is not None:
            _check(f"len({name})", len(seq), len(seq) == n, f"equal to the number of vectors ({n})")
    ids = [str(i) for i in ids]
    if len(set(ids)) != n:
        dup = sorted({i for i in ids if ids.count(i) > 1})[:3] if n < 10000 else "..."
        raise ClusterError(f"ids should be unique; repeated: {dup}.")
    if n_themes is not None:
        _check("n_themes", n_themes, isinstance(n_themes, (int, np.integer)) and not isinstance(n_themes, bool)
               and n_themes >= 1, ">= 1")
    for name, v, lo, hi in (("threshold", threshold, -1, 1), ("story_threshold", story_threshold, -2, 3)):
        if v is not None:
            _check(name, v, isinstance(v, (int, float, np.floating)) and math.isfinite(v) and lo <= v <= hi,
                   f"a similarity in [{lo}, {hi}]")
    if n_themes is not None and threshold is not None:
        raise ClusterError(f"n_themes={n_themes} and threshold={threshold} should not both be set.")
    if theme_date_horizon is not None:
        _check("theme_date_horizon", theme_date_horizon, isinstance(theme_date_horizon, (int, float, np.floating))
               and math.isfinite(theme_date_horizon) and theme_date_horizon >= 0, "a number of days >= 0 (0: off)")
    _check("min_size", min_size, isinstance(min_size, (int, np.integer)) and min_size >= 1, ">= 1")
    _check("n_keywords", n_keywords, isinstance(n_keywords, (int, np.integer)) and n_keywords >= 1, ">= 1")
    if previous is not None and not (isinstance(previous, dict) and isinstance(previous.get("themes"), list)):
        raise ClusterError("previous should be a clusters dict with a 'themes' list.")
    if n and not np.all(np.isfinite(x)):
        raise ClusterError("vectors should be finite (found NaN or inf).")
    return ids


class _Space:
    """The shared geometry of one run: raw and smoothed vectors, leaves, neighbour lists, the theme similarity."""

    def __init__(self, x: np.ndarray, random_state: int, mapper=None, days: np.ndarray | None = None,
                 date_horizon: float | None = None):
        n = x.shape[0]
        self.x = x
        n_leaves = min(n, max(tree.MAX_LEAVES, min(tree.LEAVES_CAP, n // tree.LEAF_SIZE)))
        self.leaf, self.sums, self.sizes = _leaves(x, n_leaves, random_state, mapper)
        self.k_story = max(1, min(STORY_SMOOTH_K, n // 10))
        self.knn_story = _knn(x, self.k_story, self.leaf, self.sums) if self.k_story > 1 else np.arange(n)[:, None]
        self.xs = _smooth_from(x, self.knn_story)
        self.k_snn = max(1, min(SNN_K, n // 10))
        if self.k_snn >= 3:  # below 3 neighbours (under 30 articles) a shared list says little: cosine alone
            self.knn_snn = _knn(self.xs, self.k_snn, self.leaf, self.sums)
            self.v = [(_snn(self.knn_snn), SNN_WEIGHT), (x, 1.0 - SNN_WEIGHT)]
        else:
            self.knn_snn = np.zeros((n, 0), dtype=np.int64)
            self.v = [(x, 1.0)]
        #: the date term (:mod:`pipeline.cluster.dates`) as (column, weight) parts; [] when off or undated
        self.dates = date_parts(days if days is not None else np.full(n, np.nan), date_horizon)
        self.v = self.v + self.dates

    @property
    def m(self) -> int:
        return len(self.sizes)


def _themes(sp_: _Space, n_themes, threshold, min_size: int, random_state: int):
    """(rows of each theme, unclustered rows, theme threshold, how it was chosen)."""
    x, leaf, m = sp_.x, sp_.leaf, sp_.m
    merges = _upgma([(sp_.sums if vp is x else _group_sums(leaf, m, vp), w) for vp, w in sp_.v], sp_.sizes)
    if n_themes is not None:
        n_merges = _prefix_for(merges, sp_.sizes, int(n_themes), min_size)
        t_theme = merges[n_merges - 1][0] if n_merges else 1.0
        g = _cut(merges[:n_merges], m, -np.inf)[leaf]
        chosen = f"n_themes={int(n_themes)} given"
    elif threshold is not None:
        t_theme, chosen = float(threshold), f"threshold={threshold} given"
        g = _cut(merges, m, t_theme)[leaf]
    else:
        grid = np.round(np.arange(GRID_STEP, 1.0, GRID_STEP), 4)
        # the cut is judged on the articles' own vectors (and their dates)
        basis = _silhouette_basis(x, sp_.sums, leaf, random_state,
                                  [(f, _group_sums(leaf, m, f), w) for f, w in sp_.dates])
        sil, se = _silhouettes(basis, sizes=sp_.sizes, merges=merges, grid=grid, with_se=True)
        inner = sil.copy()
        inner[:1] = -np.inf if THEME_SKIP_EDGE and len(inner) > 1 else inner[:1]
        top = int(np.argmax(inner))
        # themes are the coarse level (stories split them): the coarsest cut whose mean silhouette is within one
        # standard error of the best (Breiman's one-standard-error rule), so two near-equal peaks -- topics and
        # events -- do not flip on noise
        best = int(np.flatnonzero(inner >= sil[top] - se[top])[0]) if THEME_ONE_SE else top
        t_theme = float(grid[best])
        chosen = (f"auto: coarsest cut within one standard error ({se[top]:.4f}) of the best mean silhouette "
                  f"({sil[top]:.4f}): {sil[best]:.4f}, thresholds {GRID_STEP:g} apart")
        g = _cut(merges, m, t_theme)[leaf]
    groups0, _ = _dense_groups(g, min_size)
    lab = np.full(x.shape[0], -1)
    for j, rows in enumerate(groups0):
        lab[rows] = j
    if n_themes is None:  # with n_themes the count is the contract: no polish that could dissolve a theme
        lab = _refine(sp_.v, lab, t_theme, REFINE_ITERATIONS)
        lab = _refine([(x, 1.0)] + sp_.dates, lab, -np.inf, REFINE_ITERATIONS, keep_out=True)
    theme_rows, rest = _dense_groups(lab, min_size)
    return theme_rows, rest, t_theme, chosen


def _theme_stories(item: tuple, t_story: float) -> list[np.ndarray]:
    """One map item of :func:`_stories`: (the theme's story features, its story vectors, its seed)."""
    sub, xs_t, seed = item
    return stories.theme_stories(sub, xs_t, t_story, seed)


def _stories(sp_: _Space, theme_rows, ents, days, t_story: float, random_state: int, mapper=None):
    """(stories of each theme as row arrays, (n, EVENT_SMOOTH_K) rows averaged into each story vector; -1 = none).

    Each theme's features are made here; its story tree and polish (the cost) are one map item (a Ray task on the
    Ray engine)."""
    k = stories.EVENT_SMOOTH_K
    knn_event = np.full((sp_.x.shape[0], k), -1, dtype=np.int64)
    items = []
    for ti, rows in enumerate(theme_rows):
        e = stories.reweight(ents[rows], stories.theme_idf(ents[rows]))
        if len(rows) <= tree.MAX_LEAVES:
            nn = rows[stories.event_neighbours(sp_.x[rows], e, days[rows])]
        else:  # no theme x theme matrix: the run's cosine-smoothed neighbours
            nn = sp_.knn_story[rows][:, :k]
        knn_event[rows, : nn.shape[1]] = nn
        xs = _smooth_from(sp_.x, knn_event[rows])
        items.append((stories.story_parts(xs, e, days[rows]), xs, random_state + ti))
    found = (mapper or tree._map_here)(_theme_stories, items, t_story)
    return [[rows[q] for q in groups] for rows, groups in zip(theme_rows, found)], knn_event


def cluster_articles(
    vectors: np.ndarray,
    texts: Sequence[str],
    ids: Sequence[str],
    *,
    titles: Sequence[str] | None = None,
    dates: Sequence[str | None] | None = None,
    exclude_terms: Sequence[str] = (),
    n_themes: int | None = None,
    threshold: float | None = None,
    story_threshold: float | None = None,
    min_size: int = 2,
    n_keywords: int = 10,
    random_state: int = 0,
    theme_date_horizon: float | None = THEME_DATE_HORIZON_DAYS,
    previous: dict | None = None,
    return_state: bool = False,
    mapper=None,
):
    """Group articles into themes and each theme into stories.

    Parameters
    ----------
    vectors : ndarray of shape (n_articles, dim)
        L2-normalised article vectors (renormalised here if they are not).
    texts, ids : sequences of length n_articles
        Article content texts (for keywords and entities) and unique article ids. The input order is taken as
        arrival order: a group's id derives from its first member.
    titles : sequence of length n_articles, optional
        Prepended to the texts for keywords and entities.
    dates : sequence of length n_articles, optional
        ISO dates (or date-times) of the articles, ``None`` where unknown: the stories' time kernel and the
        themes' date term.
    exclude_terms : sequence of str
        Outlet names: their words are never keywords, labels or entities.
    n_themes : int, optional
        Override: cut the theme tree into this many themes (of at least ``min_size`` articles).
    threshold : float, optional
        Override: theme cut as a mean pairwise theme similarity in [-1, 1]. Exclusive with ``n_themes``.
    story_threshold : float, optional
        Override of the story cut (mean story similarity, default ``STORY_THRESHOLD``).
    min_size, n_keywords, random_state, previous
        Smallest theme; keyphrases per group; seed of the micro-clustering; an earlier result whose ids carry over.
    theme_date_horizon : float or None
        Horizon ``H`` in days of the theme date term (:mod:`pipeline.cluster.dates`): two dated articles ``dt``
        days apart lose ``(dt / H) ** 4`` of theme similarity (default one year); None or 0: themes ignore dates.
    return_state : bool
        Also return the :class:`pipeline.cluster.place.PlacementState` of this result.
    mapper : callable, optional
        ``mapper(fn, items, *shared)``: ``fn(item, *shared)`` of every item, in item order (an iterable); the map
        that runs the independent pieces (micro-clustering blocks, each theme's stories). Default: a plain loop. An
        engine (Ray) passes its own; the result does not depend on it.

    Returns
    -------
    dict, or (dict, PlacementState) with ``return_state``
        ``{"themes": [...], "unclustered": [ids], "params": {...}}``, JSON-ready and deterministic.
    """
    x = np.asarray(vectors)
    ids = _validate(x, texts, ids, titles, dates, n_themes, threshold, story_threshold, min_size, n_keywords,
                    previous, theme_date_horizon)
    n = x.shape[0]
    x = x.astype(np.float32, copy=True)
    if n:
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    docs = [f"{titles[i]}\n{texts[i]}" if titles is not None and titles[i] else str(texts[i]) for i in range(n)]
    exclude = exclude_words(exclude_terms)
    days = parse_days(dates, n)
    params: dict = {"method": "group-average agglomerative clustering on shared-nearest-neighbour and cosine "
                              "similarity; stories on vector, entity and time similarity",
                    "n_articles": n, "min_size": int(min_size)}
    if n < max(2, min_size):
        warnings.warn(f"only {n} article(s): nothing to cluster, all listed as unclustered.", stacklevel=2)
        params.update(theme_threshold=None, story_threshold=None, chosen_by="too few articles")
        result = {"themes": [], "unclustered": list(ids), "params": params}
        return (result, None) if return_state else result
    horizon = float(theme_date_horizon) if theme_date_horizon else None
    space = _Space(x, random_state, mapper, days, horizon)
    theme_rows, rest, t_theme, chosen = _themes(space, n_themes, threshold, min_size, random_state)
    if len(theme_rows) == 0:
        warnings.warn("no theme found: all articles listed as unclustered.", stacklevel=2)
    entities, ents = EntityVectors.fit(docs, exclude)
    t_story = float(story_threshold) if story_threshold is not None else STORY_THRESHOLD
    story_rows, knn_event = _stories(space, theme_rows, ents, days, t_story, random_state, mapper)
    themes = _describe(theme_rows, story_rows, rest, x, docs, ids, exclude, n_keywords, previous)
    params.update(
        theme_threshold=round(float(t_theme), 4), chosen_by=chosen,
        story_threshold=round(t_story, 4),
        story_chosen_by="story_threshold given" if story_threshold is not None else "fixed (measured on ECB+)",
        n_leaves=space.m, shared_neighbours=space.k_snn if space.k_snn >= 3 else None,
        shared_neighbour_weight=SNN_WEIGHT if space.k_snn >= 3 else 0.0,
        story_smoothing_neighbours=space.k_story, dated_articles=int(np.isfinite(days).sum()),
        theme_date_horizon_days=horizon,
        n_themes=len(themes), n_unclustered=int(len(rest)),
    )
    result = {"themes": themes, "unclustered": [ids[i] for i in sorted(rest.tolist())], "params": params}
    if not return_state:
        return result
    from pipeline.cluster.place import PlacementState

    return result, PlacementState.build(result, ids, space, knn_event, entities, ents, days, t_theme, t_story)


def _describe(theme_rows, story_rows, rest, x, docs, ids, exclude, n_keywords, previous) -> list[dict]:
    """The themes as JSON: members, keywords, labels and ids (stories inside), largest first."""
    n = len(ids)
    flat = [s for stories in story_rows for s in stories]
    members_t = [_members(r, x, ids) for r in theme_rows]
    members_s = [_members(r, x, ids) for r in flat]
    sub, local = _keyword_sample(members_s, rest, ids, n)
    kw = _Keywords([docs[i] for i in sub], exclude=exclude)
    theme_kw = kw.top([local(r) for r in theme_rows], n_keywords)
    story_kw = kw.top([local(r) for r in flat], n_keywords)
    index = {a: i for i, a in enumerate(ids)}

    def forms_of(member_list: list[dict]) -> dict[str, str]:
        return _surface_forms([docs[index[m["id"]]][:KEYWORD_CHARS] for m in member_list[:5]])

    def in_order(rows: np.ndarray) -> list[str]:
        return [ids[i] for i in sorted(rows.tolist())]

    old_themes = [(t["id"], {a["id"] for a in t.get("articles", [])}) for t in (previous or {}).get("themes", [])]
    theme_ids = _assign_ids([in_order(r) for r in theme_rows], "theme-", old_themes, set())
    old_story = {t["id"]: [(s["id"], {a["id"] for a in s.get("articles", [])}) for s in t.get("stories", [])]
                 for t in (previous or {}).get("themes", [])}
    all_old = {sid for v in old_story.values() for sid, _ in v}
    theme_labels = _unique_labels(theme_kw, [forms_of(m) for m in members_t],
                                  [f"theme {tid[-4:]}" for tid in theme_ids])
    story_labels = _unique_labels(story_kw, [forms_of(m) for m in members_s],
                                  [f"story {j + 1}" for j in range(len(flat))])
    themes, k, taken = [], 0, set()
    for ti, rows in enumerate(theme_rows):
        stories = story_rows[ti]
        mine = old_story.get(theme_ids[ti], [])
        sids = _assign_ids([in_order(s) for s in stories], "story-", mine, taken | (all_old - {s for s, _ in mine}))
        taken.update(sids)
        st = []
        for si in range(len(stories)):
            st.append({"id": sids[si], "label": story_labels[k], "keywords": story_kw[k], "size": len(stories[si]),
                       "articles": members_s[k]})
            k += 1
        st.sort(key=lambda s: (-s["size"], s["id"]))
        themes.append({"id": theme_ids[ti], "label": theme_labels[ti], "keywords": theme_kw[ti],
                       "size": int(len(rows)), "articles": members_t[ti], "stories": st})
    themes.sort(key=lambda t: (-t["size"], t["id"]))
    return themes


def _keyword_sample(members_s, rest, ids, n):
    """(rows counted for keywords, rows -> their positions among them): every article up to ``KEYWORD_SAMPLE``,
    above it each story's most central articles in proportion, so the text work stays bounded."""
    from pipeline.cluster import keywords

    if n <= keywords.KEYWORD_SAMPLE:
        sub = np.arange(n)
    else:
        index = {a: i for i, a in enumerate(ids)}
        frac = keywords.KEYWORD_SAMPLE / n
        pick = [index[a["id"]] for ms in members_s for a in ms[: max(1, math.ceil(frac * len(ms)))]]
        pick += rest[:: max(1, math.ceil(1 / frac))].tolist()
        sub = np.unique(np.asarray(pick, dtype=np.int64))
    pos = np.full(n, -1)
    pos[sub] = np.arange(len(sub))

    def local(rows: np.ndarray) -> np.ndarray:
        p_ = pos[rows]
        return p_[p_ >= 0]

    return sub, local
