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
    """Lower-cased words of a text, a final "'s" dropped ("Trump's" -> "trump").

    The words are ASCII letters and digits with at most one apostrophe, so lower-casing them joined by spaces is
    lower-casing each, and "'s " marks a word ending in "'s".
    """
    words = _WORD.findall(text)
    if not words:
        return []
    return (" ".join(words) + " ").lower().replace("’", "'").replace("'s ", " ").split(" ")[:-1]


@lru_cache(maxsize=300_000)
def _concepts(text: str) -> frozenset[tuple[str, str]]:
    """Stemmed word bigrams of a sentence, without the bigrams made of stop words only.

    Cached by text: a sentence is scored once for its theme and again for its story.
    """
    stop = _stop_words()
    toks = _tokens(text)
    stems = [_stem(w) for w in toks]
    is_stop = [w in stop for w in toks]
    # the same insertions in the same order as one loop over the bigrams: the same set, iterated in the same order
    return frozenset(
        {(stems[k - 1], stems[k]) for k in range(1, len(toks)) if not (is_stop[k - 1] and is_stop[k])}
    )
