"""Names, places and numbers an article mentions, as TF-IDF vectors: the entity part of the story similarity.

Cheap and offline: an *entity* is a run of capitalised words ("Santa Rosa", "Barack Obama", "U.S.") with leading
stop words dropped ("The White House" -> "white house"), or a number ("7.8", "2010", "1,200"). A single
capitalised stop word (a sentence's "The", "But") is not one; weekday and month names are not (every article has
them); outlet names given in ``exclude`` are not. Articles sharing rare entities likely report the same event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

_CAP_WORD = r"(?:[A-Z][\w'’.-]*[\w.]|[A-Z]\.?)"
_SPAN = re.compile(rf"{_CAP_WORD}(?:\s+(?:of|de|del|la|al|bin|van|von|le)?\s*{_CAP_WORD})*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?![\w])")
_CALENDAR = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mr", "mrs", "ms", "dr", "i",
}
_STOP: frozenset[str] | None = None


def _stop() -> frozenset[str]:
    global _STOP
    if _STOP is None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        _STOP = frozenset(ENGLISH_STOP_WORDS) | _CALENDAR
    return _STOP


def exclude_words(terms: Iterable[str]) -> frozenset[str]:
    """Lower-case words of outlet names (stop words dropped): ``["The Guardian"] -> {"guardian"}``."""
    stop = _stop()
    return frozenset(w for t in terms for w in re.findall(r"[\w'’.-]+", str(t).lower()) if w not in stop)


def extract_entities(text: str, exclude: frozenset[str] = frozenset()) -> list[str]:
    """Lower-case names, places and numbers in ``text``, in order of appearance (repeats kept)."""
    stop = _stop()
    out = []
    for m in _SPAN.finditer(text):
        words = [w.strip(".").lower() for w in m.group(0).split()]
        while words and words[0] in stop:
            words.pop(0)
        while words and words[-1] in stop:
            words.pop()
        if words and not any(w in exclude for w in words) and not all(w in stop for w in words):
            out.append(" ".join(words))
    out += [n.replace(",", "") for n in _NUMBER.findall(text)]
    return out


class EntityVectors:
    """TF-IDF (sublinear tf, L2-normalised rows) over the entities of a collection; ``transform`` maps new texts
    with the same vocabulary and weights (what an update needs)."""

    def __init__(self, vocabulary: Sequence[str] = (), idf: np.ndarray | None = None,
                 exclude: frozenset[str] = frozenset()):
        self.vocabulary = list(vocabulary)
        self.idf = np.asarray(idf if idf is not None else np.zeros(0), dtype=np.float64)
        self.exclude = frozenset(exclude)
        self._index = {t: i for i, t in enumerate(self.vocabulary)}

    @classmethod
    def fit(cls, texts: Sequence[str], exclude: frozenset[str] = frozenset()) -> tuple[EntityVectors, object]:
        """(the fitted vectoriser, the (n_texts, n_entities) CSR matrix of ``texts``). Entities seen in one text
        only are left out: they cannot link two articles."""
        ents = [extract_entities(t, exclude) for t in texts]
        df: dict[str, int] = {}
        for e in ents:
            for t in set(e):
                df[t] = df.get(t, 0) + 1
        vocab = sorted(t for t, c in df.items() if c >= 2)
        n = max(len(texts), 1)
        idf = np.log((1 + n) / (1 + np.array([df[t] for t in vocab], dtype=np.float64))) + 1.0
        self = cls(vocab, idf, exclude)
        return self, self._matrix(ents)

    def transform(self, texts: Sequence[str]):
        return self._matrix([extract_entities(t, self.exclude) for t in texts])

    def _matrix(self, ents: list[list[str]]):
        import scipy.sparse as sp

        rows, cols, vals = [], [], []
        for r, e in enumerate(ents):
            counts: dict[int, int] = {}
            for t in e:
                j = self._index.get(t)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            js = np.fromiter(sorted(counts), dtype=np.int64)
            v = (1.0 + np.log([counts[j] for j in js])) * self.idf[js]
            v /= np.linalg.norm(v)
            rows += [r] * len(js)
            cols += js.tolist()
            vals += v.tolist()
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(ents), len(self.vocabulary)), dtype=np.float64)
