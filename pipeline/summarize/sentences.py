"""What a candidate sentence is and which ones may be cited: filters, openers that need an antecedent, the cited
span (``citation``) and the checker of a finished summary (``dangling_openers``, ``dateline_openers``)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Candidate:
    """One sentence that may be chosen: its span in the article text and where it sits in the article."""

    article_id: str
    start: int
    end: int
    text: str
    position: int
    n_in_article: int
    date: str | None = None
    is_caption: bool = False
    source: str | None = None


_DATELINE = re.compile(
    r"^(?:[A-Z][\w.'’&-]*(?:[ ,]+[A-Z][\w.'’&-]*){0,5})\s*(?:\([^()]{1,40}\))?\s*[-–—_]{1,2}\s+(?=\S)"
)
_DATELINE_AGENCY = re.compile(
    r"^[^()]{1,60}\((?:Reuters|AP|AFP|CNN|Bloomberg|UPI|dpa|Xinhua)\)\s*[-–—_:]?\s*", re.I
)
_BYLINE = re.compile(
    r"^\(?\s*(?:by\s+[A-Z]|reporting\s+by|writing\s+by|editing\s+by|additional\s+reporting|compiled\s+by|"
    r"contributed\s+by|sources?\s*:|photo\s*:|image\s*:|file\s+photo|pictured\s*:|caption\s*:|copyright|©|"
    r"all\s+rights\s+reserved|click\s+here|read\s+more|related\s*:|follow\s+us|sign\s+up|subscribe)",
    re.I,
)
_CAPTION = re.compile(
    r"^(?:\(\s*(?:photo|image|picture|video|file|credit|pictured)\b|"
    r"(?:photo|image|picture|video|file\s+photo|credit|pictured)(?:\s+credit)?\s*:)",
    re.I,
)
#: A URL printed with spaces (ECB+: "http: / / business. t - mobile. com / ..."): never cited.
_SPACED_URL = re.compile(r"https?\s*:\s*/\s*/\s|https?\s+:|\bwww\.\s", re.I)
#: Openers that refer back to an earlier sentence: personal and demonstrative pronouns and connectives.
_PRONOUN_LEAD = re.compile(
    r"^(?:he|she|they|it|him|them|this|these|those|that|his|her|hers|their|theirs|its|such|both|"
    r"but|and|or|so|however|also|meanwhile|instead|nevertheless|nonetheless|still|yet|then|thus|hence|"
    r"therefore|moreover|furthermore|besides|likewise|similarly|otherwise|consequently|accordingly|"
    r"in addition|as a result|by contrast|in contrast|on the other hand|even so|after that|afterwards|"
    r"the latter|the former|the same)\b(?!-)",
    re.I,
)
_ADV = (r"(?:also|now|not|still|simply|just|widely|generally|already|further|thus|therefore|however|officially|"
        r"currently|yet|even|clearly|increasingly|more|less|very|quite|so|too|no\s+longer|n['’]t),?")
#: Openers that look like the above but refer to nothing before them.
_NOT_ANAPHORIC = re.compile(
    # expletive "it": "It is believed that ...", "It has now been revealed that ...", "It's not clear whether ...",
    # "It is important to ...", "It's official: ...", "It seems that ..." (but not "It is expected to ...": there "it" is something)
    r"^it(?:\s+(?:has|had|will|would|may|might|could|must|should|does|did))?(?:\s+" + _ADV + r")*"
    r"(?:['’]s|\s+(?:is|was|be|been|seems?|seemed|appears?|appeared|remains|remained))(?:\s+" + _ADV + r")*\s+"
    r"(?:(?:said|reported|revealed|believed|thought|expected|hoped|alleged|suspected|known|understood|feared|"
    r"estimated|claimed|rumou?red|reckoned|assumed|presumed|considered|argued|announced|confirmed|noted|"
    r"acknowledged|agreed|decided|recommended|proposed|suggested|likely|unlikely|certain|uncertain|doubtful|"
    r"true|false|obvious|evident|apparent|(?:un)?clear|(?:un)?known|possible|impossible|probable|"
    r"(?:un)?necessary|(?:un)?important|essential|vital|crucial|critical|(?:un)?fortunate|(?:un)?lucky|"
    r"surprising|remarkable|notable|significant|ironic|worth\s+noting|the\s+case)\s+(?:that|whether|if|when|"
    r"how|why|what|who|where)\b|"
    r"(?:(?:un)?necessary|(?:un)?important|essential|vital|crucial|critical|possible|impossible|"
    r"(?:un)?clear|time|high\s+time|too\s+early|too\s+soon|too\s+late|worth\s+\w+ing)"
    r"(?:\s+for\s+[\w\s]{1,30}?)?\s+to\s+\w|"
    r"(?:official|confirmed)\s*[:;—–])|"
    r"^it(?:\s+(?:would|may|might|could|does|did))?(?:\s+" + _ADV + r")*\s+(?:seems?|seemed|appears?|appeared)"
    r"(?:\s+" + _ADV + r")*\s+(?:that|as\s+if|as\s+though)\b|"
    # "This year's session ...", "This week, ...", "These days ...": time deixis, not a reference back
    r"^(?:this|these)\s+(?:year|week|month|morning|afternoon|evening|weekend|season|summer|winter|spring|"
    r"autumn|fall|century|decade|time\s+of\s+year|days|past\s+\w+|coming\s+\w+|(?:mon|tues|wednes|thurs|fri|"
    r"satur|sun)day)\b|"
    # prepositions, not connectives: "In addition to the music, ...", "As a result of the storm, ...",
    # "Instead of waiting, ...", "In contrast to ..."; "So far, ..."; "Those who survived ..." (generic)
    r"^(?:in\s+addition\s+to|as\s+a\s+result\s+of|in\s+contrast\s+(?:to|with)|by\s+contrast\s+with|"
    r"instead\s+of|such\s+as|so\s+far|those\s+(?:who|whose|whom))\b",
    re.I,
)
_END_OK = re.compile(r"""[.!]["'”’)\]]*$""")


