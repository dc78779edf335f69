"""Placing an update's new articles into existing themes and stories by the rules that built them.

The rule (README / issue 13), for one new article with vector ``v`` (L2-normalised), content text and date:

1. *Neighbours, as at build time.* Its smoothed vector is the mean of itself and its ``k_story - 1`` most similar
   existing articles (raw vectors); its neighbour list is itself and its ``k_snn - 1`` most similar existing
   articles on the smoothed vectors (the existing articles' own lists are kept as they were built).
2. *Theme.* It joins the theme it is most similar to on average (mean cosine to the members plus the theme date
   term of :mod:`pipeline.cluster.dates` for each member when both are dated: the build's final polish), provided
   that mean is at least the theme's *floor*: the lower of the lowest mean cosine any of its members has to the rest
   of it and the members' mean less 3 standard deviations (:func:`theme_floor`; an article further below the theme
   than that is an outlier; the floor is the theme's text tightness, see :func:`member_similarity`). Else it stays
   unplaced. So a look-alike article years away from a theme's members pays its date term against the floor. The
   date term needs only the members' days (saved) and the run's horizon (``params["theme_date_horizon"]``; a
   version-2 state, built before the term existed, places without it).
   The build's shared-neighbour similarity is *not* used to gate: the members' neighbour lists were taken among
   the articles of their own run, so a later article shares ever fewer neighbours with them as the collection
   grows, and a gate on the run's theme cut turns more and more of a theme's own articles away into new,
   duplicate themes (ECB+ in a first run of half the articles + 5 updates: gated on the cut, 70 themes and ARI
   0.833; on the cosine floor alone, 53 themes and ARI 0.863 against 0.887 one-shot; `benchmarks/bench_update.py
   --sets ecbplus --policy always --first 0.5 --batches 6`).
3. *Story.* Inside that theme, its story vector is the mean of itself and its ``EVENT_SMOOTH_K - 1`` most
   story-similar members (as each member's was built), and its mean story similarity to each story
   (:mod:`pipeline.cluster.stories`: story-vector cosine + entity correction with the run's vocabulary, idf and the
   theme's local idf + time correction on the dates, with the run's saved weights) decides: it joins
   the best story when that mean is at least the run's ``story_threshold`` (the story cut), else it starts a new
   story in the theme (``story: None``).

New articles are placed against the existing ones only (not against each other): what stays unplaced is for the
caller to cluster with the unclustered pool. Cost: O(new x existing x dim) for the neighbours, then the sizes of
the themes involved -- nothing is rebuilt.

:class:`PlacementState` holds what the rule needs beyond the existing vectors (saved as one ``.npz``):
neighbour lists, theme and story of every article, entity vocabulary, idf and matrix, dates, thresholds, weights.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.cluster.errors import ClusterError
from pipeline.cluster.tree import _smooth_from

STATE_VERSION = 3
#: Older state versions still read, with the defaults that reproduce how they were built.
_OLD_VERSIONS = {2: {"theme_date_horizon": None}}


@dataclass
class PlacementState:
    """What :func:`place` needs from a clustering run, besides the existing article vectors (same row order)."""

    ids: list[str]
    theme: np.ndarray  # (n,) theme index or -1
    story: np.ndarray  # (n,) story index or -1
    theme_ids: list[str]
    story_ids: list[str]
    story_theme: np.ndarray  # (n_stories,) theme index of each story
    knn_story: np.ndarray  # (n, k_story) rows averaged into each smoothed vector
    knn_snn: np.ndarray  # (n, k_snn) shared-neighbour lists (k_snn = 0 under 30 articles)
    entities: object  # (n, n_entities) CSR
    vocabulary: list[str]
    idf: np.ndarray
    exclude: list[str]
    days: np.ndarray  # (n,) days since 1970-01-01, NaN where unknown
    theme_floor: np.ndarray  # (n_themes,) lowest mean cosine of a member to the rest of its theme
    params: dict = field(default_factory=dict)
    #: (n, k_event) rows averaged into each article's story vector (-1: none); rows past its end (articles added by
    #: an update without it) use their own vector.
    knn_event: np.ndarray | None = None

    def event_rows(self, n: int | None = None) -> np.ndarray:
        """``knn_event`` for ``n`` articles (default: all of ``ids``): rows it lacks get their own row alone."""
        n = len(self.ids) if n is None else n
        have = self.knn_event if self.knn_event is not None else np.zeros((0, 1), dtype=np.int32)
        k = max(have.shape[1], 1)
        out = np.full((n, k), -1, dtype=np.int32)
        out[: len(have), : have.shape[1]] = have[:n]
        out[len(have) :, 0] = np.arange(len(have), n)
        return out

    @classmethod
    def build(cls, result: dict, ids: list[str], space, knn_event, entities, ents, days, t_theme: float,
              t_story: float) -> PlacementState:
        from pipeline.cluster import core, stories

        row = {a: i for i, a in enumerate(ids)}
        theme = np.full(len(ids), -1, dtype=np.int64)
        story = np.full(len(ids), -1, dtype=np.int64)
        story_ids, story_theme = [], []
        for ti, t in enumerate(result["themes"]):
            for a in t["articles"]:
                theme[row[a["id"]]] = ti
            for s in t["stories"]:
                for a in s["articles"]:
                    story[row[a["id"]]] = len(story_ids)
                story_ids.append(s["id"])
                story_theme.append(ti)
        floor = np.full(len(result["themes"]), -1.0)
        x = space.x
        horizon = result.get("params", {}).get("theme_date_horizon_days")
        for ti in range(len(floor)):
            rows = np.flatnonzero(theme == ti)
            if len(rows) > 1:
                floor[ti] = theme_floor(member_similarity(x[rows]))
        params = {
            "version": STATE_VERSION, "theme_threshold": float(t_theme), "story_threshold": float(t_story),
            "theme_date_horizon": horizon,
            "snn_weight": core.SNN_WEIGHT if space.knn_snn.shape[1] else 0.0, "story": stories.story_weights(),
        }
        return cls(list(ids), theme, story, [t["id"] for t in result["themes"]], story_ids,
                   np.asarray(story_theme, dtype=np.int64), space.knn_story.astype(np.int32),
                   space.knn_snn.astype(np.int32), ents.tocsr(), list(entities.vocabulary),
                   np.asarray(entities.idf), sorted(entities.exclude), np.asarray(days, dtype=np.float64), floor, params,
                   np.asarray(knn_event, dtype=np.int32))

    # ---------------------------------------------------------------------------------------- saving
    def to_bytes(self) -> bytes:
        """The state as ``.npz`` bytes (write them with the run folder's atomic writer)."""
        meta = {"ids": self.ids, "theme_ids": self.theme_ids, "story_ids": self.story_ids,
                "vocabulary": self.vocabulary, "exclude": self.exclude, "params": self.params}
        e = self.entities
        buf = io.BytesIO()
        np.savez_compressed(
            buf, meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
            theme=self.theme, story=self.story, story_theme=self.story_theme, knn_story=self.knn_story,
            knn_snn=self.knn_snn, knn_event=self.event_rows(), idf=self.idf, days=self.days, ent_data=e.data, ent_indices=e.indices,
            ent_indptr=e.indptr, ent_shape=np.asarray(e.shape), theme_floor=self.theme_floor)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> PlacementState:
        import scipy.sparse as sp

        try:
            z = np.load(io.BytesIO(data), allow_pickle=False)
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            ents = sp.csr_matrix((z["ent_data"], z["ent_indices"], z["ent_indptr"]), shape=tuple(z["ent_shape"]))
            state = cls(meta["ids"], z["theme"], z["story"], meta["theme_ids"], meta["story_ids"], z["story_theme"],
                        z["knn_story"], z["knn_snn"], ents, meta["vocabulary"], z["idf"], meta["exclude"],
                        z["days"], z["theme_floor"], meta["params"], z["knn_event"])
        except (OSError, ValueError, KeyError) as e:
            raise ClusterError(f"cluster state is unreadable ({e}); re-run `pipeline cluster`.") from None
        old = _OLD_VERSIONS.get(state.params.get("version"))
        if old is not None:
            state.params = {**state.params, **old, "version": STATE_VERSION}
        if state.params.get("version") != STATE_VERSION:
            raise ClusterError(f"cluster state version {state.params.get('version')} should be {STATE_VERSION}; "
                               "re-run `pipeline cluster`.")
        return state


#: A theme's floor: the lower of its members' lowest mean cosine to the rest of it and their mean less this many
#: standard deviations. The lowest alone turns away about 1 in (n + 1) articles of the theme's own kind (each is as
#: likely as any member to be the least typical); 3 sigma of the members' spread turns away about 1 in 700.
FLOOR_SIGMAS = 3.0


def theme_floor(loo: np.ndarray) -> float:
    """The floor of a theme from its members' leave-one-out mean cosine similarities (see :data:`FLOOR_SIGMAS`)."""
    loo = np.asarray(loo, dtype=np.float64)
    return float(min(loo.min(), loo.mean() - FLOOR_SIGMAS * loo.std()))


def member_similarity(own: np.ndarray) -> np.ndarray:
    """(n,) each member's leave-one-out mean cosine to the rest of its theme: what its floor is made of.

    own : ndarray of shape (n, dim), the theme's L2-normalised vectors (n >= 2). The floor is the theme's *text*
    tightness, without the date term among its members: a theme whose members span years would otherwise get a floor
    lowered by its own spread and take in anything (MultiLing streamed from 10 articles, always placing: theme ARI
    0.306 with the date term in the floor, 0.459 without, 0.412 before the date term; docs/notes/dates.md). A new
    article's own date term does count against it (:func:`_theme_similarities`)."""
    own = np.asarray(own, dtype=np.float64)
    tot = own.sum(axis=0)
    return (own @ tot - np.einsum("ij,ij->i", own, own)) / (len(own) - 1)


def _top_rows(q: np.ndarray, x: np.ndarray, k: int, chunk: int = 8192) -> np.ndarray:
    """(n_q, k) rows of ``x`` most similar to each row of ``q`` (exact, in chunks of ``x``), most similar first.

    Each chunk's own top ``k`` are merged into the running best (no index array the size of a chunk is made)."""
    k = min(k, x.shape[0])
    if k <= 0:
        return np.zeros((q.shape[0], 0), dtype=np.int64)
    best_s = np.full((q.shape[0], 0), -np.inf, dtype=np.float32)
    best_i = np.zeros((q.shape[0], 0), dtype=np.int64)
    for a in range(0, x.shape[0], chunk):
        s = q @ x[a : a + chunk].T
        if s.shape[1] > k:
            part = np.argpartition(-s, k - 1, axis=1)[:, :k]
            s = np.take_along_axis(s, part, 1)
        else:
            part = np.broadcast_to(np.arange(s.shape[1]), s.shape)
        s_all = np.concatenate([best_s, s], axis=1)
        i_all = np.concatenate([best_i, part + a], axis=1)
        if s_all.shape[1] > k:
            keep = np.argpartition(-s_all, k - 1, axis=1)[:, :k]
            s_all, i_all = np.take_along_axis(s_all, keep, 1), np.take_along_axis(i_all, keep, 1)
        best_s, best_i = s_all, i_all
    order = np.argsort(-best_s, axis=1, kind="stable")
    return np.take_along_axis(best_i, order, 1)


def _theme_similarities(v, x, days: np.ndarray, state: PlacementState) -> np.ndarray:
    """(n_new, n_themes) mean theme similarity of each new article to each theme's members: cosine plus the theme
    date term (:mod:`pipeline.cluster.dates`, with the run's horizon; 0 for an undated article or member)."""
    import scipy.sparse as sp

    from pipeline.cluster.dates import group_date_term

    n, k_t = x.shape[0], len(state.theme_ids)
    member = state.theme >= 0
    ind = sp.csr_matrix((np.ones(int(member.sum())), (state.theme[member], np.flatnonzero(member))), shape=(k_t, n))
    size = np.maximum(np.asarray(ind.sum(axis=1)).ravel(), 1.0)
    total = v.astype(np.float64) @ (ind @ x.astype(np.float64)).T
    total += group_date_term(days, state.days, state.theme, k_t, state.params.get("theme_date_horizon"))
    return total / size


def place(new_vectors: np.ndarray, new_texts: Sequence[str], new_dates: Sequence[str | None] | None,
          state: PlacementState, vectors: np.ndarray, *, neighbours: np.ndarray | None = None,
          entity_vectors=None) -> list[dict]:
    """Where each new article goes: ``[{"theme": id | None, "story": id | None, "theme_similarity",
    "story_similarity"}, ...]`` in input order (``theme: None`` = unplaced; ``story: None`` in a theme = a new
    story of that theme). The rule and its thresholds are in this module's docstring.

    Parameters
    ----------
    new_vectors : ndarray of shape (n_new, dim)
    new_texts : content texts (title first, as the build's) of the new articles, for their entities
    new_dates : ISO dates or None
    state : the :class:`PlacementState` of the run being updated
    vectors : ndarray of shape (n_existing, dim), the run's article vectors in ``state.ids`` order
    neighbours, entity_vectors : optional, what :func:`placement_inputs` gives for the same new articles (a caller
        that extends the state with them too computes them once)
    """
    from pipeline.cluster import stories
    from pipeline.cluster.entities import EntityVectors

    v = np.asarray(new_vectors, dtype=np.float32)
    x = np.asarray(vectors, dtype=np.float32)
    if v.ndim != 2 or x.ndim != 2 or v.shape[1] != x.shape[1] or x.shape[0] != len(state.ids):
        raise ClusterError(f"new_vectors {v.shape} and vectors {x.shape} should be 2-D with the same dim, and "
                           f"vectors should hold the run's {len(state.ids)} articles.")
    if len(new_texts) != len(v):
        raise ClusterError(f"len(new_texts)={len(new_texts)} should be equal to the number of new vectors ({len(v)}).")
    if len(v) == 0:
        return []
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    k_story = state.knn_story.shape[1]
    near = _top_rows(v, x, k_story - 1) if neighbours is None else np.asarray(neighbours)[:, : max(k_story - 1, 0)]
    vs = (v + x[near].sum(axis=1)) / k_story if k_story > 1 else v
    vs = vs / np.maximum(np.linalg.norm(vs, axis=1, keepdims=True), 1e-12)
    out = [{"theme": None, "story": None, "theme_similarity": None, "story_similarity": None} for _ in range(len(v))]
    if not state.theme_ids:
        return out
    days = stories.parse_days(new_dates, len(v))
    cos = _theme_similarities(v, x, days, state)
    ev = EntityVectors(state.vocabulary, state.idf, frozenset(state.exclude)).transform(new_texts) \
        if entity_vectors is None else entity_vectors
    event = state.event_rows(len(x))  # the members' story vectors are smoothed from these rows, as built
    t_story = float(state.params["story_threshold"])
    in_theme: dict[int, list[int]] = {}
    for i in range(len(v)):
        ti = int(np.argmax(cos[i]))
        out[i]["theme_similarity"] = round(float(cos[i, ti]), 4)
        if cos[i, ti] < state.theme_floor[ti] - 1e-9:
            continue
        out[i]["theme"] = state.theme_ids[ti]
        in_theme.setdefault(ti, []).append(i)
    for ti, new_rows in in_theme.items():  # all the new articles of one theme against its stories at once
        s_idx = np.flatnonzero(state.story_theme == ti)
        if not len(s_idx):
            continue
        scores = _story_scores(np.asarray(new_rows), v, vs, ev, days, x, event, state, s_idx)
        for r, i in enumerate(new_rows):
            j = int(np.argmax(scores[r]))
            out[i]["story_similarity"] = round(float(scores[r, j]), 4)
            if scores[r, j] >= t_story - 1e-9:
                out[i]["story"] = state.story_ids[s_idx[j]]
    return out


def placement_inputs(new_vectors: np.ndarray, new_texts: Sequence[str], state: PlacementState,
                     vectors: np.ndarray) -> dict:
    """``neighbours`` (the ``k_story - 1`` most similar existing rows of each new article) and ``entity_vectors``
    of the new articles, as :func:`place` computes them."""
    from pipeline.cluster.entities import EntityVectors

    v = np.asarray(new_vectors, dtype=np.float32)
    x = np.asarray(vectors, dtype=np.float32)
    v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return {"neighbours": _top_rows(v, x, state.knn_story.shape[1] - 1),
            "entity_vectors": EntityVectors(state.vocabulary, state.idf, frozenset(state.exclude)).transform(new_texts)}


def _pairwise(parts, k: int) -> np.ndarray:
    """(k, n - k) story similarity of the first ``k`` rows of ``parts`` to the others."""
    import scipy.sparse as sp

    total = None
    for p, w in parts:
        d = p[:k] @ p[k:].T
        d = w * (d.toarray() if sp.issparse(d) else np.asarray(d, dtype=np.float64))
        total = d if total is None else total + d
    return total


def _story_scores(new_rows: np.ndarray, v, vs, ev, days, x, event, state: PlacementState,
                  s_idx: np.ndarray) -> np.ndarray:
    """(len(new_rows), len(s_idx)) mean story similarity of new articles to the members of the stories ``s_idx``
    of one theme, as the build computes it (:mod:`pipeline.cluster.stories`, the run's saved weights): entity
    vectors re-weighted by the theme's local idf (from its members, as built); each new article's story vector is
    its own averaged with its most story-similar members (the members' own are smoothed from their ``event`` rows,
    as built, for this theme's members only; themes above
    ``MAX_LEAVES`` articles use the cosine-smoothed ``vs``, as the build does). All new articles of the theme are
    stacked at once (the parts are pairwise, so stacking changes no pair's similarity)."""
    import scipy.sparse as sp

    from pipeline.cluster import stories, tree

    w = state.params["story"]
    member = np.flatnonzero(np.isin(state.story, s_idx))  # the theme's articles
    local = np.searchsorted(s_idx, state.story[member])
    group = sp.csr_matrix((np.ones(len(member)), (local, np.arange(len(member)))), shape=(len(s_idx), len(member)))
    size = np.maximum(np.asarray(group.sum(axis=1)).ravel(), 1.0)
    k = len(new_rows)
    idf = stories.theme_idf(state.entities[member], w["theme_idf_floor"])
    ents = stories.reweight(sp.vstack([ev[new_rows], state.entities[member]]).tocsr(), idf)
    d = np.concatenate([days[new_rows], state.days[member]])
    if len(member) <= tree.MAX_LEAVES:
        sim = _pairwise(stories.story_parts(np.vstack([v[new_rows], x[member]]), ents, d, w), k)
        n_near = min(state.event_rows(0).shape[1], len(member) + 1) - 1
        near = member[np.argsort(-sim, axis=1, kind="stable")[:, :n_near]]
        ve = v[new_rows].astype(np.float64) + x[near].sum(axis=1, dtype=np.float64)
        ve = (ve / np.maximum(np.linalg.norm(ve, axis=1, keepdims=True), 1e-12)).astype(np.float32)
    else:
        ve = vs[new_rows]
    parts = stories.story_parts(np.vstack([ve, _smooth_from(x, event[member])]), ents, d, w)
    total = np.zeros((k, len(s_idx)))
    for p, wt in parts:
        sums = group @ p[k:]  # (n_stories, features): each story's feature sum
        dd = p[:k] @ sums.T
        total += wt * (dd.toarray() if sp.issparse(dd) else np.asarray(dd))
    return total / size[None, :]
