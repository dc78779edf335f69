"""``summarize_group``: usable sentences -> concepts and relevance -> units -> the program -> reading order."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat

import numpy as np

from pipeline import PipelineError
from pipeline.summarize.concepts import _concepts
from pipeline.summarize.sentences import Candidate, content_start, is_usable, needs_antecedent
from pipeline.summarize.solve import _chain_len, _solve_greedy, _solve_ilp
from pipeline.text import normalize


class SummarizeError(PipelineError, ValueError):
    """Invalid parameters given to the summariser."""


@dataclass
class Summary:
    """The chosen sentence indices (reading order) and how they were chosen."""

    indices: list[int]
    solver: str  # "ilp", "greedy", "single" or "none"
    n_usable: int = 0
    n_considered: int = 0
    n_concepts: int = 0
    objective: float = 0.0
    info: dict = field(default_factory=dict)


#: Method parameters accepted by ``summarize_group(**method_params)``, with their defaults.
DEFAULTS: dict[str, object] = {
    "min_words": 8,  # shorter sentences are fragments
    "max_words": 60,  # longer ones are run-ons or lists
    "drop_questions": True,
    "dangling": "unit",  # a sentence needing an antecedent: "unit" (chosen with it), "drop" (never) or "allow"
    "max_unit": 3,  # most sentences in one unit (a dangling sentence and its antecedents)
    "min_df": None,  # None: 3 articles for groups of 10 or more articles, else 2 (sentences for one article)
    "relevance_weight": 0.05,  # weight of the (embedding x position) per-word term against the concept term
    "position_weight": 4.0,  # lead prior: relevance = cosine x (1 + position_weight / (1 + rank))
    "redundancy": 0.85,  # forbid pairs of chosen sentences with cosine above this (None: off)
    "concept_position_weight": 5.0,  # an article's vote for a concept: 1 + this / (1 + rank where it first occurs)
    "use_concepts": True,  # ablation switches
    "use_embeddings": True,
    "max_candidates": 100,  # prune to this many sentences (by a cheap score) before the ILP
    "unembedded": "article",  # a sentence outside `embedded`: scored with its "article"'s mean cosine (no vector, no
    # redundancy pair), or "fetch" its vector when it could make the max_candidates cut (see needed_vectors)
    "solver": "auto",  # "auto" (ILP, greedy fallback), "ilp" or "greedy"
    "time_limit": 10.0,  # seconds for HiGHS
    "mip_gap": 1e-3,  # relative optimality gap at which HiGHS stops
}


def _check_int(name: str, value, low: int, allow_none: bool = False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        tail = " or None" if allow_none else ""
        raise SummarizeError(
            f"The '{name}' parameter of summarize_group must be an int in the range [{low}, inf){tail}. "
            f"Got {value!r} instead."
        )


def _check_float(name: str, value, low: float, high: float = math.inf, allow_none: bool = False):
    if value is None and allow_none:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(float(value)) and high != math.inf
        or not (low <= float(value) <= high)
    ):
        tail = " or None" if allow_none else ""
        raise SummarizeError(
            f"The '{name}' parameter of summarize_group must be a float in the range [{low}, {high}]{tail}. "
            f"Got {value!r} instead."
        )


def _params(words, sentences, method_params) -> dict:
    unknown = sorted(set(method_params) - set(DEFAULTS))
    if unknown:
        raise SummarizeError(
            f"Unknown parameter {unknown[0]!r} for summarize_group; valid method parameters are {sorted(DEFAULTS)}."
        )
    p = {**DEFAULTS, **method_params}
    _check_int("words", words, 1, allow_none=True)
    _check_int("sentences", sentences, 1, allow_none=True)
    if words is None and sentences is None:
        raise SummarizeError("The 'words' and 'sentences' parameters of summarize_group are both None; set one.")
    _check_int("min_words", p["min_words"], 1)
    _check_int("max_words", p["max_words"], 1)
    if p["max_words"] < p["min_words"]:
        raise SummarizeError(
            f"The 'max_words' parameter of summarize_group must be >= min_words={p['min_words']}. "
            f"Got {p['max_words']!r} instead."
        )
    _check_int("min_df", p["min_df"], 1, allow_none=True)
    _check_int("max_candidates", p["max_candidates"], 1)
    _check_int("max_unit", p["max_unit"], 1)
    if p["unembedded"] not in ("fetch", "article"):
        raise SummarizeError(
            f"The 'unembedded' parameter of summarize_group must be a str among {{'fetch', 'article'}}. "
            f"Got {p['unembedded']!r} instead."
        )
    if p["dangling"] not in ("unit", "drop", "allow"):
        raise SummarizeError(
            f"The 'dangling' parameter of summarize_group must be a str among {{'unit', 'drop', 'allow'}}. "
            f"Got {p['dangling']!r} instead."
        )
    _check_float("relevance_weight", p["relevance_weight"], 0.0)
    _check_float("position_weight", p["position_weight"], 0.0)
    _check_float("concept_position_weight", p["concept_position_weight"], 0.0)
    _check_float("redundancy", p["redundancy"], -1.0, 1.0, allow_none=True)
    _check_float("time_limit", p["time_limit"], 0.0)
    _check_float("mip_gap", p["mip_gap"], 0.0, 1.0)
    if p["solver"] not in ("auto", "ilp", "greedy"):
        raise SummarizeError(
            f"The 'solver' parameter of summarize_group must be a str among {{'auto', 'ilp', 'greedy'}}. "
            f"Got {p['solver']!r} instead."
        )
    for name in ("drop_questions", "use_concepts", "use_embeddings"):
        if not isinstance(p[name], (bool, np.bool_)):
            raise SummarizeError(
                f"The '{name}' parameter of summarize_group must be an instance of 'bool'. Got {p[name]!r} instead."
            )
    return p


#: With ``dangling="unit"``, a sentence of at least this many words that is unusable only for being short or a
#: question may still be cited inside a unit: as the pronoun-led sentence, or as the antecedent of one.
UNIT_MIN_WORDS = 3


def _reading_key(c: Candidate, weights: Mapping[str, float] | None = None):
    """Articles by date (undated last), then by centrality (highest first), then id; then position."""
    w = float(weights.get(c.article_id, 1.0)) if weights else 1.0
    return (c.date is None, c.date or "", -w, c.article_id, c.position)


def summarize_group(
    candidates: Sequence[Candidate],
    vectors: np.ndarray,
    *,
    words: int | None = 100,
    sentences: int | None = None,
    article_weights: Mapping[str, float] | None = None,
    **method_params,
) -> list[int]:
    """Choose the sentences that summarise a group of articles.

    Parameters
    ----------
    candidates : sequence of Candidate
        All sentences of the group's articles.
    vectors : ndarray of shape (n_candidates, dim)
        L2-normalised sentence vectors from the embed stage, row ``i`` for ``candidates[i]``.
    words : int or None, default=100
        Word budget: the chosen sentences' total word count does not exceed it, except that one sentence is
        always returned when any usable one exists. Ignored when ``sentences`` is set.
    sentences : int or None, default=None
        Number of sentences to choose instead of a word budget.
    article_weights : mapping article_id -> float, optional
        Centrality of each article in the group (1.0 when missing): scales its concepts and its share of the
        group centroid.
    **method_params
        See ``DEFAULTS``.

    Returns
    -------
    list of int
        Indices into ``candidates`` of the chosen sentences, in reading order (article date, article centrality,
        article, position).
    """
    return summarize_group_details(
        candidates, vectors, words=words, sentences=sentences, article_weights=article_weights, **method_params
    ).indices


def summarize_group_details(
    candidates: Sequence[Candidate],
    vectors: np.ndarray,
    *,
    words: int | None = 100,
    sentences: int | None = None,
    article_weights: Mapping[str, float] | None = None,
    embedded: np.ndarray | None = None,
    **method_params,
) -> Summary:
    """``summarize_group`` returning a ``Summary`` with the solver used and counts (for tests and benchmarks).

    ``embedded`` (bool per candidate, default all): the rows of ``vectors`` the embed stage made. The group centroid
    is their mean; the other rows are read only where ``needed_vectors`` (same arguments) says a vector is needed,
    and may hold anything elsewhere. The result does not depend on what those other rows hold.
    """
    p = _params(words, sentences, method_params)
    if sentences is not None:
        words = None
    g = _prepare(candidates, vectors, article_weights, embedded, p)
    if g is None:
        return Summary([], "none")
    fetch = _fetch_plan(g, p)
    avail = g.emb_usable.copy() if p["unembedded"] == "fetch" else np.ones(len(g.usable), dtype=bool)
    avail[fetch] = True
    return _select(candidates, g, avail, words, sentences, p)


def needed_vectors(
    candidates: Sequence[Candidate],
    vectors: np.ndarray,
    *,
    words: int | None = 100,
    sentences: int | None = None,
    article_weights: Mapping[str, float] | None = None,
    embedded: np.ndarray | None = None,
    **method_params,
) -> list[int]:
    """Indices of the candidates outside ``embedded`` whose vectors ``summarize_group`` (same arguments) reads.

    Everything else about a group is scored without vectors (usable sentences, units, concepts, the lead prior), and
    a sentence's relevance term is at most its lead prior (cosine <= 1). A sentence without a vector is needed only
    when that bound could lift it into the ``max_candidates`` kept for the program (above the lowest sure score of
    the embedded ones), or could raise the relevance maximum the cheap score is normalised by, or is the antecedent
    of one needed. So the summary with only these vectors fetched is the summary with every vector fetched.
    """
    p = _params(words, sentences, method_params)
    g = _prepare(candidates, vectors, article_weights, embedded, p)
    if g is None:
        return []
    return sorted(int(g.usable[j]) for j in _fetch_plan(g, p))


@dataclass
class _Group:
    """What ``_prepare`` knows about a group before any vector outside ``embedded`` is read."""

    usable: np.ndarray  # candidate index of each usable sentence
    needs: dict  # usable position -> usable position of its antecedent
    tails: dict  # usable position of a sentence citable only as an antecedent -> the sentence after it
    open: np.ndarray  # bool per usable sentence: may be a candidate on its own (not blocked by the unit rule, no tail)
    lengths: np.ndarray
    prior: np.ndarray  # lead prior per usable sentence
    sent_concepts: list
    concept_w: dict
    concept_score: np.ndarray  # sum of concept weights / sqrt(words), per usable sentence
    n_articles: int
    emb_usable: np.ndarray  # bool per usable sentence: its vector is one of ``embedded``
    art_cos: np.ndarray  # per usable sentence: mean cosine of its article's embedded sentences to the centroid
    cent: np.ndarray | None  # unit centroid (None: no vector)
    vectors: np.ndarray
    aw: dict


@lru_cache(maxsize=200_000)
def _text_facts(text: str) -> tuple[str, str, int]:
    """A sentence's body (dateline skipped), its normalised body (for duplicates) and its word count.

    Cached by text: a sentence is read for its theme and again for each story holding it.
    """
    body = text[content_start(text) :]
    return body, normalize(body), len(text.split())


def _prepare(candidates, vectors, article_weights, embedded, p) -> _Group | None:
    n = len(candidates)
    vectors = np.asarray(vectors, dtype=np.float32)
    if n == 0:
        return None
    if vectors.ndim != 2 or vectors.shape[0] != n:
        raise SummarizeError(
            f"The 'vectors' parameter of summarize_group must have shape (n_candidates={n}, dim). "
            f"Got {vectors.shape} instead."
        )
    emb = np.ones(n, dtype=bool) if embedded is None else np.asarray(embedded, dtype=bool)
    if emb.shape != (n,):
        raise SummarizeError(
            f"The 'embedded' parameter of summarize_group must be a bool array of shape (n_candidates={n},). "
            f"Got shape {emb.shape} instead."
        )
    aw = {} if article_weights is None else dict(article_weights)
    for k, v in aw.items():
        if not (isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v) and v >= 0):
            raise SummarizeError(
                f"The 'article_weights' parameter of summarize_group must map article ids to non-negative "
                f"floats. Got {v!r} for {k!r} instead."
            )
    facts = [_text_facts(c.text) for c in candidates]
    bodies = [f[0] for f in facts]
    norm = [f[1] for f in facts]

    # ---- usable sentences, deduplicated on normalised text (the copy first in reading order is kept)
    order = sorted(range(n), key=lambda i: (candidates[i].article_id, candidates[i].position, i))
    first_copy: dict[str, int] = {}
    for i in sorted(range(n), key=lambda i: (_reading_key(candidates[i]), i)):
        first_copy.setdefault(norm[i], i)
    usable: list[int] = []
    rank: list[int] = []  # position among the article's usable sentences: the lead is rank 0 after a dateline
    short: set[int] = set()  # positions in usable of sentences citable only inside a unit (too short, a question)
    n_ok: dict[str, int] = {}
    for i in order:
        c = candidates[i]
        ok = is_usable(
            c,
            min_words=p["min_words"],
            max_words=p["max_words"],
            drop_questions=p["drop_questions"],
            dangling=p["dangling"],
        )
        # a unit's words count as one: a short sentence or a question may open or close a unit
        in_unit = not ok and p["dangling"] == "unit" and is_usable(
            c, min_words=min(p["min_words"], UNIT_MIN_WORDS), max_words=p["max_words"], drop_questions=False
        )
        if not ok and not in_unit:
            continue
        r = n_ok.get(c.article_id, 0)
        n_ok[c.article_id] = r + ok
        if first_copy[norm[i]] != i:
            continue
        if in_unit:
            short.add(len(usable))
        usable.append(i)
        rank.append(r)
    if not usable:
        return None
    # a sentence the unit rule blocks still says what the articles are about: its concepts and rank count below,
    # but it is never a candidate
    needs, blocked, tails = _units(candidates, usable, order, p, short)
    open_ = np.array([j not in blocked and j not in tails for j in range(len(usable))], dtype=bool)
    if not open_.any():
        return None
    lengths = np.array([facts[i][2] for i in usable], dtype=np.float64)

    # ---- the centroid: article-weighted mean of the article centroids of the embedded vectors
    art_ids = sorted({c.article_id for c in candidates})
    art_index = {a: k for k, a in enumerate(art_ids)}
    art_of = np.array([art_index[c.article_id] for c in candidates])
    weights = np.array([float(aw.get(a, 1.0)) for a in art_ids])
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    cent = np.zeros(vectors.shape[1], dtype=np.float64)
    means = np.zeros((len(art_ids), vectors.shape[1]), dtype=np.float64)  # per article, of its embedded rows
    for k in range(len(art_ids)):
        rows = vectors[(art_of == k) & emb]
        if len(rows):
            means[k] = rows.astype(np.float64).mean(axis=0)
            m = rows.mean(axis=0)
            nm = np.linalg.norm(m)
            if nm > 0:
                cent += weights[k] * m / nm
    nc = np.linalg.norm(cent)
    art_cos = means @ (cent / nc) if nc > 0 else np.zeros(len(art_ids))  # mean cosine of each article's rows
    pos = np.array(rank, dtype=np.float64)
    prior = 1.0 + p["position_weight"] / (1.0 + pos)

    # ---- concepts
    unit_of = [candidates[i].article_id for i in usable]
    n_articles = len(set(unit_of))
    sent_concepts = [_concepts(bodies[i]) for i in usable]
    concept_w: dict = {}
    if p["use_concepts"]:
        if n_articles >= 2:
            min_df = p["min_df"] if p["min_df"] is not None else (3 if n_articles >= 10 else 2)
            units: dict = {}  # concept -> {article: its vote}
            cpw = p["concept_position_weight"]
            # the usable sentences come by article, then position (ranks not decreasing): an article votes with its
            # first sentence holding a concept, the one of lowest rank
            seen: set = set()
            last = None
            for cs, a, ps in zip(sent_concepts, unit_of, pos):
                if a != last:
                    seen, last = set(), a
                new = cs - seen
                if not new:
                    continue
                seen |= new
                vote = float(aw.get(a, 1.0)) * (1.0 + cpw / (1.0 + ps))
                for c in new:
                    d = units.get(c)
                    if d is None:
                        units[c] = {a: vote}
                    else:
                        d[a] = vote
            for c, votes in units.items():
                if len(votes) >= min_df:
                    concept_w[c] = sum(votes.values())
        else:  # one article: a concept counts once per sentence that holds it
            min_df = p["min_df"] if p["min_df"] is not None else 2
            counts: dict = {}
            for cs in sent_concepts:
                for c in cs:
                    counts[c] = counts.get(c, 0) + 1
            concept_w = {c: float(k) for c, k in counts.items() if k >= min_df}
    cscore = np.array([sum(map(concept_w.get, cs, repeat(0.0))) for cs in sent_concepts]) / np.sqrt(lengths)
    return _Group(
        np.array(usable, dtype=np.int64), needs, tails, open_, lengths, prior, sent_concepts, concept_w, cscore, n_articles,
        emb[usable], art_cos[art_of[usable]], cent / nc if nc > 0 else None, vectors, aw,
    )


def _relevance(g: _Group, avail: np.ndarray, p) -> np.ndarray:
    """Cosine to the centroid (clipped at 0) x the lead prior, for the usable sentences in ``avail`` (else 0)."""
    rel = np.zeros(len(g.usable))
    if not p["use_embeddings"]:
        rel[avail] = g.prior[avail]
    elif g.cent is not None and avail.any():
        real = avail & (g.emb_usable | (p["unembedded"] == "fetch"))
        cos = g.vectors[g.usable[real]].astype(np.float64) @ g.cent
        rel[real] = np.clip(cos, 0.0, None) * g.prior[real]
        proxy = avail & ~real
        rel[proxy] = np.clip(g.art_cos[proxy], 0.0, None) * g.prior[proxy]
    return rel


def _cheap(g: _Group, rel: np.ndarray, r_max: float) -> np.ndarray:
    cs = g.concept_score
    return cs / (cs.max() or 1.0) + rel / (r_max or 1.0)


def _fetch_plan(g: _Group, p) -> np.ndarray:
    """Usable positions outside ``embedded`` whose vectors are needed (see ``needed_vectors``)."""
    out = ~g.emb_usable
    if not out.any() or p["unembedded"] == "article":
        return np.zeros(0, dtype=np.int64)
    k = p["max_candidates"]
    if g.open.sum() > k:
        inn = g.emb_usable
        rel = _relevance(g, inn, p)
        r_lo = float(rel[inn].max()) if inn.any() else 0.0
        bound = g.prior  # relevance <= prior (cosine <= 1)
        r_hi = max(r_lo, float(bound[out].max()))
        low = _cheap(g, rel, r_hi)[inn & g.open]  # sure scores of the embedded candidates, whatever the others hold
        thresh = np.sort(low)[-k] if len(low) >= k else -np.inf
        high = _cheap(g, bound, r_lo) if r_lo > 0 else np.full(len(g.usable), np.inf)
        take = out & ((g.open & (high >= thresh)) | (bound > r_lo))
    else:
        take = out.copy()  # every usable sentence is kept for the program
    # antecedents of what may be kept (an embedded sentence's antecedent comes before it, but check)
    may = take | g.emb_usable
    for d in np.flatnonzero(may):
        j = int(d)
        while j in g.needs:
            j = g.needs[j]
            take[j] = take[j] or out[j]
    return np.flatnonzero(take)


def _select(candidates, g: _Group, avail: np.ndarray, words, sentences, p) -> Summary:
    usable, needs, lengths = g.usable, g.needs, g.lengths
    relevance = _relevance(g, avail, p)
    concept_w, sent_concepts = g.concept_w, g.sent_concepts
    # value of the relevance term, in concept-weight units per word
    rel_value = p["relevance_weight"] * max(1.0, float(g.n_articles)) * relevance * lengths
    if not concept_w:
        rel_value = relevance * lengths + 0.0  # nothing else to go on

    # ---- prune to the best max_candidates by a cheap score (sentences without a vector cannot make the cut)
    cheap = np.where(avail & g.open, _cheap(g, relevance, float(relevance.max())), -np.inf)
    keep = np.flatnonzero(avail & g.open)
    if g.open.sum() > p["max_candidates"]:
        # stable: ties broken by (article_id, position) through the usable order
        keep = np.sort(np.argsort(-cheap, kind="stable")[: p["max_candidates"]])
        keep = keep[np.isfinite(cheap[keep])]
    if needs:  # a kept sentence keeps the antecedents it needs
        kept = set(keep.tolist())
        for j in list(kept):
            while j in needs:
                j = needs[j]
                kept.add(j)
        keep = np.array(sorted(kept), dtype=np.int64)
    k_pos = {int(j): t for t, j in enumerate(keep)}
    k_needs = {k_pos[d]: k_pos[a] for d, a in needs.items() if d in k_pos}
    k_tails = {k_pos[a]: k_pos[d] for a, d in g.tails.items() if a in k_pos}

    # ---- redundancy pairs
    kv = g.vectors[usable[keep]].astype(np.float64)
    if p["unembedded"] == "article":
        kv[~g.emb_usable[keep]] = 0.0  # no vector, no redundancy pair
    pairs: list[tuple[int, int]] = []
    if p["redundancy"] is not None and len(keep) > 1:
        sim = kv @ kv.T
        a_idx, b_idx = np.nonzero(np.triu(sim > p["redundancy"], k=1))
        pairs = list(zip(a_idx.tolist(), b_idx.tolist()))

    k_len = lengths[keep]
    k_rel = rel_value[keep]
    k_con = [sent_concepts[j] for j in keep]
    concepts = sorted({c for cs in k_con for c in cs if c in concept_w})
    c_index = {c: t for t, c in enumerate(concepts)}
    c_weight = np.array([concept_w[c] for c in concepts], dtype=np.float64)
    occ = [[c_index[c] for c in sorted(cs) if c in c_index] for cs in k_con]

    budget_words = float(words) if words is not None else None
    budget_sents = sentences

    # at least one sentence: if nothing fits the word budget, take the best single sentence (one needing no
    # antecedent)
    fits = k_len <= budget_words if budget_words is not None else np.ones(len(keep), dtype=bool)
    if budget_words is not None:
        for d in sorted(k_needs):  # a unit fits when its whole chain does
            fits[d] = _chain_len(d, k_needs, k_len) <= budget_words
    if not fits.any():
        single_val = np.array([c_weight[o].sum() if o else 0.0 for o in occ]) + k_rel
        single_val[list(k_needs) + list(k_tails)] = -np.inf
        if not np.isfinite(single_val).any():
            return Summary([], "none", len(usable), len(keep), len(concepts))
        j = int(np.argmax(single_val))
        return Summary([int(usable[keep[j]])], "single", len(usable), len(keep), len(concepts), float(single_val[j]))

    solver = p["solver"]
    chosen = None
    used = "greedy"
    obj = 0.0
    if solver in ("auto", "ilp"):
        res = _solve_ilp(
            k_len, k_rel, occ, c_weight, pairs, budget_words, budget_sents, fits, p["time_limit"], p["mip_gap"],
            k_needs, k_tails,
        )
        if res is not None:
            chosen, obj, optimal = res
            used = "ilp"
            if not optimal:  # time limit hit: keep the better of the incumbent and the greedy solution
                g_chosen, g_obj = _solve_greedy(k_len, k_rel, occ, c_weight, pairs, budget_words, budget_sents, fits, k_needs, k_tails)
                if g_obj > obj:
                    chosen, obj, used = g_chosen, g_obj, "greedy"
    if chosen is None:
        chosen, obj = _solve_greedy(k_len, k_rel, occ, c_weight, pairs, budget_words, budget_sents, fits, k_needs, k_tails)
        used = "greedy"
    idx = [int(usable[keep[j]]) for j in chosen]
    idx.sort(key=lambda i: (_reading_key(candidates[i], g.aw), i))
    n_units = sum(1 for d in k_needs if d in set(chosen))
    return Summary(
        idx, used, len(usable), len(keep), len(concepts), float(obj), {"n_pairs": len(pairs), "n_units": n_units}
    )


def _units(candidates, usable, order, p, short=frozenset()):
    """Link each usable sentence that needs an antecedent to the sentence before it in its article.

    Returns ``(needs, blocked, tails)`` (positions in ``usable``): ``needs`` maps a sentence to the sentence it
    cannot go without; ``blocked`` holds the sentences that may not be chosen under ``dangling="unit"``, since the
    previous sentence is not usable or the chain of antecedents is longer than ``max_unit``; ``tails`` maps a
    ``short`` sentence that needs no antecedent (citable only inside a unit) to the pronoun-led sentence after it,
    without which it is not chosen. A ``short`` sentence that is not such an antecedent is blocked unless it needs
    an antecedent itself. ``order`` lists every candidate by (article, position).
    """
    if p["dangling"] != "unit":
        return {}, set(), {}
    prev_of: dict[int, int] = {}
    for x, y in zip(order, order[1:]):
        if candidates[x].article_id == candidates[y].article_id:
            prev_of[y] = x
    at = {i: j for j, i in enumerate(usable)}
    link: dict[int, int | None] = {}  # candidate -> antecedent candidate (None: no usable antecedent)
    for i in usable:
        if needs_antecedent(candidates[i].text):
            q = prev_of.get(i)
            link[i] = q if q in at else None
    depth: dict[int, int] = {}

    def chain(i: int) -> int:  # sentences in the unit ending at i; 0 when it cannot be completed
        if i in depth:
            return depth[i]
        if i not in link:
            depth[i] = 1
        elif link[i] is None:
            depth[i] = 0
        else:
            depth[i] = 0  # guard against cycles (none expected)
            up = chain(link[i])
            depth[i] = up + 1 if up else 0
        return depth[i]

    blocked = {j for j, i in enumerate(usable) if not 0 < chain(i) <= p["max_unit"]}
    follower = {q: i for i, q in link.items() if q is not None and at[i] not in blocked}
    tails: dict[int, int] = {}
    for j in short:
        i = usable[j]
        if j in blocked or i in link:
            continue  # a short pronoun-led sentence is a unit's last sentence: it needs only its antecedent
        if i in follower:
            tails[j] = at[follower[i]]
        else:
            blocked.add(j)
    needs = {at[i]: at[q] for i, q in link.items() if q is not None and at[i] not in blocked}
    return needs, blocked, tails
