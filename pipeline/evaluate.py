"""Metrics against labelled data: clustering quality and ROUGE.

Scoring conventions (``shared/data/README.md``):

- Clustering: ARI, NMI (arithmetic mean), AMI, V-measure and B-cubed precision / recall / F1 against a gold
  label; an article left unclustered (label ``-1`` or ``None``) counts as a cluster of its own.
- Summaries: ROUGE-1 / ROUGE-2 / ROUGE-L recall and F1 from ``rouge-score`` with ``use_stemmer=True``; each
  system summary is cut to its first N words, scored against each reference, averaged over references, then
  over groups.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
from sklearn import metrics as skm

UNCLUSTERED = (-1, None, "")


def _singletonize(pred: Sequence[Hashable]) -> list[Hashable]:
    """Give every unclustered item (``-1`` / ``None`` / ``""``) a label of its own."""
    out: list[Hashable] = []
    for i, p in enumerate(pred):
        out.append(("__single__", i) if p in UNCLUSTERED else ("c", p))
    return out


def _codes(labels: Sequence[Hashable]) -> np.ndarray:
    index: dict[Hashable, int] = {}
    return np.fromiter((index.setdefault(x, len(index)) for x in labels), dtype=np.int64, count=len(labels))


def bcubed(true: Sequence[Hashable], pred: Sequence[Hashable]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga & Baldwin), in O(n) through the contingency counts.

    For item i: precision = |pred(i) & true(i)| / |pred(i)|, recall = |pred(i) & true(i)| / |true(i)|,
    averaged over items.
    """
    if len(true) != len(pred):
        raise ValueError(f"len(true)={len(true)} should equal len(pred)={len(pred)}.")
    n = len(true)
    if n == 0:
        return 0.0, 0.0, 0.0
    t, p = _codes(true), _codes(pred)
    pair = Counter(zip(t.tolist(), p.tolist()))
    tsize, psize = Counter(t.tolist()), Counter(p.tolist())
    prec = sum(c * c / psize[pk] for (tk, pk), c in pair.items()) / n
    rec = sum(c * c / tsize[tk] for (tk, pk), c in pair.items()) / n
    f1 = 0.0 if prec + rec == 0 else 2 * prec * rec / (prec + rec)
    return prec, rec, f1


def clustering_scores(true: Sequence[Hashable], pred: Sequence[Hashable]) -> dict[str, float]:
    """All clustering metrics of ``pred`` against ``true``.

    Parameters
    ----------
    true : sequence of shape (n_items,)
        Gold labels.
    pred : sequence of shape (n_items,)
        Predicted cluster labels; ``-1``, ``None`` or ``""`` mean unclustered (each one a singleton).
    """
    if len(true) != len(pred):
        raise ValueError(f"len(true)={len(true)} should equal len(pred)={len(pred)}.")
    pred_s = _singletonize(pred)
    t, p = _codes(list(true)), _codes(pred_s)
    bp, br, bf = bcubed(t.tolist(), p.tolist())
    h, c, v = skm.homogeneity_completeness_v_measure(t, p)
    return {
        "ari": float(skm.adjusted_rand_score(t, p)),
        "nmi": float(skm.normalized_mutual_info_score(t, p, average_method="arithmetic")),
        "ami": float(skm.adjusted_mutual_info_score(t, p)),
        "v_measure": float(v),
        "homogeneity": float(h),
        "completeness": float(c),
        "bcubed_precision": float(bp),
        "bcubed_recall": float(br),
        "bcubed_f1": float(bf),
        "n_clusters": int(len(set(p.tolist()))),
        "n_true": int(len(set(t.tolist()))),
    }


def cut_words(text: str, n_words: int | None) -> str:
    """The first ``n_words`` whitespace-separated words of ``text`` (all of it when ``n_words`` is None)."""
    if n_words is None:
        return text
    return " ".join(text.split()[:n_words])


_SCORER = None


def _scorer():
    global _SCORER
    if _SCORER is None:
        from rouge_score import rouge_scorer

        _SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    return _SCORER


def rouge_scores(
    system: Mapping[str, str], references: Mapping[str, Sequence[str]], *, n_words: int | None = 100
) -> dict[str, float]:
    """Mean ROUGE-1/2/L recall and F1 (in percent) over the groups present in both mappings.

    Parameters
    ----------
    system : mapping group -> summary text
    references : mapping group -> list of reference summaries
    n_words : int or None
        Cut each system summary to its first ``n_words`` words before scoring.
    """
    groups = sorted(set(system) & set(references))
    if not groups:
        raise ValueError("no group is present in both the system summaries and the references.")
    scorer = _scorer()
    sums: dict[str, float] = Counter()
    for g in groups:
        refs = [r for r in references[g] if r.strip()]
        if not refs:
            continue
        sys_text = cut_words(system[g], n_words)
        acc: dict[str, float] = Counter()
        for ref in refs:
            s = scorer.score(ref, sys_text)
            for key, name in (("rouge1", "rouge1"), ("rouge2", "rouge2"), ("rougeL", "rougeL")):
                acc[f"{name}_recall"] += s[key].recall
                acc[f"{name}_f1"] += s[key].fmeasure
        for k, v in acc.items():
            sums[k] += v / len(refs)
    out = {k: 100.0 * v / len(groups) for k, v in sorted(sums.items())}
    out["n_groups"] = len(groups)
    return out
