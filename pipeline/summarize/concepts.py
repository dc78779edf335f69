"""Concepts of a sentence: lower-cased, Porter-stemmed word bigrams without the stop-word-only ones (ICSISumm)."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


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
