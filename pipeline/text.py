"""Text primitives shared by the stages: sentence spans, normalisation, word counts.

Sentence splitting uses Blingfire (Microsoft's finite-state tokenizer): on our news cases it scored 14/15 against
13/15 for pysbd and syntok, and it is about 180x faster than pysbd (``benchmarks/sentence_splitters.py``).
"""

from __future__ import annotations

import re
import unicodedata

import blingfire

#: Longest span kept as one sentence; longer runs without a boundary are cut at white space.
MAX_SENTENCE_CHARS = 1500

_CLOSERS = set("”’)]}»")

#: Titles and ranks written with a full stop that never end a sentence ("Army Spc. | Charles Graner" is one sentence).
TITLES = (
    "Adm Amb Atty Brig Capt Cdr Cmdr Col Comdr Cpl Det Dr Fr Gen Gov Hon Insp Lt Maj Messrs Mr Mrs Ms Msgr Pfc "
    "Pres Prof Pvt Rep Reps Rev Sen Sens Sgt Spc St Supt Ste Mt Ft"
).split()
_TITLE_SET = frozenset(TITLES)
_NUMBER_ABBR = frozenset(("No", "Nos", "Art", "Fig", "Vol"))  # "No. 10": only before a number

_MONTH = (
    r"(?i:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|"
    r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?i:Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)(?i:day|sday|nesday|rsday|urday)?\.?"
#: A clock time, also spaced as in ECB+ ("6: 13 am", "10: 50AM CDT", "01: 19 hrs").
_TIME = r"\d{1,2}\s?:\s?\d{2}(?:\s?[AaPp]\.?\s?[Mm]\.?)?(?:\s*(?:[A-Z]{2,4}|hrs)\b)?"
_DAY = r"\d{1,2}(?i:st|nd|rd|th)?"
_DATE = (
    rf"(?:(?i:(?:originally\s+)?published|updated|posted|last updated)(?:\s+(?:on|at))?\s*:?\s*)?(?:{_WEEKDAY},?\s+)?"
    rf"(?:(?:{_MONTH}\s+{_DAY},?\s+\d{{4}}|{_DAY}\s+{_MONTH},?\s+\d{{4}}|\d{{1,2}}\s?/\s?\d{{1,2}}\s?/\s?\d{{2,4}})"
    rf"(?:,?\s+(?:at\s+)?{_TIME})?|{_MONTH}\s+{_DAY},?\s+{_TIME})"
)
_OPENS = r"(?=[A-Z0-9\"“‘'])"
#: A date or time at the start of a sentence, glued to it or not ("Tuesday, January 18, 2005Through a telethon").
LEAD_DATE = re.compile(
    rf"^(?:{_DATE}|(?:(?i:last updated|updated|posted|originally published)(?:\s+at)?\s*:?\s*)?{_TIME})"
    rf"\s*[-–—|:,]?\s*{_OPENS}"
)
#: A date inside the first sentence between a headline and the lead ("... Betty Ford Center May 03, 2013 After ...").
_MID_DATE = re.compile(rf"\s+{_DATE}\s*[-–—|:,]?\s*{_OPENS}")
#: Where a URL at the start of a text begins; ``_url_end`` finds where it ends.
LEAD_URL = re.compile(r"^(?:https?\s?:\s?/\s?/|www\.)")
_URL_JOIN = "/.-_?=&:#"
_AGENCIES = (
    r"Reuters|AP|AFP|CNN|Bloomberg|UPI|dpa|DPA|Xinhua|IANS|PTI|ANI|TASS|Sputnik|EFE|Kyodo|Yonhap|BBC|VOA|"
    r"CNSNews\.com|CBS|NBC|ABC|Fox News|RIA Novosti|Interfax|KUNA|WAM|SPA|APA|MENA|IRNA|Anadolu|AA|CP|PA|NYT"
)
_PLACE = r"[A-Z][\w.'’&-]*(?:,?\s+[\w.'’&-]+){0,6}?"
#: "WASHINGTON (AP) --", "KUALA LUMPUR, Feb 24 (Reuters) -", "Washington (CNN)Vice ...": a place and an agency.
_DATELINE_AGENCY = re.compile(rf"^{_PLACE}\s*\((?:{_AGENCIES})\)\s*(?:[-–—_:]{{1,2}}\s*)?{_OPENS}")
#: "Qayyarah, Iraq - Six months ...", "TEXAS, US – A court ...", "MOSCOW _ Russia's ...": a place and a dash.
_DATELINE_PLACE = re.compile(
    rf"^(?P<place>[A-Z][\w.'’&-]*(?:,?\s+[A-Z][\w.'’&-]*){{0,4}})\s*[-–—_]{{1,2}}\s+{_OPENS}"
)
#: Sentence-opening words that are not place names.
_NOT_PLACE = frozenset(
    "a an the this that these those it its he she they we i you our their his her but and or also yet so however "
    "meanwhile still then there here in on at by for from of to with as after before when while if one two three "
    "four five six seven eight nine ten yes no".split()
)


