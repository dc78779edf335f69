"""Multi-document extractive summarisation of a group of articles (a theme or a story).

Method (``summarize_group``), measured on MultiLing 2011 with ``benchmarks/compare_summarizers.py``:

1. **Filters.** Captions, bylines / credits, date-only lines, headings and other fragments (no final punctuation,
   lower-case start), questions, and sentences shorter than ``min_words`` or longer than ``max_words`` words are
   never chosen; exact duplicates (normalised text) keep their first copy in reading order. A dateline prefix
   ("WASHINGTON (Reuters) -") is skipped when scoring (``content_start``); the sentence itself stays usable.
   A sentence's *rank* is its position among its article's usable sentences (the lead is rank 0 even after a
   date line).
2. **Concepts** (Gillick & Favre's ICSISumm). Each sentence is cut into lower-cased, Porter-stemmed word bigrams;
   bigrams made of stop words only are dropped. Every article containing a concept votes for it with
   ``article_weight x (1 + concept_position_weight / (1 + rank of its first sentence holding it))``, so facts
   repeated in the leads weigh most; only concepts found in at least ``min_df`` articles are kept (3 for groups
   of 10 or more articles, else 2; for a single article, sentences take the place of articles).
3. **Relevance per word.** Cosine of the sentence vector to the group centroid (the article-weighted mean of the
   article centroids, from the embed stage's vectors, never re-embedded), times a lead prior
   ``1 + position_weight / (1 + rank)``.
4. **Selection.** An integer program solved by HiGHS (``scipy.optimize.milp``) maximises
   ``sum(concept weights covered) + relevance_weight x n_articles x sum(words x relevance)`` over the chosen
   sentences, under the word budget (a knapsack) or a sentence count, and forbids choosing two sentences whose
   vectors have cosine above ``redundancy``. Groups are first pruned to the ``max_candidates`` best sentences by
   a cheap score; a greedy cost-benefit solver is the fallback when HiGHS gives no solution (or a worse one at
   its time limit).
5. **No dangling reference** (``dangling="unit"``, the default). A sentence opening with a pronoun or connective
   ("He", "It", "This", "But", "Their", "However", ...: ``needs_antecedent``) is never a unit on its own: choosing
   it forces choosing the sentence before it in its article (a precedence constraint ``s_d <= s_prev`` in the
   program, and in the greedy fallback the whole chain is one option), and that sentence may itself need its own
   antecedent, up to ``max_unit`` sentences in all. Such a sentence whose antecedent cannot be chosen (a
   caption, a fragment, a duplicate) is not chosen at all. ``"drop"`` never chooses such sentences;
   ``"allow"`` treats them like any other sentence.
6. **Order.** The chosen sentences are returned in reading order: articles by date, then by centrality
   (``article_weights``, highest first), then id; sentences of one article in their order, so a sentence that
   needs an antecedent always comes right after it.

Parameters and defaults: ``DEFAULTS``.
"""

from __future__ import annotations

import math
import os
import re
import sys
import threading
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from pipeline import PipelineError
from pipeline.text import normalize

__all__ = [
    "DEFAULTS",
    "Candidate",
    "SummarizeError",
    "Summary",
    "citation",
    "content_start",
    "dangling_openers",
    "dateline_openers",
    "is_usable",
    "needs_antecedent",
    "summarize_group",
    "summarize_group_details",
]


class SummarizeError(PipelineError, ValueError):
    """Invalid parameters given to the summariser."""


@dataclass(frozen=True)
class Candidate:
    """One sentence that may be chosen: its span in the article text and where it sits in the article."""

    article_id: str
    start: int
    end: int
    text: str
    position: int
    n_in_article: int
    date: str | None = None
    is_caption: bool = False
    source: str | None = None


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
    "solver": "auto",  # "auto" (ILP, greedy fallback), "ilp" or "greedy"
    "time_limit": 10.0,  # seconds for HiGHS
    "mip_gap": 1e-3,  # relative optimality gap at which HiGHS stops
}

# --------------------------------------------------------------------------------------------------- filters

