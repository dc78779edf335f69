"""Ingest: raw inputs -> articles with sentence spans, boilerplate removed, duplicates collapsed.

Inputs are any mix of files and folders: ``.txt`` in the scraped seed format, ``.jsonl`` (one article per line),
``.csv`` with a header, and ``.gz`` of any of these. Every input record ends up in exactly one place:

- a unique article in ``articles.jsonl`` (listing every source it came from),
- a duplicate collapsed into one of those articles (exact, or near: MinHash + LSH from ``datasketch``),
- or a rejection with a reason in the ingest report.

So ``read == unique + duplicates + rejected`` always holds; :func:`ingest` checks it.

Article ids are derived from content (``a`` + 16 hex digits of the SHA-256 of the normalised text), so the same
article gets the same id on every run and machine.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import PipelineError
from pipeline.config import IngestConfig
from pipeline.text import normalize, split_sentences

SUPPORTED = (".txt", ".jsonl", ".ndjson", ".csv")
#: Fields of a JSONL record that map onto article fields; every other field is carried in ``meta`` untouched.
JSONL_FIELDS = ("id", "title", "text", "date", "source", "url")


class IngestError(PipelineError):
    """Nothing usable was left after ingest, or the inputs cannot be found."""


@dataclass
class Record:
    """One article as read from an input, before duplicate collapsing."""

    title: str
    text: str
    source: dict  # {"path", "index", "input_id"}
    caption: str | None = None
    date: str | None = None
    outlet: str | None = None
    url: str | None = None
    meta: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Rejection:
    source: dict
    reason: str

    def to_dict(self) -> dict:
        return {"source": self.source, "reason": self.reason}


@dataclass
class InputFile:
    """A file as found on disk: its display path and raw bytes (read by the runner)."""

    path: str
    data: bytes


@dataclass
class ParsedInputs:
    records: list[Record] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TEXT_BYTES = bytes(range(32, 256)) + b"\n\r\t\f\b"


class _Reject(Exception):
    """Internal: the whole input is rejected with this reason."""


def looks_binary(data: bytes) -> bool:
    """True for data that is not text: NUL bytes or many control bytes in the first 8 KiB."""
    head = data[:8192]
    if not head:
        return False
    if b"\x00" in head:
        return True
    nontext = len(head.translate(None, _TEXT_BYTES))
    return nontext / len(head) > 0.05


def decode(data: bytes) -> tuple[str, str | None]:
    """Bytes -> text, and a warning when the data was not UTF-8.

    UTF-8 (with or without BOM) first; UTF-16 when it has a BOM; then Windows-1252 and Latin-1, recorded.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "decoded as UTF-16 (BOM found)"
        except UnicodeDecodeError:
            raise _Reject("binary or corrupt UTF-16 data") from None
    if looks_binary(data):
        raise _Reject("binary file, not text (NUL or control bytes found)")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        where = exc.start
    try:
        return data.decode("cp1252"), f"not UTF-8 (invalid byte at offset {where}); decoded as Windows-1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), f"not UTF-8 (invalid byte at offset {where}); decoded as Latin-1"