def normalize(text: str) -> str:
    """Unicode NFKC, lower case, white space collapsed: the form used for exact-duplicate detection and ids."""
    # str.split() splits on exactly the characters ``\s`` matches (checked over every code point), 3x faster
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _cut_long(text: str, a: int, b: int, limit: int) -> list[tuple[int, int]]:
    out = []
    while b - a > limit:
        cut = text.rfind(" ", a + limit // 2, a + limit)
        cut = a + limit if cut <= a else cut
        x, y = _trim(text, a, cut)
        if y > x:
            out.append((x, y))
        a = cut
    x, y = _trim(text, a, b)
    if y > x:
        out.append((x, y))
    return out


def _offsets(chunk: str) -> list[tuple[int, int]]:
    """Blingfire sentence offsets within one paragraph, as character offsets.

    ``text_to_sentences`` runs in C; its sentences are located in ``chunk`` with ``str.find``. Blingfire's own
    ``text_to_sentences_and_offsets`` maps byte offsets in Python and is about 20x slower, so it is only the
    fallback when a sentence does not appear verbatim (Blingfire normalised its white space).
    """
    try:
        sents = blingfire.text_to_sentences(chunk).split("\n")
    except Exception:  # pragma: no cover - blingfire rejects some inputs
        return [(0, len(chunk))]
    out = []
    pos = 0
    for sent in sents:
        if not sent:
            continue
        at = chunk.find(sent, pos)
        if at < 0:
            try:
                return list(blingfire.text_to_sentences_and_offsets(chunk)[1])
            except Exception:  # pragma: no cover
                return [(0, len(chunk))]
        out.append((at, at + len(sent)))
        pos = at + len(sent)
    return out


def lead_start(sentence: str) -> int:
    """Offset where a sentence proper starts once a leading URL, date or dateline is skipped (0 when none).

    Skips, repeatedly: a URL (also ECB+'s spaced "http: / / www. site. com / ..."), a date glued to the sentence or
    not ("Tuesday, January 18, 2005Through ..."), an agency dateline ("WASHINGTON (AP) --", "Washington (CNN)Vice")
    and a place dateline ("Qayyarah, Iraq - Six months ..."; the place must not open like a sentence does).
    """
    pos = 0
    while True:
        rest = sentence[pos:]
        if LEAD_URL.match(rest):
            pos += _url_end(rest)
            continue
        m = LEAD_DATE.match(rest)
        if m is None:
            m = _DATELINE_AGENCY.match(rest)
            if m is not None:
                first = rest.split(None, 1)[0].strip(",").casefold()
                head = rest[: rest.index("(")]
                if first in _NOT_PLACE or len(head.split()) > 7:
                    m = None
        if m is None:
            m = _DATELINE_PLACE.match(rest)
            if m is not None:
                words = m.group("place").replace(",", " ").split()
                if words[0].casefold() in _NOT_PLACE or not (
                    "," in m.group("place") or len(words) <= 2 or m.group("place").isupper()
                ):
                    m = None
        if m is None or m.end() == 0 or m.end() >= len(rest):
            return pos
        pos += m.end()
        while pos < len(sentence) and (sentence[pos].isspace() or sentence[pos] in "-–—_|:"):
            pos += 1


def _url_end(text: str) -> int:
    """End of a URL that opens ``text``, also when printed with spaces ("http: / / www. site. com / a - b / 12").

    White-space separated pieces belong to the URL while one ends or the next starts with a URL separator
    (``/ . - _ ? = & : #``, or a comma before a digit: "0,, 20697025, 00. html"); a capitalised last piece after a
    lone "/" is the headline's first word ("... / north - bay / Magnitude 4. 6 Earthquake ...").
    """
    toks = [(m.group(0), m.end()) for m in re.finditer(r"\S+", text)]

    def joins(prev: str, tok: str) -> bool:
        return prev[-1] in _URL_JOIN or tok[0] in _URL_JOIN or (prev[-1] == "," and tok[0].isdigit())

    k = 1
    while k < len(toks) and joins(toks[k - 1][0], toks[k][0]):
        k += 1
    if k >= 2 and toks[k - 2][0] == "/" and toks[k - 1][0][0].isupper():
        k -= 1
    end = toks[k - 1][1] if toks else 0
    while end < len(text) and text[end].isspace():
        end += 1
    return end


def _headline_cut(sentence: str) -> tuple[int, int] | None:
    """``(end of headline, start of lead)`` when a dated headline runs into the lead, else None.

    "Lindsay Lohan checks into Betty Ford Center May 03, 2013 After skipping ..." -> the headline ends before the
    date and the lead starts after it. The headline must be 2-20 words and not end with a function word ("... said
    on January 15, 2005 Congress" is one sentence).
    """
    for m in _MID_DATE.finditer(sentence):
        head = sentence[: m.start()].split()
        if 2 <= len(head) <= 20 and head[-1].strip("\"'“”‘’").casefold() not in _STOP_END:
            return m.start(), m.end()
    return None


#: Words that open the lead after an undated headline ("... pregnant girlfriend An Oklahoma man was found ...").
_LEAD_OPENERS = frozenset("The A An In On At After When Two Three Four Five Six Seven Eight Nine Ten".split())
_CAP_WORD = re.compile(r"(?<=[A-Za-z0-9)’'”\]])\s+([A-Z][a-z]*)\b")


def _undated_headline_cut(sentence: str) -> int | None:
    """Start of the lead when an undated headline runs into it, else None (only the text's first span is checked).

    The cut is before the last lead opener ("The", "A", "An", "In", "On", ...: ``_LEAD_OPENERS``) written in capitals
    after a content word within the first 20 words, when at least 8 words follow it and the span ends like a
    sentence: "Okla. man guilty of killing pregnant girlfriend | An Oklahoma man was found guilty Thursday ...".
    """
    if not sentence.rstrip("\"'”’)").endswith((".", "!")):
        return None
    cut = None
    for m in _CAP_WORD.finditer(sentence):
        head = sentence[: m.start()].split()
        if len(head) > 20:
            break
        if (
            m.group(1) in _LEAD_OPENERS
            and len(head) >= 3
            and head[-1].casefold() not in _STOP_END
            and len(sentence[m.start(1) :].split()) >= 8
        ):
            cut = m.start(1)
    return cut


_STOP_END = _NOT_PLACE | frozenset("said says is was are were be been has have had will would not about than".split())


def _clean_lead(text: str, a: int, b: int, first: bool) -> list[tuple[int, int]]:
    """Spans for a sentence that opens a paragraph near the start of a text: URL, dates and datelines are left out
    of every span, and a headline running into the lead becomes a span of its own (an undated one only in the
    ``first`` span of a text)."""
    out: list[tuple[int, int]] = []
    for _ in range(3):
        a += lead_start(text[a:b])
        cut = _headline_cut(text[a:b])
        if cut is None:
            at = _undated_headline_cut(text[a:b]) if first else None
            if at is not None:
                out.append(_trim(text, a, a + at))
                a += at
            break
        out.append(_trim(text, a, a + cut[0]))
        a += cut[1]
    a, b = _trim(text, a, b)
    if b > a:
        out.append((a, b))
    return [(x, y) for x, y in out if y > x]


def _glue_titles(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join a span ending in a title or rank ("Spc.", "Lt. Col.", "No." before a number) to the one after it."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out:
            pa, pb = out[-1]
            if text[pb - 1] == "." and "\n" not in text[pb:a]:
                word = text[max(pa, pb - 8) : pb - 1].rsplit(None, 1)[-1].lstrip("(\"“‘'/-") if pb - 1 > pa else ""
                nxt = text[a]
                if (word in _TITLE_SET and (nxt.isupper() or nxt.isdigit())) or (
                    word in _NUMBER_ABBR and nxt.isdigit()
                ):
                    out[-1] = (pa, b)
                    continue
        out.append((a, b))
    return out


#: Sentences opening a paragraph among the first ``LEAD_SPANS`` spans of a text are checked for a URL, a date, a
#: dateline or a headline running into them (MultiLing: title line, date line, then the dateline paragraph).
LEAD_SPANS = 4


def split_sentences(text: str, *, max_chars: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` as ``(start, end)`` character offsets, so ``text[start:end]`` is the sentence.

    Paragraph breaks (newlines) always end a sentence. A piece that starts with a lower-case letter or a closing
    quote is glued back to the sentence before it (Blingfire splits after "..." inside quotes), and so is a piece
    after a title or rank ("Army Spc. Charles Graner", ``TITLES``). Near the start of a text, a paragraph's first
    sentence loses a leading URL, date or dateline (``lead_start``: the span starts at the sentence proper) and a
    dated headline running into the lead is split off. A run longer than ``max_chars`` without a boundary is cut
    at white space, so no sentence is unbounded.
    """
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n]+", text):
        p0, p1 = para.span()
        chunk = text[p0:p1]
        if not chunk.strip():
            continue
        if len(spans) < LEAD_SPANS and LEAD_URL.match(chunk.lstrip()):
            # a URL opening the text is cut off before Blingfire sees it (it would split it at ". " and "? ")
            lead = len(chunk) - len(chunk.lstrip())
            p0 += lead + _url_end(chunk[lead:])
            chunk = text[p0:p1]
            if not chunk.strip():
                continue
        offsets = _offsets(chunk)
        piece: list[tuple[int, int]] = []
        for a, b in offsets:
            a, b = _trim(text, p0 + a, p0 + min(b, len(chunk)))
            if b <= a:
                continue
            first = text[a]
            if piece and (first.islower() or first in _CLOSERS):
                piece[-1] = (piece[-1][0], b)
            else:
                piece.append((a, b))
        piece = _glue_titles(text, piece)
        if piece and len(spans) < LEAD_SPANS:
            piece[:1] = _clean_lead(text, *piece[0], first=not spans)
        spans.extend(piece)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        out.extend(_cut_long(text, a, b, max_chars) if b - a > max_chars else [(a, b)])
    return out


def word_count(text: str) -> int:
    return len(text.split())