@lru_cache(maxsize=400_000)
def content_start(text: str) -> int:
    """Offset where a sentence's content starts once a dateline prefix ("WASHINGTON (Reuters) - ") is skipped.

    The splitter's ``pipeline.text.lead_start`` first (URL, date, dateline), then two looser dateline patterns.
    """
    from pipeline.text import lead_start

    at = lead_start(text)
    if at:
        return at
    m = _DATELINE_AGENCY.match(text)
    if m:
        return m.end()
    m = _DATELINE.match(text)
    if m and len(m.group(0).split()) <= 7:
        return m.end()
    return 0


@lru_cache(maxsize=400_000)
def needs_antecedent(text: str) -> bool:
    """Whether a sentence opens with a pronoun or connective that refers to what came before ("He told ...",
    "It occurred at ...", "But the ...", "However, ..."), once a dateline prefix is skipped.

    Cached by text: a sentence is tested for its theme and again for each story holding it.
    """
    text = text.strip()
    body = text[content_start(text) :]
    return bool(_PRONOUN_LEAD.match(body)) and not _NOT_ANAPHORIC.match(body)


def citation(cand: Candidate) -> dict:
    """The cited span of a chosen sentence: ``{article_id, start, end, text, source, date}``.

    The span starts at the sentence proper: a URL, date or dateline still opening the sentence (articles split by
    an older version of the splitter) is left out (``pipeline.text.lead_start``).
    """
    from pipeline.text import lead_start

    text = cand.text
    skip = lead_start(text)
    if skip and skip < len(text):
        text = text[skip:]
    return {"article_id": cand.article_id, "start": cand.start + (len(cand.text) - len(text)), "end": cand.end,
            "text": text, "source": cand.source, "date": cand.date}


def _item(s) -> tuple[str, str]:
    if isinstance(s, Candidate):
        return s.article_id, s.text
    return s["article_id"], s["text"]


def dangling_openers(summary: Sequence, spans: Mapping[str, Sequence] | None = None) -> int:
    """Sentences of a summary that open with a pronoun or connective (``needs_antecedent``) but are first or follow
    a sentence of another article, so a reader attaches the reference to the wrong thing.

    ``summary`` : sequence of Candidate or of dicts with ``article_id`` and ``text`` (as in ``summaries.json``),
    in reading order. With ``spans`` (article id -> its sentence spans ``[[start, end], ...]`` from articles.jsonl)
    the check is strict: the sentence before must be the one just before it in the same article (matched by end
    offset, since a cited span may start after a dateline).
    """
    n = 0
    prev = None
    for s in summary:
        aid, text = _item(s)
        if needs_antecedent(text):
            ok = prev is not None and prev[0] == aid
            if ok and spans is not None:
                ends = [int(e) for _s, e in spans.get(aid, [])]
                end, prev_end = _end(s), prev[1]
                ok = end in ends and prev_end in ends and ends.index(prev_end) == ends.index(end) - 1
            n += not ok
        prev = (aid, _end(s))
    return n


def _end(s) -> int | None:
    return s.end if isinstance(s, Candidate) else s.get("end")


def dateline_openers(summary: Sequence) -> int:
    """Cited sentences whose span opens with a URL, a date or a dateline (``pipeline.text.lead_start``)."""
    from pipeline.text import lead_start

    return sum(1 for s in summary if lead_start(_item(s)[1].strip()) > 0)


def is_usable(
    cand: Candidate,
    *,
    min_words: int = 8,
    max_words: int = 60,
    drop_questions: bool = True,
    dangling: str = "allow",
) -> bool:
    """Whether a candidate may be chosen: not a caption, byline, fragment, question, or too short or long.

    With ``dangling="drop"`` a sentence that needs an antecedent (``needs_antecedent``) is not usable either.
    """
    if cand.is_caption:
        return False
    return _usable_text(cand.text, min_words, max_words, drop_questions, dangling)


@lru_cache(maxsize=400_000)
def _usable_text(text: str, min_words: int, max_words: int, drop_questions: bool, dangling: str) -> bool:
    """``is_usable`` of a sentence that is not a caption: a function of its text, cached (a sentence is tested for
    its theme and again for each story holding it)."""
    text = text.strip()
    body = text[content_start(text) :]
    if not body or _BYLINE.match(body) or _CAPTION.match(body) or _SPACED_URL.search(body):
        return False
    n = len(body.split())
    if n < min_words or n > max_words:
        return False
    if text.endswith("?") or text.rstrip("\"'”’)").endswith("?"):
        return not drop_questions
    if not _END_OK.search(text):  # headings, list items, cut-off text
        return False
    if not (body[0].isupper() or body[0].isdigit() or body[0] in "\"“‘'("):
        return False  # starts in lower case: a split mid-sentence
    if dangling == "drop" and needs_antecedent(body):
        return False
    return True