def clean_text(text: str) -> str:
    """Unify newlines, replace control characters with spaces, strip trailing spaces of lines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub(" ", text)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


# --------------------------------------------------------------------------------------------------------------
# The scraped seed format
# --------------------------------------------------------------------------------------------------------------
_ARTICLE_BREAK = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")  # two or more blank lines
_STRAY = re.compile(r"^\W*[\w]{0,3}\W*$")  # "TT", "20", "|", "--"


def is_stray_line(line: str) -> bool:
    """A stray short line of page furniture (``TT``, ``20``): at most 3 letters or digits and no sentence."""
    return bool(_STRAY.match(line.strip()))


def parse_seed_block(block: str, *, max_title_chars: int = 300) -> tuple[str, str | None, list[str], list[str]]:
    """One article block of the seed format -> (title, caption, body paragraphs, notes).

    The page prints the headline and the photo caption twice, with stray short lines (``TT``, ``20``) between;
    the headline becomes the title, the caption is kept apart, and body paragraphs keep their order.
    """
    lines = [ln.strip() for ln in block.split("\n")]
    lines = [ln for ln in lines if ln]
    notes: list[str] = []
    if not lines:
        return "", None, [], notes
    title = lines[0]
    if len(title) > max_title_chars:
        notes.append(f"first line is {len(title)} chars, longer than max_title_chars={max_title_chars}: kept as body")
        title = ""
        start = 0
    else:
        start = 1
    counts: dict[str, int] = {}
    for ln in lines:
        counts[ln] = counts.get(ln, 0) + 1
    caption = None
    i = start
    # Header zone: repeats of the headline, the caption (a line printed more than once), stray short lines.
    while i < len(lines):
        ln = lines[i]
        if title and ln == title:
            i += 1
        elif counts[ln] > 1 and i + 1 < len(lines) and (lines[i + 1] == ln or caption == ln):
            caption = caption or ln
            i += 1
        elif caption == ln or is_stray_line(ln):
            i += 1
        else:
            break
    body = [ln for ln in lines[i:] if not is_stray_line(ln) and ln != title and ln != caption]
    dropped = len(lines) - i - len(body)
    if dropped:
        notes.append(f"dropped {dropped} boilerplate line(s) from the body")
    return title, caption, body, notes


def parse_seed_text(text: str, path: str, cfg: IngestConfig) -> tuple[list[Record], list[Rejection]]:
    records: list[Record] = []
    rejections: list[Rejection] = []
    blocks = [b for b in _ARTICLE_BREAK.split(text) if b.strip()]
    for index, block in enumerate(blocks):
        src = {"path": path, "index": index, "input_id": None}
        title, caption, body, notes = parse_seed_block(block, max_title_chars=cfg.max_title_chars)
        if not body:
            rejections.append(Rejection(src, "no body text after the headline (only boilerplate lines)"))
            continue
        records.append(Record(title=title, text="\n\n".join(body), source=src, caption=caption, warnings=notes))
    return records, rejections


# --------------------------------------------------------------------------------------------------------------
# JSONL and CSV
# --------------------------------------------------------------------------------------------------------------
def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    s = str(value).strip()
    return s or None


def parse_jsonl_text(text: str, path: str) -> tuple[list[Record], list[Rejection]]:
    records: list[Record] = []
    rejections: list[Rejection] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        src = {"path": path, "index": lineno, "input_id": None}
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rejections.append(Rejection(src, f"line {lineno} is not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(obj, dict):
            rejections.append(Rejection(src, f"line {lineno} is a JSON {type(obj).__name__}, not an object"))
            continue
        src["input_id"] = _str_or_none(obj.get("id"))
        body = obj.get("text")
        if not isinstance(body, str) or not body.strip():
            what = "has no 'text' field" if body is None else "has an empty or non-string 'text'"
            rejections.append(Rejection(src, f"line {lineno} {what}"))
            continue
        meta = {k: v for k, v in obj.items() if k not in JSONL_FIELDS}
        title = obj.get("title")
        records.append(
            Record(
                title=str(title).strip() if title is not None else "",
                text=body,
                source=src,
                date=_str_or_none(obj.get("date")),
                outlet=_str_or_none(obj.get("source")),
                url=_str_or_none(obj.get("url")),
                meta=meta,
            )
        )
    return records, rejections


def parse_csv_text(text: str, path: str, cfg: IngestConfig) -> tuple[list[Record], list[Rejection]]:
    cols = cfg.csv_columns
    records: list[Record] = []
    rejections: list[Rejection] = []
    csv.field_size_limit(1 << 31 - 1)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if cols.text not in header:
        shown = ", ".join(header[:8]) + (" ..." if len(header) > 8 else "")
        raise _Reject(
            f"CSV has no '{cols.text}' column (columns: {shown or 'none'}); set ingest.csv_columns.text"
        )
    mapped = {c for c in (cols.id, cols.title, cols.text, cols.date, cols.source, cols.url) if c}
    rowno = 0
    try:
        for rowno, row in enumerate(reader, 1):
            src = {"path": path, "index": rowno, "input_id": _str_or_none(row.get(cols.id)) if cols.id else None}
            if None in row:  # more fields than header columns
                rejections.append(Rejection(src, f"row {rowno} has more fields than the header"))
                continue
            body = row.get(cols.text)
            if not body or not body.strip():
                rejections.append(Rejection(src, f"row {rowno} has an empty '{cols.text}' column"))
                continue
            meta = {k: v for k, v in row.items() if k not in mapped and k is not None}
            records.append(
                Record(
                    title=(row.get(cols.title) or "").strip() if cols.title else "",
                    text=body,
                    source=src,
                    date=_str_or_none(row.get(cols.date)) if cols.date else None,
                    outlet=_str_or_none(row.get(cols.source)) if cols.source else None,
                    url=_str_or_none(row.get(cols.url)) if cols.url else None,
                    meta=meta,
                )
            )
    except csv.Error as exc:
        rejections.append(
            Rejection({"path": path, "index": rowno + 1, "input_id": None}, f"CSV unreadable after row {rowno}: {exc}")
        )
    return records, rejections


# --------------------------------------------------------------------------------------------------------------
# Files -> records
# --------------------------------------------------------------------------------------------------------------
def input_format(path: str) -> tuple[str | None, bool]:
    """(format extension, gzipped?) of a file name; format None when unsupported."""
    name = path.lower()
    gz = name.endswith(".gz")
    if gz:
        name = name[:-3]
    for ext in SUPPORTED:
        if name.endswith(ext):
            return (".jsonl" if ext == ".ndjson" else ext), gz
    return None, gz


def parse_file(f: InputFile, cfg: IngestConfig) -> ParsedInputs:
    """Parse one input file's bytes into records; a file-level problem becomes one rejection."""
    out = ParsedInputs()
    fmt, gz = input_format(f.path)
    whole = {"path": f.path, "index": None, "input_id": None}
    try:
        if fmt is None:
            raise _Reject("unsupported file type; expected .txt, .jsonl, .csv or one of these .gz")
        data = f.data
        if gz:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                raise _Reject(f"corrupt gzip data ({exc})") from None
        if len(data) > cfg.max_file_mb * 1024 * 1024:
            raise _Reject(f"file is {len(data) / 2**20:.0f} MB, over ingest.max_file_mb={cfg.max_file_mb:g}")
        if not data.strip():
            raise _Reject("empty file")
        text, enc_warning = decode(data)
        if enc_warning:
            out.warnings.append(f"{f.path}: {enc_warning}")
        if fmt == ".txt":
            recs, rejs = parse_seed_text(clean_text(text), f.path, cfg)
        elif fmt == ".jsonl":
            recs, rejs = parse_jsonl_text(text.replace("\r\n", "\n"), f.path)
        else:
            recs, rejs = parse_csv_text(text, f.path, cfg)
        if enc_warning:
            for r in recs:
                r.warnings.append(enc_warning)
        if not recs and not rejs:
            raise _Reject("no article found in file")
        out.records.extend(recs)
        out.rejections.extend(rejs)
    except _Reject as exc:
        out.rejections.append(Rejection(whole, str(exc)))
    return out


