"""Names, places and numbers an article mentions, as TF-IDF vectors: the entity part of the story similarity.

Cheap and offline: an *entity* is a run of capitalised words ("Santa Rosa", "Barack Obama", "U.S.") with leading
stop words dropped ("The White House" -> "white house"), or a number of two digits or more ("7.8", "2010", "1,200"). A single capitalised word opening a sentence is not
one (it counts where it appears mid-sentence). A single
capitalised stop word (a sentence's "The", "But") is not one; weekday and month names are not (every article has
them); outlet names given in ``exclude`` are not. Articles sharing rare entities likely report the same event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from pipeline.forkmap import CTX, fork_map

_CAP_WORD = r"(?:[A-Z][\w'’.-]*[\w.]|[A-Z]\.?)"
_SPAN = re.compile(rf"{_CAP_WORD}(?:[ \t]+(?:(?:of|de|del|la|al|bin|van|von|le)[ \t]+)?{_CAP_WORD})*")
_NUMBER = re.compile(r"(?<![\w.])(?:\d{2,}|\d+[.,]\d+)(?:[.,]\d+)*(?![\w])")
_SENTENCE_START = re.compile(r"(?:^|[\n.!?]\s*|[\"“‘(]\s*)$")
_CALENDAR = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mr", "mrs", "ms", "dr", "i",
}
_STOP: frozenset[str] | None = None
#: Characters of each text (title + lead first) searched for entities: an event's names are in its lead, and the
#: regex work stays bounded on very long articles (2 ms an article of 3,300 characters on a loaded machine;
#: 2,000 characters dropped ECB+ stories ARI from 0.902 to 0.885).
ENTITY_CHARS = 6000


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
        for k, words in enumerate(_sentence_pieces(m.group(0).split())):
            at_start = k > 0 or _SENTENCE_START.search(text[max(0, m.start() - 3) : m.start()])
            if len(words) == 1 and at_start:
                continue  # one capitalised word opening a sentence ("Police said"): a name where seen mid-sentence
            _add(out, [w.strip(".").lower() for w in words], stop, exclude)
    out += [n.replace(",", "") for n in _NUMBER.findall(text)]
    return out


def _sentence_pieces(words: list[str]) -> list[list[str]]:
    """A span cut after a word that ends a sentence ("Rosa." in "Santa Rosa. The"; not "U.S.")."""
    pieces, cur = [], []
    for w in words:
        cur.append(w)
        if w.endswith(".") and w.count(".") == 1 and len(w) > 3:
            pieces.append(cur)
            cur = []
    return pieces + ([cur] if cur else [])


def _add(out: list[str], words: list[str], stop: frozenset[str], exclude: frozenset[str]) -> None:
    """Append the span ``words`` without its leading and trailing stop words, unless it names an outlet."""
    while words and words[0] in stop:
        words.pop(0)
    while words and words[-1] in stop:
        words.pop()
    if words and not any(w in exclude for w in words):
        out.append(" ".join(words))


def _entities_of(i: int) -> list[str]:
    return extract_entities(CTX["texts"][i][:ENTITY_CHARS], CTX["exclude"])


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
        ents = fork_map(_entities_of, len(texts), {"texts": texts, "exclude": exclude})  # on every core
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
        return self._matrix([extract_entities(t[:ENTITY_CHARS], self.exclude) for t in texts])

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
