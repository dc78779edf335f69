"""Records -> articles: cleaning, dates, sentence spans, outlet boilerplate, duplicates collapsed, the report."""

from __future__ import annotations

from datetime import datetime

from pipeline.config import IngestConfig
from pipeline.ingest.dedupe import content_id, near_duplicate_groups
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


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` chars, at the last sentence end (or space) before the limit."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    cut = max(head.rfind(". "), head.rfind("\n"))
    if cut < limit // 2:
        cut = head.rfind(" ")
    return head[: cut + 1 if cut > 0 else limit].rstrip()


def _sentences(text: str, min_chars: int) -> list[list[int]]:
    return [[a, b] for a, b in split_sentences(text) if b - a >= min_chars]


def build_articles(parsed: ParsedInputs, cfg: IngestConfig) -> tuple[list[dict], dict]:
    """Records -> unique articles (with sources and sentence spans) and the ingest report.

    Returns
    -------
    articles : list of dict
        In order of first appearance in the input. Each has ``id, title, text, caption, date, source, url,
        sentences [[start, end], ...], sources [{path, index, input_id}], meta, warnings``.
    report : dict
        ``read, unique, duplicates, rejected`` counts, the rejections with reasons, duplicate groups, warnings.
    """
    rejections = list(parsed.rejections)
    warnings = list(parsed.warnings)
    prepared: list[tuple[Record, str, str, list]] = []
    for rec in parsed.records:
        text = clean_text(rec.text)
        if len(text) > cfg.max_article_chars:
            rec.warnings.append(f"text cut from {len(text)} to at most {cfg.max_article_chars} chars")
            text = truncate(text, cfg.max_article_chars)
        sents = _sentences(text, cfg.min_sentence_chars)
        if not sents:
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
        prepared.append((rec, text, normalize(text), sents))

    # The same input id on two different texts: both kept, recorded.
    by_input_id: dict[tuple[str, str], str] = {}
    for rec, _text, norm, _s in prepared:
        iid = rec.source.get("input_id")
        if iid is None:
            continue
        key = (rec.source["path"], iid)
        first = by_input_id.setdefault(key, norm)
        if first != norm:
            msg = f"input id {iid!r} in {rec.source['path']} names two different texts; both kept with their own ids"
            rec.warnings.append(msg)
            warnings.append(msg)

    # Exact duplicates by normalised text, then near duplicates among the distinct texts.
    exact: dict[str, int] = {}
    distinct: list[str] = []
    exact_of: list[int] = []
    for _rec, _text, norm, _s in prepared:
        if norm not in exact:
            exact[norm] = len(distinct)
            distinct.append(norm)
        exact_of.append(exact[norm])
    near = near_duplicate_groups(distinct, cfg)
    groups: dict[int, list[int]] = {}
    for i, e in enumerate(exact_of):
        groups.setdefault(near[e], []).append(i)

    articles: list[dict] = []
    dup_report: list[dict] = []
    for members in sorted(groups.values(), key=lambda m: m[0]):
        # Representative: the longest text (most content); ties by content id. Order-independent.
        rep = max(members, key=lambda i: (len(prepared[i][1]), -int(content_id(prepared[i][1])[1:], 16)))
        rec, text, norm, sents = prepared[rep]
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
        articles.append(
            {
                "id": aid,
                "title": rec.title or next((prepared[i][0].title for i in members if prepared[i][0].title), ""),
                "text": text,
                "caption": rec.caption,
                "date": rec.date or next((prepared[i][0].date for i in members if prepared[i][0].date), None),
                "source": rec.outlet,
                "url": rec.url,
                "sentences": sents,
                "sources": sources,
                "meta": rec.meta,
                "warnings": art_warnings,
            }
        )
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
    }
    if read != unique + duplicates + len(rejections):  # pragma: no cover - an invariant, not a user error
        raise AssertionError(f"ingest lost articles: read={read} unique={unique} dup={duplicates} rej={len(rejections)}")
    return articles, report


def ingest(files: list[InputFile], cfg: IngestConfig | None = None, skipped: list[dict] | None = None) -> tuple[list[dict], dict]:
    """Parse input files and build unique articles; raises IngestError when nothing usable is left."""
    cfg = cfg or IngestConfig()
    parsed = ParsedInputs(skipped=list(skipped or []))
    for f in files:
        one = parse_file(f, cfg)
        parsed.records += one.records
        parsed.rejections += one.rejections
        parsed.warnings += one.warnings
    articles, report = build_articles(parsed, cfg)
    report["files"] = len(files)
    if not articles:
        reasons = sorted({r["reason"] for r in report["rejections"]})
        shown = "; ".join(reasons[:3]) + (" ..." if len(reasons) > 3 else "")
        raise IngestError(f"no usable article in {len(files)} input file(s): {report['rejected']} rejected ({shown})")
    return articles, report