def expand_inputs(paths: list[str | Path]) -> tuple[list[Path], list[dict]]:
    """Files to read, in a stable order, and the files skipped inside folders (unsupported types)."""
    files: list[Path] = []
    skipped: list[dict] = []
    if not paths:
        raise IngestError("no input given; pass files or folders, e.g. `pipeline ingest seeds/`")
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(x for x in p.rglob("*") if x.is_file() and not any(s.startswith(".") for s in x.parts))
            chosen = [x for x in found if input_format(str(x))[0] is not None]
            skipped += [{"path": str(x), "reason": "unsupported file type"} for x in found if x not in chosen]
            if not chosen:
                raise IngestError(f"folder {p} holds no .txt, .jsonl, .csv or .gz input file")
            files.extend(chosen)
        elif p.is_file():
            files.append(p)
        else:
            raise IngestError(f"input not found: {p}")
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique, skipped


# --------------------------------------------------------------------------------------------------------------
# Records -> articles (sentences, dates, duplicates)
# --------------------------------------------------------------------------------------------------------------
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


def content_id(text: str) -> str:
    return "a" + hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()[:16]


_WORD = re.compile(r"\w+")


def _shingle_hashes(norm_text: str, k: int, vocab: dict[str, int]) -> np.ndarray:
    """32-bit hashes of the word k-shingles of a normalised text (CRC32 of words, combined polynomially).

    Vectorised with numpy: hashing each joined shingle string in Python costs several times more.
    """
    words = _WORD.findall(norm_text)
    codes = np.fromiter((vocab.get(w) or vocab.setdefault(w, zlib.crc32(w.encode("utf-8")) or 1) for w in words),
                        dtype=np.uint64, count=len(words))
    if len(codes) < k:
        return np.array([int(codes.sum()) & 0xFFFFFFFF], dtype=np.uint64)
    h = np.zeros(len(codes) - k + 1, dtype=np.uint64)
    for j in range(k):
        h = (h * np.uint64(1_000_003) + codes[j : len(codes) - k + 1 + j]) & np.uint64(0xFFFFFFFF)
    return np.unique(h)


def _identity(x):
    return x


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def near_duplicate_groups(norm_texts: list[str], cfg: IngestConfig) -> list[int]:
    """Group id per text: texts whose estimated shingle Jaccard >= the threshold share a group.

    MinHash signatures with an LSH index (``datasketch``) find candidate pairs in near-linear time; each candidate
    pair is confirmed on the MinHash Jaccard estimate, so LSH false positives are not merged.
    """
    from datasketch import MinHash, MinHashLSH

    n = len(norm_texts)
    uf = _UnionFind(n)
    if n < 2:
        return list(range(n))
    first = MinHash(num_perm=cfg.num_perm, seed=1, hashfunc=_identity)
    hashes = [first] + [
        MinHash(num_perm=cfg.num_perm, hashfunc=_identity, permutations=first.permutations, scheme=first.scheme)
        for _ in range(n - 1)
    ]
    vocab: dict[str, int] = {}
    for mh, t in zip(hashes, norm_texts):
        mh.update_batch(_shingle_hashes(t, cfg.shingle_words, vocab))
    lsh = MinHashLSH(threshold=cfg.near_duplicate_threshold, num_perm=cfg.num_perm)
    for i, mh in enumerate(hashes):
        for j in lsh.query(mh):
            if hashes[i].jaccard(hashes[j]) >= cfg.near_duplicate_threshold:
                uf.union(i, j)
        lsh.insert(i, mh)
    return [uf.find(i) for i in range(n)]


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
