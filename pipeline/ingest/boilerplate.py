"""Outlet boilerplate: the house text each outlet wraps its copy in, found and set aside (never deleted).

Datelines ("MOSCOW, February 7. /TASS/.", "LONDON (Reuters) -"), bylines, credit lines ("Reporting by ...; Editing
by ..."), prompts ("Read more: ...", "Follow us on ..."), copyright lines, related links and footers are marked as
character spans of the article text. The text itself is untouched, so every offset still holds; the spans are left
out of sentence splitting, and so out of embedding, keywords, labels and summaries.

Two kinds of evidence, neither a list of outlets:

1. **Conventions of the trade** (:func:`pattern_spans`), true of any outlet: a dateline opening the text (a
   place in capitals, or a place followed by an agency in parentheses or slashes, then a dash, colon or full stop),
   a URL or a date alone ahead of the text, a byline paragraph ("By Jane Doe"), credit / copyright / prompt
   paragraphs and trailing credits ("(Reporting by ...)", "(AFP, dpa)").
2. **What repeats inside one outlet** (:func:`learned_spans`), learned from the collection itself: articles are
   grouped by ``source`` (articles without one form one group), and within a group a unit found in at least
   ``max(min_articles, min_share x group size)`` articles is house text:

   - a whole paragraph (up to 40 words) repeated verbatim (digits ignored);
   - a short paragraph near the head or the tail whose *shape* repeats (capitalised words and numbers folded, so
     "By Jane Doe | Staff writer" and "By Ali Khan | Staff writer" are one shape), if the shape has a word of its
     own besides the folded ones;
   - the opening words of short paragraphs up to a separator ("Related:", "ALSO READ |"), anywhere in the text;
   - a run of tokens that ends many texts ("Source:-Al Jazeera and news agencies", "(China Daily European
     Weekly 01/27/2017 page32)"), starting at a capitalised word, a bracket or a sentence start;
   - an opening anchor: a token n-gram holding punctuation, among the first 12 tokens ("/TASS/.", "(CNN)"),
     preceded only by dateline-like tokens (capitalised words, numbers, commas).

Spans are merged and sorted. A span inside a sentence that neither starts nor ends it would cut the sentence in two,
so it is dropped (such house text is vanishingly rare; the head and tail rules never produce it).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

#: Paragraphs at most this many words long can be house text when they repeat verbatim.
MAX_REPEATED_WORDS = 40
#: Short paragraphs (at most this many words) are judged by shape and by prefix.
MAX_SHORT_WORDS = 25
#: Paragraphs counted as the head and the tail of a text, for the shape rule.
HEAD_PARAGRAPHS = 3
TAIL_PARAGRAPHS = 4
#: Tokens examined at the end of a text (repeated endings) and at its start (opening anchors).
TAIL_TOKENS = 48
HEAD_TOKENS = 12
#: Learned spans that would leave fewer words than this (or this share of the text) are dropped for that text: it is
#: a template of the outlet's own stories, not house text around one.
MIN_CONTENT_WORDS = 4
MIN_CONTENT_SHARE = 0.1
#: Repetition is learned only in outlets with at least this many distinct articles: among fewer, a repeat is weak
#: evidence (a series of related stories shares sentences too).
MIN_GROUP = 10

#: Kinds of span learned from repetition (the others come from conventions alone).
LEARNED_KINDS = frozenset({"repeated paragraph", "repeated paragraph shape", "repeated prefix", "repeated ending",
                           "repeated opening"})

_MONTHS = ("january february march april may june july august september october november december "
           "jan feb mar apr jun jul aug sep sept oct nov dec").split()
_DAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
_MONTH_SET = frozenset(_MONTHS) - {"may", "mar", "jun"}  # "may" is mostly a verb
_DAY_SET = frozenset(_DAYS)
_MONTH_RE = r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|" \
            r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
_DAY_RE = r"(?:Mon|Tues?|Wed(?:nes)?|Thu(?:rs)?|Fri|Sat(?:ur)?|Sun)(?:day)?\.?"
_DATE_RE = (rf"(?:(?:{_DAY_RE},?\s+)?(?:{_MONTH_RE}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|"
            rf"\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_RE}(?:,?\s+\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}))")
# A place in capitals ("WASHINGTON", "NEW YORK", "SAN JOSE, Calif.") with a date or an agency or a dash; or a place
# in any case followed by an agency in parentheses or slashes ("Washington (CNN)", "MOSCOW, March 3. /TASS/.").
_PLACE_CAPS = r"(?=[A-Z.'’ -]*[A-Z]{3})[A-Z][A-Z.'’]*(?:[ -][A-Z][A-Z.'’]*){0,3}"
_PLACE_ANY = r"[A-Z][\w.'’]+(?:[ -][A-Z][\w.'’]+){0,3}"
_REGION = r"(?:,\s*[A-Z][A-Za-z.]+(?:\s[A-Z][A-Za-z.]+)?|\s*\([A-Z][\w .]{1,30}\)|\s*/[A-Z][\w .]{1,30}/)"
_AGENCY = r"(?:\(\s*[A-Z][\w.&' -]{0,28}\)|/\s*[A-Z][\w.,&' -]{1,60}/)"
_DASH = r"(?:\s*[.,:]?\s*[-–—―]{1,3}|\s*:)"
_FUNCTION_WORD = r"(?:The|A|An|In|On|At|For|From|Since|Until|By|After|Before|During|Last|Next|This|That|Between|As|" \
                 r"Of|To|And|But|Or|Through|Till|Into|Over|Under|Around|About|With|Without|Until|When|While)\b"
_DATE_PART = rf"(?:,?\s+{_DATE_RE})?"
# (used with ``.match(text, pos)``, so no ``^``: it would only match at the start of the whole text)
_DATELINE = re.compile(
    rf"(?:[-–—•*|]+\s*(?=[A-Z])"  # a stray separator left ahead of the lead
    rf"|{_PLACE_CAPS}{_REGION}?{_DATE_PART}[.,]?\s*(?:{_AGENCY}(?:{_DASH}|\s*[.,:])?|{_DASH})"
    rf"|{_PLACE_CAPS}{_REGION}?,?\s+{_DATE_RE}[.,]"
    rf"|{_PLACE_ANY}{_REGION}?{_DATE_PART}[.,]?\s*{_AGENCY}(?:{_DASH}|\s*[.:](?=\s)|(?=\S))"
    rf"|{_PLACE_ANY}{_REGION}?,?\s+{_DATE_RE}[.,]?\s*{_AGENCY}\s+"
    rf"|(?!{_FUNCTION_WORD}){_PLACE_ANY}{_REGION}?,?\s+{_DATE_RE}(?:,?\s+\d{{4}})?{_DASH})"
    rf"\s*(?=[\"“‘'(\[]?[A-Z0-9]|https?\s*:|www\s*\.)"
)
_URL_HEAD = re.compile(
    r"(?:https?\s*:\s*/\s*/|www\s*\.)\s*[\w-]+(?:\s*[./]\s*[\w%=?&~+-]+)*(?:\s*/)?\s*", re.I
)
_DATE_ONLY = re.compile(rf"^\s*{_DATE_RE}\.?\s*$", re.I)
_BYLINE = re.compile(
    r"^(?:by|written by|story by|words by|text by|reported by)\s+[A-Z][\w.'’-]+(?:\s+(?:[A-Z][\w.'’-]+|de|van|von|"
    r"al|bin|da|di|la|le))*\s*(?:(?:,|\||and|&|-|–|—)\s*.*)?$",
    re.I,
)
_CREDIT = re.compile(
    r"^\(?\s*(?:(?:additional\s+)?reporting\s+by|writing\s+by|editing\s+by|compiled\s+by|produced\s+by|"
    r"translated\s+by|photos?\s+by|photo\s*:|image\s*:|pictures?\s*:|video\s*:|credit\s*:|source\s*:)",
    re.I,
)
_CREDIT_ANY = re.compile(r"contributed\s+(?:to\s+)?this\s+(?:report|article|story)|originally\s+(?:published|"
                         r"appeared)\s+(?:on|in|at)|read\s+the\s+original\s+article", re.I)
_COPYRIGHT = re.compile(r"©|\(c\)\s*\d{4}|^copyright\b|all\s+rights\s+reserved|may\s+not\s+be\s+(?:re)?published|"
                        r"rewritten\s+or\s+redistributed", re.I)
_PROMPT = re.compile(
    r"^(?:read\s+more|read\s+also|also\s+read|related(?:\s+(?:stories|articles|coverage|news))?|see\s+also|"
    r"more\s+(?:on\s+this|from|stories)|follow\s+(?:us|@|the|our)|sign\s+up|subscribe|share\s+(?:this|on)|"
    r"click\s+here|download\s+(?:our|the)\s+app|like\s+us\s+on|join\s+(?:us|our)|watch\s*:|listen\s*:|"
    r"advertisement|continue\s+reading|newsletter)\b",
    re.I,
)
_EMAIL_ONLY = re.compile(r"^\s*[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*$")
# A trailing credit glued to a paragraph's last sentence: "(Reporting by X; Editing by Y)", and at the very end of a
# text an agency list: "mb/rt (AFP, dpa, Reuters)".
_TRAILING_CREDIT = re.compile(
    r"(?:\s|^)(?:[a-z]{1,4}(?:/[a-z]{1,4})+\s*)?\(\s*(?:(?:additional\s+)?reporting|writing|editing|compiled|"
    r"with\s+reporting)\b[^()]{0,200}\)\s*$",
    re.IGNORECASE,
)
_TRAILING_AGENCIES = re.compile(
    r"(?:\s|^)(?:[a-z]{1,4}(?:/[a-z]{1,4})+\s*)?\(\s*[A-Za-z]{2,12}(?:\s*,\s*[A-Za-z]{2,12}){0,5}\s*\)\s*$"
)
_EMAIL_BEFORE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+\s*$")
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]", re.UNICODE)
_PARA = re.compile(r"[^\n]+")


def _norm_tok(tok: str) -> str:
    """A token as counted: digits folded to 0, month and day names to M and D, the rest lower-cased."""
    if tok[0].isdigit():
        return "0"
    low = tok.lower()
    return "M" if low in _MONTH_SET else "D" if low in _DAY_SET else low


def _shape_tok(tok: str) -> str:
    if tok[0].isdigit():
        return "0"
    return "X" if tok[0].isupper() else tok.lower()


def _paragraphs(text: str) -> list[tuple[int, int]]:
    out = []
    for m in _PARA.finditer(text):
        a, b = m.span()
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


def _words(s: str) -> int:
    return len(s.split())


def _para_key(s: str) -> str:
    return " ".join(_norm_tok(t) for t in _TOKEN.findall(s))


def _shape_key(s: str) -> str:
    out: list[str] = []
    for t in _TOKEN.findall(s):
        k = _shape_tok(t)
        if not (k == "X" and out and out[-1] == "X"):
            out.append(k)
    return " ".join(out)


_SEP_TOKENS = {":", "|", "»", ">", "–", "—", "-", "•"}


def _shape_ok(shape: str, n_words: int) -> bool:
    """A shape specific enough to be house text: a word of its own besides the folded ones, or (in a line of at most
    ten words) a separator ("X — X", "X : X . X : X .")."""
    toks = shape.split()
    if any(w[0].isalpha() and w != "X" for w in toks):
        return True
    return n_words <= 10 and any(w in _SEP_TOKENS for w in toks)


def _prefix_key(s: str) -> str | None:
    """The lower-cased opening words of a paragraph up to a separator within its first five tokens."""
    toks = _TOKEN.findall(s)
    for j, t in enumerate(toks[:5]):
        if t in _SEP_TOKENS and j >= 1 and any(x[0].isalpha() for x in toks[:j]):
            return " ".join(_norm_tok(x) for x in toks[: j + 1])
    return None


# --------------------------------------------------------------------------------------------------- patterns


def pattern_spans(text: str, known: Sequence[tuple[int, int, str]] = ()) -> list[tuple[int, int, str]]:
    """House-text spans found by the conventions of the trade alone (no other article needed).

    ``known`` spans (learned ones) are stepped over when looking for the lead's dateline, as are short paragraphs
    that are not sentences (kickers, unknown bylines), which are not marked for that.
    Returns ``(start, end, kind)`` triples, unsorted, possibly overlapping.
    """
    spans: list[tuple[int, int, str]] = []
    paras = _paragraphs(text)
    if not paras:
        return spans
    # ---- the head: URL, a date alone, a byline, then a dateline before the lead
    pos = paras[0][0]
    for _ in range(6):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        m = _URL_HEAD.match(text, pos)
        if m and m.end() > pos:
            spans.append((pos, m.end(), "url"))
            pos = m.end()
            continue
        para = next(((a, b) for a, b in paras if a <= pos < b), None)
        if para is None:
            break
        seg = text[pos : para[1]]
        known_end = max((e for s, e, _k in known if s <= pos < e), default=None)
        if _DATE_ONLY.match(seg):
            spans.append((pos, para[1], "date line"))
        elif _words(seg) <= 15 and _BYLINE.match(seg) and para[0] == pos:
            spans.append((pos, para[1], "byline"))
        else:
            m = _DATELINE.match(text, pos, para[1])
            if m and _words(m.group(0)) <= 10:
                spans.append((pos, m.end(), "dateline"))
                u = _URL_HEAD.match(text, m.end(), para[1])  # a URL printed between dateline and lead
                if u and u.end() > m.end():
                    spans.append((m.end(), u.end(), "url"))
                break
            if known_end is not None:  # learned house text (an unknown byline): the lead may come after it
                pos = known_end
                continue
            if not (_words(seg) <= 10 and not re.search(r"[.!?][\"'”’)]*$", seg) and para[0] == pos):
                break
            # a kicker or an unknown byline: look for the dateline in the next paragraph
        pos = para[1]
    # ---- whole paragraphs anywhere: credits, copyright, prompts, e-mail addresses
    for a, b in paras:
        seg = text[a:b]
        n = _words(seg)
        if n > MAX_REPEATED_WORDS:
            continue
        if _COPYRIGHT.search(seg) and n <= 30:
            spans.append((a, b, "copyright"))
        elif _CREDIT.match(seg) or (_CREDIT_ANY.search(seg) and n <= 30):
            spans.append((a, b, "credit"))
        elif _PROMPT.match(seg) and n <= MAX_SHORT_WORDS:
            spans.append((a, b, "prompt"))
        elif _EMAIL_ONLY.match(seg):
            spans.append((a, b, "credit"))
    # ---- a credit glued to the end of a paragraph; an agency list ending the text
    for j, (a, b) in enumerate(paras):
        m = _TRAILING_CREDIT.search(text, a, b) or (_TRAILING_AGENCIES.search(text, a, b) if j == len(paras) - 1
                                                      else None)
        if m and m.start() > a:
            start = m.start() + (1 if text[m.start()].isspace() else 0)
            spans.append((start, b, "credit"))
    a, b = paras[-1]
    # a credit sentence ending the text ("ABC News' Jane Doe contributed to this report.")
    tail = text[max(a, b - 300) : b]
    cm = re.search(r"(?:^|(?<=[.!?\"”]\s))[^.!?\n]{0,150}contributed\s+(?:to\s+)?this\s+(?:report|article|story)\.?\s*$",
                   tail, re.I)
    if cm:
        spans.append((max(a, b - 300) + cm.start(), b, "credit"))
    return spans


# --------------------------------------------------------------------------------------------------- learned


def _tokens_with_offsets(text: str, a: int, b: int) -> list[tuple[str, int, int]]:
    return [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text, a, b)]


_ANCHOR_PUNCT = set("()/:|-–—\"“”?[]")
#: Capitalised function words open sentences, not datelines.
_NOT_PLACE = {"the", "a", "an", "in", "on", "at", "for", "from", "as", "it", "this", "that", "he", "she", "they", "we",
              "i", "but", "and", "of", "to", "after", "when", "while", "with", "by"}


def _anchor_ok(gram: tuple[str, ...]) -> bool:
    """An opening anchor holds a separator or bracket and a word of two letters or more, and ends in punctuation."""
    return (any(x in _ANCHOR_PUNCT for x in gram) and any(x[0].isalpha() and len(x) >= 2 for x in gram)
            and not gram[-1][0].isalnum())


def _dateline_like(tok: str) -> bool:
    low = tok.lower()
    if low in _NOT_PLACE:
        return False
    return tok[0].isupper() or tok[0].isdigit() or low in _MONTHS or low in _DAYS or tok in {",", ".", "-", "–", "—"}


#: Contexts kept per repeated unit when judging how varied its surroundings are.
_CONTEXT_CAP = 64


def _diverse(contexts: dict, key, need: int) -> bool:
    """Whether a repeated unit stands among varied neighbours (house text does; copies of one story do not)."""
    prev, nxt = contexts.get(key, (set(), set()))
    return max(len(prev), len(nxt)) >= need


def _note(contexts: dict, key, prev, nxt) -> None:
    ps, ns = contexts.setdefault(key, (set(), set()))
    if len(ps) < _CONTEXT_CAP:
        ps.add(prev)
    if len(ns) < _CONTEXT_CAP:
        ns.add(nxt)


def _prev_word(toks: list[tuple[str, int, int]], j: int) -> str:
    for i in range(j - 1, -1, -1):
        if toks[i][0][0].isalnum():
            return toks[i][0].lower()
    return "^"


def _opening(t: str, htoks: list[tuple[str, int, int]], anchor_count: Counter, threshold: int):
    """(start, end) of a paragraph's opening up to a frequent anchor ("/TASS/.", "(CNN)") that only dateline-like
    tokens precede and the lead follows; None when there is none."""
    norm = [_norm_tok(x[0]) for x in htoks]
    best_end = None
    for i in range(len(norm)):
        if i and not _dateline_like(htoks[i - 1][0]):
            break
        for L in range(5, 1, -1):
            g = tuple(norm[i : i + L])
            if len(g) == L and anchor_count.get(g, 0) >= threshold and _anchor_ok(g):
                end_tok = i + L - 1
                nxt = htoks[end_tok + 1][0] if end_tok + 1 < len(htoks) else ""
                if not nxt or nxt[0].isupper() or nxt[0].isdigit() or nxt in "\"“‘'(-–—":
                    best_end = max(best_end or 0, htoks[end_tok][2])
                break
    if best_end is None:
        return None
    e = best_end
    while e < len(t) and (t[e].isspace() or t[e] in "-–—:|"):
        e += 1
    return htoks[0][1], e


def _learn_group(texts: Sequence[str], counted: Sequence[bool], threshold: int) -> list[list[tuple[int, int, str]]]:
    """Spans of house text in the texts of one group (one outlet), from what repeats among its ``counted`` texts.

    A repeated paragraph or ending counts as house text only when the texts holding it differ around it (at least
    ``max(3, threshold // 2)`` different neighbours): an outlet's footer follows a different last paragraph in each
    article, while the paragraphs of one story published several times follow each other.
    """
    n = len(texts)
    need = max(3, threshold // 2)
    out: list[list[tuple[int, int, str]]] = [[] for _ in range(n)]
    paras = [_paragraphs(t) for t in texts]
    para_count: Counter = Counter()
    para_ctx: dict = {}
    shape_count: Counter = Counter()
    prefix_count: Counter = Counter()
    for t, ps, c in zip(texts, paras, counted):
        if not c or len(ps) < 2:
            continue
        keys, shapes, prefixes = set(), set(), set()
        pkeys = [_para_key(t[a:b]) for a, b in ps]
        for i, (a, b) in enumerate(ps):
            seg = t[a:b]
            nw = _words(seg)
            if nw <= MAX_REPEATED_WORDS:
                keys.add(pkeys[i])
            if nw <= MAX_SHORT_WORDS:
                if i < HEAD_PARAGRAPHS or i >= len(ps) - TAIL_PARAGRAPHS:
                    shapes.add(_shape_key(seg))
                pk = _prefix_key(seg)
                if pk:
                    prefixes.add(pk)
        para_count.update(keys)
        shape_count.update(shapes)
        prefix_count.update(prefixes)
    # the neighbours of each frequent paragraph, skipping frequent ones (a footer of two lines: the first line's
    # neighbour is the article's last paragraph)
    for t, ps, c in zip(texts, paras, counted):
        if not c or len(ps) < 2:
            continue
        pkeys = [_para_key(t[a:b]) for a, b in ps]
        rare = [para_count[k] < threshold for k in pkeys]
        for i, k in enumerate(pkeys):
            if rare[i]:
                continue
            prev = next((hash(pkeys[j]) for j in range(i - 1, -1, -1) if rare[j]), 0)
            nxt = next((hash(pkeys[j]) for j in range(i + 1, len(pkeys)) if rare[j]), 1)
            _note(para_ctx, k, prev, nxt)

    # ---- token runs ending the texts (with the word before them), and anchors opening them
    tails: list[list[tuple[str, int, int]]] = []
    heads: list[list[tuple[str, int, int]]] = []
    suffix_count: Counter = Counter()
    anchor_count: Counter = Counter()
    for t, ps, c in zip(texts, paras, counted):
        if not ps:
            tails.append([])
            heads.append([])
            continue
        last_a, last_b = ps[-1]
        toks = _tokens_with_offsets(t, max(last_a, last_b - 600), last_b)[-TAIL_TOKENS:]
        tails.append(toks)
        hlists = [_tokens_with_offsets(t, a, min(b, a + 300))[:HEAD_TOKENS] for a, b in ps[:HEAD_PARAGRAPHS]]
        heads.append(hlists)
        if not c:
            continue
        seen = set()
        key: tuple = ()
        for tok, _s, _e in reversed(toks):
            key = (_norm_tok(tok), key)
            seen.add(hash(key))
        suffix_count.update(seen)
        grams = set()
        for htoks in hlists:
            norm = [_norm_tok(x[0]) for x in htoks]
            for i in range(len(norm)):
                for L in range(2, 6):
                    g = tuple(norm[i : i + L])
                    if len(g) == L and _anchor_ok(g):
                        grams.add(g)
        anchor_count.update(grams)
    # the words before each frequent ending, for its context check (a second pass: only frequent endings kept)
    suffix_ctx: dict = {}
    for toks, c in zip(tails, counted):
        if not c:
            continue
        key = ()
        for j in range(len(toks) - 1, -1, -1):
            key = (_norm_tok(toks[j][0]), key)
            h = hash(key)
            if suffix_count[h] < threshold:
                break
            _note(suffix_ctx, h, _prev_word(toks, j), 0)

    for k, (t, ps) in enumerate(zip(texts, paras)):
        spans = out[k]
        for i, (a, b) in enumerate(ps):
            if len(ps) < 2:
                break
            seg = t[a:b]
            nw = _words(seg)
            pkey = _para_key(seg)
            if nw <= MAX_REPEATED_WORDS and para_count[pkey] >= threshold and _diverse(para_ctx, pkey, need):
                spans.append((a, b, "repeated paragraph"))
                continue
            if nw <= MAX_SHORT_WORDS:
                shape = _shape_key(seg)
                if ((i < HEAD_PARAGRAPHS or i >= len(ps) - TAIL_PARAGRAPHS) and _shape_ok(shape, nw)
                        and shape_count[shape] >= threshold):
                    spans.append((a, b, "repeated paragraph shape"))
                    continue
                pk = _prefix_key(seg)
                if pk and prefix_count[pk] >= threshold:
                    spans.append((a, b, "repeated prefix"))
        # the longest run of tokens ending this text that ends at least `threshold` texts of the group, after
        # varied words, starting at a capitalised word, a bracket or a sentence start
        toks = tails[k]
        key = ()
        start = None
        n_alpha = 0
        for j in range(len(toks) - 1, -1, -1):
            tok = toks[j][0]
            key = (_norm_tok(tok), key)
            h = hash(key)
            if suffix_count[h] < threshold:
                break
            n_alpha += tok[0].isalpha()
            prev = toks[j - 1][0] if j > 0 else "."
            gap = j == 0 or toks[j - 1][2] < toks[j][1]
            boundary = tok[0].isupper() or tok in "([{/\"“'" or (gap and prev in {".", "!", "?", ";", ")", "]"})
            if boundary and n_alpha >= 2 and toks[j][1] > ps[0][0] and _diverse(suffix_ctx, h, need):
                start = j
        if start is not None:
            s0 = toks[start][1]
            m = _EMAIL_BEFORE.search(t, max(0, s0 - 120), s0)
            if m and m.end() == s0:
                s0 = m.start()  # a contact address right before the run goes with it
            spans.append((s0, toks[-1][2], "repeated ending"))
        # an opening anchor preceded by dateline-like tokens only, in one of the first paragraphs
        for htoks in heads[k]:
            span = _opening(t, htoks, anchor_count, threshold)
            if span:
                spans.append((*span, "repeated opening"))
        # what repeats in (nearly) all of a text is a template of the outlet's own stories, not house text around one
        if spans:
            left = sum(_words(t[a:b]) for a, b in content_regions(t, merge_spans(spans)))
            if left < max(MIN_CONTENT_WORDS, MIN_CONTENT_SHARE * _words(t)):
                out[k] = []
    return out


def learned_spans(texts: Sequence[str], groups: Sequence[str | None], *, counted: Sequence[bool] | None = None,
                  min_articles: int = 4, min_share: float = 0.05) -> list[list[tuple[int, int, str]]]:
    """House-text spans of each text learned from what repeats among the texts of its group (its outlet).

    Parameters
    ----------
    texts : sequence of str, length n
    groups : sequence of str or None, length n
        The outlet of each text; texts without one form one group.
    counted : sequence of bool, length n, optional
        Which texts are counted (default all): pass one text per duplicate group, so that copies of one story do
        not pass for house text. Every text is searched.
    min_articles, min_share :
        A unit is house text when it recurs in at least ``max(min_articles, ceil(min_share x group size))`` counted
        texts of its group.
    """
    counted = [True] * len(texts) if counted is None else list(counted)
    by_group: dict[str | None, list[int]] = {}
    for i, g in enumerate(groups):
        by_group.setdefault(g, []).append(i)
    out: list[list[tuple[int, int, str]]] = [[] for _ in texts]
    for _g, rows in by_group.items():
        n_counted = sum(counted[i] for i in rows)
        threshold = max(int(min_articles), math.ceil(min_share * n_counted))
        if n_counted < max(threshold, MIN_GROUP):
            continue
        found = _learn_group([texts[i] for i in rows], [counted[i] for i in rows], threshold)
        for i, spans in zip(rows, found):
            out[i] = spans
    return out


def merge_spans(spans: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Sorted, non-overlapping spans; overlapping or touching ones merged (the first kind is kept)."""
    out: list[list] = []
    # at one start, a conventional kind names the span before a learned one
    for a, b, kind in sorted(spans, key=lambda x: (x[0], x[2] in LEARNED_KINDS, -x[1], x[2])):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b, kind])
    return [(a, b, k) for a, b, k in out]


def content_regions(text: str, spans: Sequence[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """The stretches of ``text`` outside the (merged) boilerplate spans."""
    regions, pos = [], 0
    for a, b, _k in spans:
        if a > pos:
            regions.append((pos, a))
        pos = max(pos, b)
    if pos < len(text):
        regions.append((pos, len(text)))
    return regions


def find_boilerplate(texts: Sequence[str], groups: Sequence[str | None], *, counted: Sequence[bool] | None = None,
                     min_articles: int = 4, min_share: float = 0.05) -> list[list[tuple[int, int, str]]]:
    """Merged ``(start, end, kind)`` house-text spans of every text: conventions plus what repeats per outlet."""
    learned = learned_spans(texts, groups, counted=counted, min_articles=min_articles, min_share=min_share)
    return [text_spans(t, ls) for t, ls in zip(texts, learned)]


def text_spans(text: str, learned: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Merged house-text spans of one text: its ``learned`` spans (:func:`learned_spans`) plus the conventions."""
    return merge_spans(pattern_spans(text, learned) + list(learned))
