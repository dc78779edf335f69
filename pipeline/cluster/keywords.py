"""Keywords (class-based TF-IDF over 1-3-grams) and short unique labels."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

#: Characters of each article (title + lead) used for keywords: keeps c-TF-IDF cheap on 100k articles.
KEYWORD_CHARS = 1000
#: Above this many articles, keywords are counted on each story's most central articles in proportion.
KEYWORD_SAMPLE = 30000
#: Reporting words that every news article uses: not keywords.
_NEWS_WORDS = {"said", "says", "say", "told", "according", "reported", "reports", "added", "just", "like",
               "reuters", "afp", "ap", "mr", "mrs", "ms", "monday", "tuesday", "wednesday", "thursday", "friday",
               "saturday", "sunday", "year", "years", "new", "time"}
_STOP_WORDS: list[str] | None = None
_TOKEN = r"(?u)\b[^\W\d_][\w'’-]*[^\W_]\b"


def _stem(word: str) -> str:
    """A tiny plural/possessive folding used only to spot near-duplicate keywords ("force" ~ "forces")."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ss") or len(w) <= 3:
        return w
    for suf, rep in (("ies", "y"), ("es", "e"), ("s", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            return w[: len(w) - len(suf)] + rep
    return w


def _phrase_key(phrase: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in phrase.split())


def _contains(long: tuple[str, ...], short: tuple[str, ...]) -> bool:
    k = len(short)
    return k < len(long) and any(long[i : i + k] == short for i in range(len(long) - k + 1))


def _select_keywords(terms: Sequence[str], scores: Sequence[float], n: int) -> list[str]:
    """The ``n`` best keyphrases (``terms`` sorted by decreasing ``scores``) with near-duplicates merged.

    Near-duplicates: equal after plural/possessive folding ("iraqi force" ~ "iraqi forces"), or one phrase inside
    the other. A longer phrase scoring at least half as much as a chosen shorter one replaces it ("gaza" ->
    "gaza strip"), otherwise it is dropped; a shorter phrase inside a chosen longer one is dropped.
    """
    chosen: list[list] = []  # [phrase, score, key]
    for p, s in zip(terms, scores):
        if s <= 0 or len(chosen) >= n:
            break
        key = _phrase_key(p)
        action, target = "add", None
        for c in chosen:
            if c[2] == key or _contains(c[2], key):
                action = "skip"
                break
            if _contains(key, c[2]):
                action, target = ("replace" if s >= 0.5 * c[1] else "skip"), c
                break
        if action == "add":
            chosen.append([p, s, key])
        elif action == "replace":
            target[0], target[2] = p, key
    out: list[str] = []
    keys: list[tuple[str, ...]] = []
    for p, _s, key in chosen:
        if any(k == key or _contains(k, key) or _contains(key, k) for k in keys):
            continue
        out.append(p)
        keys.append(key)
    return out


def _stop_words() -> list[str]:
    global _STOP_WORDS
    if _STOP_WORDS is None:
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        _STOP_WORDS = sorted(set(ENGLISH_STOP_WORDS) | _NEWS_WORDS)
    return _STOP_WORDS


def _diag(keep: np.ndarray):
    import scipy.sparse as sp

    return sp.diags(keep.astype(np.float32)).tocsr()


class _Keywords:
    """Class-based TF-IDF over 1-3-grams (English stop words removed), computed once per run."""

    def __init__(self, texts: Sequence[str], exclude: frozenset[str] = frozenset()):
        from sklearn.feature_extraction.text import CountVectorizer

        docs = [t[:KEYWORD_CHARS] for t in texts]
        self.n = len(docs)
        kw = dict(ngram_range=(1, 3), stop_words=_stop_words(), token_pattern=_TOKEN, lowercase=True, dtype=np.float32)
        try:
            cv = CountVectorizer(min_df=2 if self.n >= 50 else 1, **kw)
            self.x = cv.fit_transform(docs).tocsr()
            self.terms = cv.get_feature_names_out()
            if exclude:  # outlet names are never keywords: their columns are zeroed
                bad = np.array([any(w in exclude for w in t.split()) for t in self.terms], dtype=bool)
                if bad.any():
                    self.x = (self.x @ _diag(~bad)).tocsr()
                    self.x.eliminate_zeros()
        except ValueError:  # empty vocabulary (no words, only stop words)
            self.x, self.terms = None, np.array([], dtype=object)

    def top(self, groups: list[np.ndarray], n_keywords: int) -> list[list[str]]:
        """Keyphrases of each group of article rows: BERTopic's c-TF-IDF, tf(t,c)/|c| * log(1 + A/f(t)).

        Articles in no group form one more class, so words common everywhere are not distinctive.
        """
        import scipy.sparse as sp

        if self.x is None or not groups:
            return [[] for _ in groups]
        member = np.full(self.n, len(groups), dtype=np.int64)
        for i, g in enumerate(groups):
            member[g] = i
        ind = sp.csr_matrix((np.ones(self.n), (member, np.arange(self.n))), shape=(len(groups) + 1, self.n))
        tf = (ind @ self.x).tocsr()
        words = np.asarray(tf.sum(axis=1)).ravel()
        keep = words > 0
        f = np.asarray(tf.sum(axis=0)).ravel()
        avg = words[keep].mean() if keep.any() else 1.0
        idf = np.log1p(avg / np.maximum(f, 1e-12))
        out = []
        for i in range(len(groups)):
            a, b = tf.indptr[i], tf.indptr[i + 1]
            cols, vals = tf.indices[a:b], tf.data[a:b] / max(words[i], 1e-12) * idf[tf.indices[a:b]]
            # score desc, then term asc: deterministic ties
            order = np.lexsort((self.terms[cols], -np.round(vals, 12)))[: 4 * n_keywords + 10]
            out.append(_select_keywords([str(self.terms[cols[j]]) for j in order], vals[order].tolist(), n_keywords))
        return out


# --------------------------------------------------------------------------------------------- labels

_SEP = " · "
_SURFACE = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)


def label_words(label: str) -> list[str]:
    """The words of a label (the `` · `` separators are not words)."""
    return [w for w in label.split() if w != "·"]


def _surface_forms(texts: Sequence[str]) -> dict[str, str]:
    """lower-case word -> how ``texts`` spell it: lower case when at least a quarter of its uses are (common words
    capitalised in headlines stay lower case), else its most frequent spelling (ties: alphabetical)."""
    counts: dict[str, dict[str, int]] = {}
    for t in texts:
        for w in _SURFACE.findall(t):
            d = counts.setdefault(w.lower(), {})
            d[w] = d.get(w, 0) + 1
    out = {}
    for k, d in counts.items():
        out[k] = k if 4 * d.get(k, 0) >= sum(d.values()) else min(d.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return out


def _same_word(a: str, b: str) -> bool:
    """Equal, or one a short extension of the other ("iraq" / "iraqi", "iran" / "iranian")."""
    if a == b:
        return True
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 4 and long.startswith(short) and len(long) - len(short) <= 3


def _make_label(keywords: Sequence[str], forms: dict[str, str], skip: int = 0) -> str:
    """2-6 words: the top keyphrases (up to three) joined with `` · ``, spelled as in the articles."""
    parts: list[str] = []
    n_words = 0
    used: set[str] = set()
    for p in list(keywords)[skip:]:
        toks = p.split()
        stems = {_stem(t) for t in toks}
        if n_words + len(toks) > 6 or any(_same_word(a, b) for a in stems for b in used):
            continue
        parts.append(" ".join(forms.get(t, t) for t in toks))
        used |= {_stem(t) for t in toks}
        n_words += len(toks)
        if len(parts) == 3 or n_words >= 5:
            break
    return _SEP.join(parts)


def _unique_labels(keywords: list[list[str]], forms: list[dict[str, str]], fallback: list[str]) -> list[str]:
    """One label per group, all different; fallback words when there are no keywords."""
    labels = []
    for kws, fm, fb in zip(keywords, forms, fallback):
        lab = _make_label(kws, fm)
        if len(label_words(lab)) < 2:
            lab = (lab + _SEP + fb) if lab else fb
        labels.append(lab)
    for _ in range(3):  # disambiguate repeated labels with the next keyphrases
        seen: dict[str, list[int]] = {}
        for i, lab in enumerate(labels):
            seen.setdefault(lab.lower(), []).append(i)
        dups = [ix for ix in seen.values() if len(ix) > 1]
        if not dups:
            return labels
        for ix in dups:
            for rank, i in enumerate(ix[1:], start=1):
                alt = _make_label(keywords[i], forms[i], skip=rank)
                if len(label_words(alt)) >= 2 and alt.lower() not in seen:
                    labels[i] = alt
    seen_l: set[str] = set()
    for i, lab in enumerate(labels):
        base, k = lab, 2
        while lab.lower() in seen_l:
            words = label_words(base)
            lab = (base if len(words) < 6 else _SEP.join(base.split(_SEP)[:-1]) or fallback[i]) + f" ({k})"
            k += 1
        labels[i] = lab
        seen_l.add(lab.lower())
    return labels
