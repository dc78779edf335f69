"""Cluster stage: articles -> themes -> stories, with c-TF-IDF keywords, short labels, stable ids, and the
placement of an update's new articles.

Modules: :mod:`~pipeline.cluster.core` (``cluster_articles``, the orchestration), :mod:`~pipeline.cluster.tree`
(leaves, neighbours, group-average trees, cuts), :mod:`~pipeline.cluster.cuts` (silhouette cut, polish),
:mod:`~pipeline.cluster.stories` (the story similarity: vectors, entities, time), :mod:`~pipeline.cluster.entities`
(names, places, numbers), :mod:`~pipeline.cluster.keywords` (keywords and labels), :mod:`~pipeline.cluster.ids`
(stable ids), :mod:`~pipeline.cluster.place` (update placement). Tuning constants live in the module that uses
them (patch ``pipeline.cluster.tree.MAX_LEAVES``, not this package's copy).
"""

from pipeline.cluster.core import SNN_K, SNN_WEIGHT, STORY_SMOOTH_K, cluster_articles
from pipeline.cluster.cuts import GRID_STEP, REFINE_ITERATIONS, _refine, _silhouettes
from pipeline.cluster.entities import EntityVectors, exclude_words, extract_entities
from pipeline.cluster.errors import ClusterError
from pipeline.cluster.ids import _assign_ids, _match_previous
from pipeline.cluster.keywords import KEYWORD_CHARS, KEYWORD_SAMPLE, _select_keywords, label_words
from pipeline.cluster.place import PlacementState, place
from pipeline.cluster.stories import STORY_THRESHOLD, parse_days
from pipeline.cluster.tree import MAX_LEAVES, _knn, _leaves, _snn, _upgma

__all__ = [
    "ClusterError", "EntityVectors", "PlacementState", "cluster_articles", "exclude_words", "extract_entities",
    "label_words", "parse_days", "place", "GRID_STEP", "KEYWORD_CHARS", "KEYWORD_SAMPLE", "MAX_LEAVES",
    "REFINE_ITERATIONS", "SNN_K", "SNN_WEIGHT", "STORY_SMOOTH_K", "STORY_THRESHOLD",
    "_assign_ids", "_knn", "_leaves", "_match_previous", "_refine", "_select_keywords", "_silhouettes", "_snn",
    "_upgma",
]