_DATELINE = re.compile(
    r"^(?:[A-Z][\w.'’&-]*(?:[ ,]+[A-Z][\w.'’&-]*){0,5})\s*(?:\([^()]{1,40}\))?\s*[-–—_]{1,2}\s+(?=\S)"
)
_DATELINE_AGENCY = re.compile(
    r"^[^()]{1,60}\((?:Reuters|AP|AFP|CNN|Bloomberg|UPI|dpa|Xinhua)\)\s*[-–—_:]?\s*", re.I
)
_BYLINE = re.compile(
    r"^\(?\s*(?:by\s+[A-Z]|reporting\s+by|writing\s+by|editing\s+by|additional\s+reporting|compiled\s+by|"
    r"contributed\s+by|sources?\s*:|photo\s*:|image\s*:|file\s+photo|pictured\s*:|caption\s*:|copyright|©|"
    r"all\s+rights\s+reserved|click\s+here|read\s+more|related\s*:|follow\s+us|sign\s+up|subscribe)",
    re.I,
)
_CAPTION = re.compile(
    r"^(?:\(\s*(?:photo|image|picture|video|file|credit|pictured)\b|"
    r"(?:photo|image|picture|video|file\s+photo|credit|pictured)(?:\s+credit)?\s*:)",
    re.I,
)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
#: Openers that refer back to an earlier sentence: personal and demonstrative pronouns and connectives.
_PRONOUN_LEAD = re.compile(
    r"^(?:he|she|they|it|him|them|this|these|those|that|his|her|hers|their|theirs|its|such|both|"
    r"but|and|or|so|however|also|meanwhile|instead|nevertheless|nonetheless|still|yet|then|thus|hence|"
    r"therefore|moreover|furthermore|besides|likewise|similarly|otherwise|consequently|accordingly|"
    r"in addition|as a result|by contrast|in contrast|on the other hand|even so|after that|afterwards|"
    r"the latter|the former|the same)\b(?!['’-])",
    re.I,
)
_END_OK = re.compile(r"""[.!]["'”’)\]]*$""")


def content_start(text: str) -> int:
    """Offset where a sentence's content starts once a dateline prefix ("WASHINGTON (Reuters) - ") is skipped."""
    m = _DATELINE_AGENCY.match(text)
    if m:
        return m.end()
    m = _DATELINE.match(text)
    if m and len(m.group(0).split()) <= 7:
        return m.end()
    return 0


def needs_antecedent(text: str) -> bool:
    """Whether a sentence opens with a pronoun or connective that refers to what came before ("He told ...",
    "It occurred at ...", "But the ...", "However, ..."), once a dateline prefix is skipped."""
    text = text.strip()
    return bool(_PRONOUN_LEAD.match(text[content_start(text) :]))


def citation(cand: Candidate) -> dict:
    """The cited span of a chosen sentence: ``{article_id, start, end, text, source, date}``.

    The span starts at the sentence proper: a URL, date or dateline still opening the sentence (articles split by
    an older version of the splitter) is left out (``pipeline.text.lead_start``).
    """
    from pipeline.text import lead_start

    text = cand.text
    skip = lead_start(text)
    if skip and skip < len(text):
        text = text[skip:]
    return {"article_id": cand.article_id, "start": cand.start + (len(cand.text) - len(text)), "end": cand.end,
            "text": text, "source": cand.source, "date": cand.date}


def _item(s) -> tuple[str, str]:
    if isinstance(s, Candidate):
        return s.article_id, s.text
    return s["article_id"], s["text"]


def dangling_openers(summary: Sequence) -> int:
    """Sentences of a summary that open with a pronoun or connective (``needs_antecedent``) but are first or follow
    a sentence of another article, so a reader attaches the reference to the wrong thing.

    ``summary`` : sequence of Candidate or of dicts with ``article_id`` and ``text`` (as in ``summaries.json``),
    in reading order.
    """
    n = 0
    prev = None
    for s in summary:
        aid, text = _item(s)
        if needs_antecedent(text) and aid != prev:
            n += 1
        prev = aid
    return n


def dateline_openers(summary: Sequence) -> int:
    """Cited sentences whose span opens with a URL, a date or a dateline (``pipeline.text.lead_start``)."""
    from pipeline.text import lead_start

    return sum(1 for s in summary if lead_start(_item(s)[1].strip()) > 0)


