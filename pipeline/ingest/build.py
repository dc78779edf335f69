"""Records -> articles: cleaning, dates, sentence spans, outlet boilerplate, duplicates collapsed, the report."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np

from pipeline.config import IngestConfig
from pipeline.forkmap import CTX, fork_map
from pipeline.ingest.boilerplate import LEARNED_KINDS, content_regions, learned_spans, text_spans
from pipeline.ingest.dedupe import _minhashes, content_id, content_key, minhash_signatures, near_duplicate_groups
from pipeline.ingest.formats import IngestError, InputFile, ParsedInputs, Record, Rejection, clean_text, parse_file
from pipeline.text import normalize, split_sentences


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%dT%H:%M:%S", "%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%d/%m/%Y")


def parse_date(value: str | None) -> tuple[str | None, str | None]:
    """(ISO date ``YYYY-MM-DD`` or the raw value, warning if it could not be read)."""
    if value is None:
        return None, None
    v = value.strip()
    try:
        return datetime.fromisoformat(v.replace("Z", "+00:00")).date().isoformat(), None
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(v, fmt).date().isoformat(), None
        except ValueError:
            continue
    return v, f"date {v!r} not understood; kept as given"


def date_in_text(text: str, spans: list[tuple[int, int, str]]) -> str | None:
    """The ISO date of an article's date line ("Saturday, January 8, 2005" above the lead), when house-text
    detection marked one in its first 300 characters and it names a year; else None."""
    import re

    from dateutil import parser

    for a, b, kind in sorted(spans):
        if a > 300:
            break
        if kind != "date line" or not re.search(r"\b(1[89]|20)\d\d\b", text[a:b]):
            continue
        try:
            return parser.parse(text[a:b].strip(" \t\n.,;:-–—|"), fuzzy=True).date().isoformat()
        except (ValueError, OverflowError):
            continue
    return None


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` chars, at the last sentence end (or space) before the limit."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(". "), head.rfind("\n"))
    if cut < limit // 2:
        cut = head.rfind(" ")
    return head[: cut + 1 if cut > 0 else limit].rstrip()


_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")


def source_of(outlet: str | None, url: str | None) -> str | None:
    """The outlet of an article: its source field, else the host of its URL without ``www.`` (``tass.com``)."""
    if outlet:
        return outlet
    if not url:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip() if "//" in url else f"//{url.strip()}")
    except ValueError:
        return None
    if parts.scheme not in ("", "http", "https"):
        return None  # mailto:, javascript:, ... name no outlet
    host = (parts.hostname or "").lower().rstrip(".")
    if not _HOST.match(host):
        return None
    return host[4:] if host.startswith("www.") else host


def _drop_inner(spans: list[tuple[int, int, str]], sents: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """Boilerplate spans that would cut a sentence in two (inside it, touching neither end) are not marked."""
    import bisect

    starts = [s for s, _e in sents]
    out = []
    for a, b, kind in spans:
        i = bisect.bisect_right(starts, a) - 1
        if 0 <= i < len(sents) and sents[i][0] < a and b < sents[i][1]:
            continue
        out.append((a, b, kind))
    return out


def content_sentences(text: str, spans: list[tuple[int, int, str]], min_chars: int) -> list[list[int]]:
    """Sentence spans of the text outside the boilerplate spans (each stretch between them split on its own)."""
    out: list[list[int]] = []
    for r0, r1 in content_regions(text, spans):
        for a, b in split_sentences(text[r0:r1]):
            a, b = a + r0, b + r0
            while a < b and text[a] in "-–—•*|:;,. \t":  # separators left where a dateline ended
                a += 1
            if b - a >= min_chars and any(ch.isalnum() for ch in text[a:b]):
                out.append([a, b])
    return out


def mark_text(text: str, spans: list[tuple[int, int, str]], min_chars: int
              ) -> tuple[list[tuple[int, int, str]], list[list[int]]]:
    """The house-text spans kept for a text (none cutting a sentence in two) and its content sentences.

    When learned spans would leave no content sentence, they are a template of the outlet's own stories, not house
    text around one, and are dropped."""
    if spans:
        spans = _drop_inner(spans, split_sentences(text))
    sents = content_sentences(text, spans, min_chars)
    if not sents and any(k in LEARNED_KINDS for _a, _b, k in spans):
        spans = [s for s in spans if s[2] not in LEARNED_KINDS]
        sents = content_sentences(text, spans, min_chars)
    return spans, sents


def _mark_one(i: int) -> tuple[list[tuple[int, int, str]], list[list[int]]]:
    """House-text spans (as :func:`find_boilerplate` gives them) and content sentences of text ``i`` of
    ``forkmap.CTX``."""
    c = CTX
    text, learned = c["texts"][i], c["learned"]
    spans = [] if learned is None else text_spans(text, learned[i])
    return mark_text(text, spans, c["min_chars"])


def build_articles(parsed: ParsedInputs, cfg: IngestConfig, *, context: list[dict] | None = None,
                   index: dict | None = None) -> tuple[list[dict], dict]:
    """Records -> unique articles (with sources, sentence spans and boilerplate spans) and the ingest report.

    Steps: clean each text; find duplicates (exact, then near: MinHash + LSH) on the whole text; learn each
    outlet's house text from one copy per duplicate group and mark it (``boilerplate`` spans); split the rest
    into sentences; finally merge duplicate groups whose content (text without house text) is the same, so one
    story published by two outlets with their own datelines and footers is one article.

    Returns
    -------
    articles : list of dict
        In order of first appearance in the input. Each has ``id, title, text, caption, date, source, url,
        sentences [[start, end], ...], boilerplate [[start, end], ...], sources [{path, index, input_id}], meta,
        warnings``.
    report : dict
        ``read, unique, duplicates, rejected`` counts, the rejections with reasons, duplicate groups, warnings,
        and ``boilerplate``: what was marked, per kind and per source.

    ``context`` articles (earlier ones of the same outlets, on an update) are counted when learning house text but
    are not built; ``index``, when given, is filled with ``minhash`` (n_articles, num_perm) uint64 signatures and
    ``content`` (n_articles,) uint64 content keys, row for row with the articles.
    """
    rejections = list(parsed.rejections)
    warnings = list(parsed.warnings)
    prepared: list[tuple[Record, str, str]] = []
    for rec in parsed.records:
        text = clean_text(rec.text)
        if len(text) > cfg.max_article_chars:
            rec.warnings.append(f"text cut from {len(text)} to at most {cfg.max_article_chars} chars")
            text = truncate(text, cfg.max_article_chars)
        if not any(ch.isalnum() for ch in text):
            rejections.append(Rejection(rec.source, "no sentence in the text"))
            continue
        date, dwarn = parse_date(rec.date)
        if dwarn:
            rec.warnings.append(dwarn)
        rec.date = date
        title = clean_text(rec.title).replace("\n", " ")
        if len(title) > cfg.max_title_chars:
            rec.warnings.append(f"title cut from {len(title)} to {cfg.max_title_chars} chars")
            title = title[: cfg.max_title_chars].rstrip()
        rec.title = title
        rec.outlet = source_of(rec.outlet, rec.url)
        prepared.append((rec, text, normalize(text)))

    # The same input id on two different texts: both kept, recorded.
    by_input_id: dict[tuple[str, str], str] = {}
    for rec, _text, norm in prepared:
        iid = rec.source.get("input_id")
        if iid is None:
            continue
        key = (rec.source["path"], iid)
        first = by_input_id.setdefault(key, norm)
        if first != norm:
            msg = f"input id {iid!r} in {rec.source['path']} names two different texts; both kept with their own ids"
            rec.warnings.append(msg)
            warnings.append(msg)

    # ---- duplicates on the whole text: exact (normalised text), then near among the distinct texts
    exact: dict[str, int] = {}
    distinct: list[str] = []
    exact_of: list[int] = []
    for _rec, _text, norm in prepared:
        if norm not in exact:
            exact[norm] = len(distinct)
            distinct.append(norm)
        exact_of.append(exact[norm])
    hashes = _minhashes(distinct, cfg)
    near = near_duplicate_groups(distinct, cfg, hashes)
    group_of = [near[e] for e in exact_of]

    # ---- outlet boilerplate, learned from one copy per duplicate group
    counted, seen_groups = [], set()
    for g in group_of:
        counted.append(g not in seen_groups)
        seen_groups.add(g)
    texts = [t for _r, t, _n in prepared]
    context = context or []
    learned = None
    if cfg.boilerplate:  # what repeats per outlet; then each text's own conventions, spans and sentences
        learned = learned_spans(texts + [a["text"] for a in context],
                                [r.outlet for r, _t, _n in prepared] + [a.get("source") for a in context],
                                counted=counted + [True] * len(context),
                                min_articles=cfg.boilerplate_min_articles, min_share=cfg.boilerplate_min_share)
    marked = fork_map(_mark_one, len(texts), {"texts": texts, "learned": learned, "min_chars": cfg.min_sentence_chars})
    spans_of: list[list[tuple[int, int, str]]] = [m[0] for m in marked]
    sents_of: list[list[list[int]]] = [m[1] for m in marked]

    # ---- merge duplicate groups with the same content (house text aside); drop texts with no content sentence
    parent: dict[int, int] = {}

    def root(g: int) -> int:
        while parent.get(g, g) != g:
            g = parent[g]
        return g

    content_groups: dict[str, int] = {}
    members_of: dict[int, list[int]] = {}
    for i, (rec, text, _norm) in enumerate(prepared):
        if not sents_of[i]:
            why = "only outlet boilerplate (dateline, byline, credits, footer), no content sentence" if spans_of[i] \
                else "no sentence in the text"
            rejections.append(Rejection(rec.source, why))
            continue
        members_of.setdefault(group_of[i], []).append(i)
        first = content_groups.setdefault(normalize(" ".join(text[a:b] for a, b in sents_of[i])), group_of[i])
        ra, rb = root(first), root(group_of[i])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for g, members in members_of.items():
        groups.setdefault(root(g), []).extend(members)
    articles: list[dict] = []
    reps: list[int] = []
    dup_report: list[dict] = []
    bp_kinds: dict[str, int] = {}
    bp_sources: dict[str, dict[str, int]] = {}
    for members in sorted((sorted(m) for m in groups.values()), key=lambda m: m[0]):
        # Representative: the longest text (most content); ties by content id. Order-independent.
        rep = max(members, key=lambda i: (len(prepared[i][1]), -int(content_id(prepared[i][1])[1:], 16)))
        reps.append(rep)
        rec, text, norm = prepared[rep]
        aid = content_id(text)
        # A collapsed copy keeps its own input fields (labels, ...) when they differ from the kept record's.
        sources = [
            {**prepared[i][0].source, "meta": prepared[i][0].meta}
            if i != rep and prepared[i][0].meta and prepared[i][0].meta != rec.meta
            else prepared[i][0].source
            for i in members
        ]
        kinds = ["exact" if prepared[i][2] == norm else "near" for i in members if i != rep]
        art_warnings = sorted({w for i in members for w in prepared[i][0].warnings})
        spans = spans_of[rep]
        articles.append(
            {
                "id": aid,
                "title": rec.title or next((prepared[i][0].title for i in members if prepared[i][0].title), ""),
                "text": text,
                "caption": rec.caption,
                "date": rec.date or next((prepared[i][0].date for i in members if prepared[i][0].date), None)
                or date_in_text(text, spans),
                "source": rec.outlet,
                "url": rec.url,
                "sentences": sents_of[rep],
                "boilerplate": [[a, b] for a, b, _k in spans],
                "sources": sources,
                "meta": rec.meta,
                "warnings": art_warnings,
            }
        )
        src = bp_sources.setdefault(str(rec.outlet), {"articles": 0, "marked": 0, "spans": 0, "chars": 0})
        src["articles"] += 1
        src["marked"] += bool(spans)
        for a, b, k in spans:
            bp_kinds[k] = bp_kinds.get(k, 0) + 1
            src["spans"] += 1
            src["chars"] += b - a
        if len(members) > 1:
            dup_report.append(
                {"article_id": aid, "kept": rec.source, "collapsed": [prepared[i][0].source for i in members if i != rep],
                 "kinds": kinds}
            )

    # Two different articles could hash to one id only if their normalised texts are equal: impossible here.
    read = len(parsed.records) + len(parsed.rejections)
    unique = len(articles)
    duplicates = sum(len(a["sources"]) - 1 for a in articles)
    report = {
        "read": read,
        "unique": unique,
        "duplicates": duplicates,
        "rejected": len(rejections),
        "rejections": [r.to_dict() for r in rejections],
        "duplicate_groups": dup_report,
        "warnings": warnings,
        "skipped_files": parsed.skipped,
        "sentences": sum(len(a["sentences"]) for a in articles),
        "boilerplate": {
            "articles_marked": sum(v["marked"] for v in bp_sources.values()),
            "spans": sum(bp_kinds.values()),
            "chars": sum(v["chars"] for v in bp_sources.values()),
            "by_kind": dict(sorted(bp_kinds.items())),
            "by_source": dict(sorted(bp_sources.items())),
        },
    }
    if read != unique + duplicates + len(rejections):  # pragma: no cover - an invariant, not a user error
        raise AssertionError(f"ingest lost articles: read={read} unique={unique} dup={duplicates} rej={len(rejections)}")
    if index is not None:
        sigs = minhash_signatures(distinct, cfg, hashes)
        index["minhash"] = sigs[[exact_of[r] for r in reps]] if reps else sigs[:0]
        index["content"] = np.array([content_key(" ".join(a["text"][x:y] for x, y in a["sentences"]))
                                     for a in articles], dtype=np.uint64)
    return articles, report


def ingest(files: list[InputFile], cfg: IngestConfig | None = None, skipped: list[dict] | None = None, *,
           index: dict | None = None) -> tuple[list[dict], dict]:
    """Parse input files and build unique articles; raises IngestError when nothing usable is left.

    ``index``, when given, receives the dedupe index of the articles (see :func:`build_articles`)."""
    cfg = cfg or IngestConfig()
    parsed = ParsedInputs(skipped=list(skipped or []))
    for f in files:
        one = parse_file(f, cfg)
        parsed.records += one.records
        parsed.rejections += one.rejections
        parsed.warnings += one.warnings
    articles, report = build_articles(parsed, cfg, index=index)
    report["files"] = len(files)
    if not articles:
        reasons = sorted({r["reason"] for r in report["rejections"]})
        shown = "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")
        raise IngestError(f"no usable article in {len(files)} input file(s): {report['rejected']} rejected ({shown})")
    return articles, report
