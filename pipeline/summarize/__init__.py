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
   ``1 + position_weight / (1 + rank)``. When the embed stage embedded only each article's lead
   (``embed.lead_sentences``; ``embedded`` marks those rows), the centroid is theirs, and a sentence past the lead
   takes its article's mean lead cosine (``unembedded="article"``, the default: nothing more is embedded) or has its
   vector embedded when it could make the ``max_candidates`` cut (``"fetch"``: ``needed_vectors`` names them).
4. **Selection.** An integer program solved by HiGHS (through ``highspy``, pinned) maximises
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

Layout: ``core`` (``summarize_group``, parameters, units), ``sentences`` (``Candidate``, filters, openers, the cited
span, the checker), ``concepts`` (stemmed bigrams), ``solve`` (the ILP and the greedy fallback).
"""

from pipeline.summarize.core import (
    DEFAULTS,
    Summary,
    SummarizeError,
    needed_vectors,
    summarize_group,
    summarize_group_details,
)
from pipeline.summarize.sentences import (
    Candidate,
    citation,
    content_start,
    dangling_openers,
    dateline_openers,
    is_usable,
    needs_antecedent,
)

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
    "needed_vectors",
    "needs_antecedent",
    "summarize_group",
    "summarize_group_details",
]