def is_usable(
    cand: Candidate,
    *,
    min_words: int = 8,
    max_words: int = 60,
    drop_questions: bool = True,
    dangling: str = "allow",
) -> bool:
    """Whether a candidate may be chosen: not a caption, byline, fragment, question, or too short or long.

    With ``dangling="drop"`` a sentence that needs an antecedent (``needs_antecedent``) is not usable either.
    """
    if cand.is_caption:
        return False
    text = cand.text.strip()
    body = text[content_start(text) :]
    if not body or _BYLINE.match(body) or _CAPTION.match(body):
        return False
    n = len(body.split())
    if n < min_words or n > max_words:
        return False
    if text.endswith("?") or text.rstrip("\"'”’)").endswith("?"):
        return not drop_questions
    if not _END_OK.search(text):  # headings, list items, cut-off text
        return False
    if not (body[0].isupper() or body[0].isdigit() or body[0] in "\"“‘'("):
        return False  # starts in lower case: a split mid-sentence
    if dangling == "drop" and _PRONOUN_LEAD.match(body):
        return False
    return True


# --------------------------------------------------------------------------------------------------- concepts


@lru_cache(maxsize=1)
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | {"s", "said", "says", "say", "mr", "mrs", "ms"}


@lru_cache(maxsize=1)
def _stemmer():
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


def _tokens(text: str) -> list[str]:
    out = []
    for m in _WORD.finditer(text):
        w = m.group(0).lower().replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        out.append(w)
    return out


@lru_cache(maxsize=300_000)
def _concepts(text: str) -> frozenset[tuple[str, str]]:
    """Stemmed word bigrams of a sentence, without the bigrams made of stop words only.

    Cached by text: a sentence is scored once for its theme and again for its story.
    """
    stop = _stop_words()
    toks = _tokens(text)
    out: set[tuple[str, str]] = set()
    for a, b in zip(toks, toks[1:]):
        if a in stop and b in stop:
            continue
        out.add((_stem(a), _stem(b)))
    return frozenset(out)


# --------------------------------------------------------------------------------------------------- params


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


# --------------------------------------------------------------------------------------------------- main


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
    **method_params,
) -> Summary:
    """``summarize_group`` returning a ``Summary`` with the solver used and counts (for tests and benchmarks)."""
    p = _params(words, sentences, method_params)
    if sentences is not None:
        words = None
    n = len(candidates)
    vectors = np.asarray(vectors, dtype=np.float32)
    if n == 0:
        return Summary([], "none")
    if vectors.ndim != 2 or vectors.shape[0] != n:
        raise SummarizeError(
            f"The 'vectors' parameter of summarize_group must have shape (n_candidates={n}, dim). "
            f"Got {vectors.shape} instead."
        )
    aw = {} if article_weights is None else dict(article_weights)
    for k, v in aw.items():
        if not (isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v) and v >= 0):
            raise SummarizeError(
                f"The 'article_weights' parameter of summarize_group must map article ids to non-negative "
                f"floats. Got {v!r} for {k!r} instead."
            )

    # ---- usable sentences, deduplicated on normalised text (the copy first in reading order is kept)
    order = sorted(range(n), key=lambda i: (candidates[i].article_id, candidates[i].position, i))
    first_copy: dict[str, int] = {}
    for i in sorted(range(n), key=lambda i: (_reading_key(candidates[i]), i)):
        first_copy.setdefault(normalize(candidates[i].text[content_start(candidates[i].text) :]), i)
    usable: list[int] = []
    rank: list[int] = []  # position among the article's usable sentences: the lead is rank 0 after a dateline
    n_ok: dict[str, int] = {}
    for i in order:
        c = candidates[i]
        if not is_usable(
            c,
            min_words=p["min_words"],
            max_words=p["max_words"],
            drop_questions=p["drop_questions"],
            dangling=p["dangling"],
        ):
            continue
        r = n_ok.get(c.article_id, 0)
        n_ok[c.article_id] = r + 1
        if first_copy[normalize(c.text[content_start(c.text) :])] != i:
            continue
        usable.append(i)
        rank.append(r)
    if not usable:
        return Summary([], "none")
    usable, rank, needs = _units(candidates, usable, rank, order, p)
    if not usable:
        return Summary([], "none")
    lengths = np.array([len(candidates[i].text.split()) for i in usable], dtype=np.float64)

    # ---- relevance: cosine to the weighted centroid of article centroids, times the lead prior
    art_ids = sorted({c.article_id for c in candidates})
    art_index = {a: k for k, a in enumerate(art_ids)}
    art_of = np.array([art_index[c.article_id] for c in candidates])
    weights = np.array([float(aw.get(a, 1.0)) for a in art_ids])
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    cent = np.zeros(vectors.shape[1], dtype=np.float64)
    for k in range(len(art_ids)):
        rows = vectors[art_of == k]
        if len(rows):
            m = rows.mean(axis=0)
            nm = np.linalg.norm(m)
            if nm > 0:
                cent += weights[k] * m / nm
    nc = np.linalg.norm(cent)
    uv = vectors[usable].astype(np.float64)
    cos = uv @ (cent / nc) if nc > 0 else np.zeros(len(usable))
    pos = np.array(rank, dtype=np.float64)
    if not p["use_embeddings"]:
        cos = np.ones(len(usable))
    relevance = np.clip(cos, 0.0, None) * (1.0 + p["position_weight"] / (1.0 + pos))

    # ---- concepts
    unit_of = [candidates[i].article_id for i in usable]
    n_articles = len(set(unit_of))
    sent_concepts = [_concepts(candidates[i].text[content_start(candidates[i].text) :]) for i in usable]
    concept_w: dict = {}
    if p["use_concepts"]:
        if n_articles >= 2:
            min_df = p["min_df"] if p["min_df"] is not None else (3 if n_articles >= 10 else 2)
            units: dict = {}
            cpw = p["concept_position_weight"]
            for cs, a, ps in zip(sent_concepts, unit_of, pos):
                for c in cs:
                    d = units.setdefault(c, {})
                    d[a] = min(d.get(a, ps), ps)
            for c, arts in units.items():
                if len(arts) >= min_df:
                    concept_w[c] = sum(float(aw.get(a, 1.0)) * (1.0 + cpw / (1.0 + ps)) for a, ps in arts.items())
        else:  # one article: a concept counts once per sentence that holds it
            min_df = p["min_df"] if p["min_df"] is not None else 2
            counts: dict = {}
            for cs in sent_concepts:
                for c in cs:
                    counts[c] = counts.get(c, 0) + 1
            concept_w = {c: float(k) for c, k in counts.items() if k >= min_df}
    # value of the relevance term, in concept-weight units per word
    rel_value = p["relevance_weight"] * max(1.0, float(n_articles)) * relevance * lengths
    if not concept_w:
        rel_value = relevance * lengths + 0.0  # nothing else to go on

    # ---- prune to the best max_candidates by a cheap score
    cheap = np.array([sum(concept_w.get(c, 0.0) for c in cs) for cs in sent_concepts]) / np.sqrt(lengths)
    cheap = cheap / (cheap.max() or 1.0) + relevance / (relevance.max() or 1.0)
    keep = np.arange(len(usable))
    if len(usable) > p["max_candidates"]:
        # stable: ties broken by (article_id, position) through the usable order
        keep = np.sort(np.argsort(-cheap, kind="stable")[: p["max_candidates"]])
    if needs:  # a kept sentence keeps the antecedents it needs
        kept = set(keep.tolist())
        for j in list(kept):
            while j in needs:
                j = needs[j]
                kept.add(j)
        keep = np.array(sorted(kept), dtype=np.int64)
    k_pos = {int(j): t for t, j in enumerate(keep)}
    k_needs = {k_pos[d]: k_pos[a] for d, a in needs.items() if d in k_pos}

    # ---- redundancy pairs
    kv = uv[keep]
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
        single_val[list(k_needs)] = -np.inf
        if not np.isfinite(single_val).any():
            return Summary([], "none", len(usable), len(keep), len(concepts))
        j = int(np.argmax(single_val))
        return Summary([usable[keep[j]]], "single", len(usable), len(keep), len(concepts), float(single_val[j]))

    solver = p["solver"]
    chosen = None
    used = "greedy"
    obj = 0.0
    if solver in ("auto", "ilp"):
        res = _solve_ilp(
            k_len, k_rel, occ, c_weight, pairs, budget_words, budget_sents, fits, p["time_limit"], p["mip_gap"],
            k_needs,
        )
        if res is not None:
            chosen, obj, optimal = res
            used = "ilp"
            if not optimal:  # time limit hit: keep the better of the incumbent and the greedy solution
                g_chosen, g_obj = _solve_greedy(k_len, k_rel, occ, c_weight, pairs, budget_words, budget_sents, fits, k_needs)
                if g_obj > obj:
                    chosen, obj, used = g_chosen, g_obj, "greedy"
    if chosen is None:
        chosen, obj = _solve_greedy(k_len, k_rel, occ, c_weight, pairs, budget_words, budget_sents, fits, k_needs)
        used = "greedy"
    idx = [usable[keep[j]] for j in chosen]
    idx.sort(key=lambda i: (_reading_key(candidates[i], aw), i))
    n_units = sum(1 for d in k_needs if d in set(chosen))
    return Summary(
        idx, used, len(usable), len(keep), len(concepts), float(obj), {"n_pairs": len(pairs), "n_units": n_units}
    )


def _chain_len(d: int, needs: Mapping[int, int], lengths) -> float:
    total = float(lengths[d])
    while d in needs:
        d = needs[d]
        total += float(lengths[d])
    return total


def _units(candidates, usable, rank, order, p):
    """Link each usable sentence that needs an antecedent to the sentence before it in its article.

    Returns ``(usable, rank, needs)`` where ``needs`` maps a position in ``usable`` to the position of the sentence
    it cannot go without. With ``dangling="unit"``, a sentence whose previous sentence is not usable, or whose
    chain of antecedents is longer than ``max_unit``, is removed. ``order`` lists every candidate by
    (article, position).
    """
    if p["dangling"] != "unit":
        return usable, rank, {}
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

    keep = [j for j, i in enumerate(usable) if 0 < chain(i) <= p["max_unit"]]
    if len(keep) < len(usable):
        usable = [usable[j] for j in keep]
        rank = [rank[j] for j in keep]
        at = {i: j for j, i in enumerate(usable)}
    needs = {at[i]: at[q] for i, q in link.items() if i in at and q is not None}
    return usable, rank, needs


_STDOUT_LOCK = threading.Lock()


@contextmanager
def _quiet_c_stdout():
    """Silence file descriptor 1 while HiGHS runs: some HiGHS builds printf debug lines even with output off."""
    with _STDOUT_LOCK:
        try:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
        except Exception:  # pragma: no cover - no usable fd 1
            yield
            return
        try:
            os.dup2(devnull, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)


def _solve_ilp(lengths, rel, occ, c_weight, pairs, budget_words, budget_sents, fits, time_limit, mip_gap, needs=None):
    """Concept-coverage ILP solved by HiGHS. Returns (chosen positions, objective, proven optimal) or None.

    ``needs`` maps a sentence to the one it cannot be chosen without (``s_d <= s_a``).
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    ns, nc = len(lengths), len(c_weight)
    # variables: s_0..s_{ns-1}, c_0..c_{nc-1}; milp minimises
    # tiny tie-break towards earlier candidates (sorted by article_id, position) keeps the result deterministic
    tie = 1e-6 * (1.0 - np.arange(ns) / max(ns, 1))
    cost = -np.concatenate([rel + tie, c_weight])
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    if budget_words is not None:
        for j in range(ns):
            rows.append(r), cols.append(j), vals.append(lengths[j])
        lo.append(-np.inf), hi.append(budget_words)
        r += 1
    if budget_sents is not None:
        for j in range(ns):
            rows.append(r), cols.append(j), vals.append(1.0)
        lo.append(-np.inf), hi.append(float(budget_sents))
        r += 1
    # c_t <= sum of s_j over sentences holding t
    holders: list[list[int]] = [[] for _ in range(nc)]
    for j, o in enumerate(occ):
        for t in o:
            holders[t].append(j)
    for t in range(nc):
        rows.append(r), cols.append(ns + t), vals.append(1.0)
        for j in holders[t]:
            rows.append(r), cols.append(j), vals.append(-1.0)
        lo.append(-np.inf), hi.append(0.0)
        r += 1
    for a, b in pairs:
        rows.append(r), cols.append(a), vals.append(1.0)
        rows.append(r), cols.append(b), vals.append(1.0)
        lo.append(-np.inf), hi.append(1.0)
        r += 1
    for d, a in sorted((needs or {}).items()):
        rows.append(r), cols.append(d), vals.append(1.0)
        rows.append(r), cols.append(a), vals.append(-1.0)
        lo.append(-np.inf), hi.append(0.0)
        r += 1
    upper = np.concatenate([fits.astype(np.float64), np.ones(nc)])
    constraints = []
    if r:
        a_mat = coo_matrix((vals, (rows, cols)), shape=(r, ns + nc)).tocsr()
        constraints = [LinearConstraint(a_mat, np.array(lo), np.array(hi))]
    integrality = np.concatenate([np.ones(ns), np.zeros(nc)])  # c_t is integral at an optimum given s
    try:
        with _quiet_c_stdout():
            res = milp(
                cost,
                integrality=integrality,
                bounds=Bounds(np.zeros(ns + nc), upper),
                constraints=constraints,
                options={"time_limit": float(time_limit), "mip_rel_gap": float(mip_gap), "presolve": True},
            )
    except Exception:  # pragma: no cover - solver failure falls back to greedy
        return None
    if res.x is None or res.status not in (0, 1):
        return None
    chosen = [j for j in range(ns) if res.x[j] > 0.5]
    if not chosen:
        return None
    return chosen, float(-res.fun), res.status == 0


def _solve_greedy(lengths, rel, occ, c_weight, pairs, budget_words, budget_sents, fits, needs=None):
    """Greedy cost-benefit selection (gain per word) with the same constraints; best single sentence if better.

    A sentence that needs an antecedent (``needs``) is an option together with its not yet chosen antecedents.
    """
    needs = needs or {}
    ns = len(lengths)
    conflict: list[set[int]] = [set() for _ in range(ns)]
    for a, b in pairs:
        conflict[a].add(b)
        conflict[b].add(a)
    chains = []
    for j in range(ns):
        c = [j]
        while c[-1] in needs:
            c.append(needs[c[-1]])
        chains.append(c)
    covered = np.zeros(len(c_weight), dtype=bool)
    chosen: list[int] = []
    is_chosen = np.zeros(ns, dtype=bool)
    banned = np.zeros(ns, dtype=bool)
    banned[~fits] = True
    used_words = 0.0
    total = 0.0
    while True:
        best, best_score, best_gain, best_add = -1, -np.inf, 0.0, []
        for j in range(ns):
            if banned[j] or is_chosen[j]:
                continue
            add = [t for t in chains[j] if not is_chosen[t]]
            if any(banned[t] for t in add) or any(t in conflict[u] for t in add for u in add if u < t):
                continue
            if budget_sents is not None and len(chosen) + len(add) > budget_sents:
                continue
            words = float(sum(lengths[t] for t in add))
            if budget_words is not None and used_words + words > budget_words:
                continue
            new = {c for t in add for c in occ[t] if not covered[c]}
            gain = float(sum(rel[t] for t in add)) + (float(c_weight[sorted(new)].sum()) if new else 0.0)
            score = gain / words if budget_words is not None else gain
            if score > best_score + 1e-12:
                best, best_score, best_gain, best_add = j, score, gain, add
        if best < 0 or best_gain <= 0:
            break
        for t in best_add:
            chosen.append(t)
            is_chosen[t] = True
            used_words += lengths[t]
            for u in conflict[t]:
                banned[u] = True
            for c in occ[t]:
                covered[c] = True
        total += best_gain
    single = np.array([(c_weight[o].sum() if o else 0.0) + rel[j] for j, o in enumerate(occ)])
    single[~fits] = -np.inf
    if needs:
        single[list(needs)] = -np.inf
    j1 = int(np.argmax(single))
    if np.isfinite(single[j1]) and (not chosen or single[j1] > total):
        return [j1], float(single[j1])
    return sorted(chosen), total
