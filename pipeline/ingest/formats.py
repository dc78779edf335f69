"""Input formats: files -> records. Decoding, the scraped seed format, JSONL, JSON arrays, CSV, gzip.

Each parser returns the records it read and the rejections (with reasons) of what it could not use; a problem with
the whole file is one rejection. Nothing here touches disk: the runner reads the bytes.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline import PipelineError
from pipeline.config import IngestConfig

SUPPORTED = (".txt", ".jsonl", ".ndjson", ".json", ".csv", ".tsv")
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


def _record_of(obj, src: dict, where: str) -> Record | Rejection:
    """One JSON value -> a record, or a rejection saying what is wrong with it (``where``: "line 3", "item 3")."""
    if not isinstance(obj, dict):
        return Rejection(src, f"{where} is a JSON {type(obj).__name__}, not an object")
    src["input_id"] = _str_or_none(obj.get("id"))
    body = obj.get("text")
    if not isinstance(body, str) or not body.strip():
        what = "has no 'text' field" if body is None else "has an empty or non-string 'text'"
        return Rejection(src, f"{where} {what}")
    meta = {k: v for k, v in obj.items() if k not in JSONL_FIELDS}
    title = obj.get("title")
    return Record(
        title=str(title).strip() if title is not None else "",
        text=body,
        source=src,
        date=_str_or_none(obj.get("date")),
        outlet=_str_or_none(obj.get("source")),
        url=_str_or_none(obj.get("url")),
        meta=meta,
    )


def _split(results: list[Record | Rejection]) -> tuple[list[Record], list[Rejection]]:
    return [r for r in results if isinstance(r, Record)], [r for r in results if isinstance(r, Rejection)]


def parse_jsonl_text(text: str, path: str) -> tuple[list[Record], list[Rejection]]:
    out: list[Record | Rejection] = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        src = {"path": path, "index": lineno, "input_id": None}
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            out.append(Rejection(src, f"line {lineno} is not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        out.append(_record_of(obj, src, f"line {lineno}"))
    return _split(out)


#: Keys under which a JSON object may hold its list of articles.
JSON_LIST_KEYS = ("articles", "data", "items", "records", "documents", "docs")


def parse_json_text(text: str, path: str) -> tuple[list[Record], list[Rejection]]:
    """A ``.json`` file: an array of article objects (or an object holding one under ``articles``, ``data``, ...);
    one JSON object per line is read as JSON lines."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            return parse_jsonl_text(text, path)  # JSON lines saved as .json
        raise _Reject(f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if isinstance(doc, dict):
        key = next((k for k in JSON_LIST_KEYS if isinstance(doc.get(k), list)), None)
        if key is None:
            if "text" in doc:
                doc = [doc]
            else:
                raise _Reject(f"JSON object without an article list (looked for {', '.join(JSON_LIST_KEYS)}) and "
                              f"without 'text'")
        else:
            doc = doc[key]
    if not isinstance(doc, list):
        raise _Reject(f"JSON file holds a {type(doc).__name__}; expected an array of article objects")
    return _split([_record_of(obj, {"path": path, "index": i, "input_id": None}, f"item {i}")
                   for i, obj in enumerate(doc)])


def _csv_dialect(text: str):
    """The CSV dialect: comma unless the header line is clearly split by ``;``, tab or ``|``."""
    head = text[:65536]
    first = head.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    if best == "," or counts[best] == 0:
        return csv.excel
    try:
        return csv.Sniffer().sniff(head, delimiters=best)
    except csv.Error:
        class _D(csv.excel):
            delimiter = best
        return _D


def parse_csv_text(text: str, path: str, cfg: IngestConfig) -> tuple[list[Record], list[Rejection]]:
    cols = cfg.csv_columns
    records: list[Record] = []
    rejections: list[Rejection] = []
    csv.field_size_limit(1 << 31 - 1)
    dialect = _csv_dialect(text)
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    header = reader.fieldnames or []
    if cols.text not in header:
        shown = ", ".join(header[:8]) + (" ..." if len(header) > 8 else "")
        sep = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}.get(dialect.delimiter, dialect.delimiter)
        raise _Reject(
            f"CSV ({sep}-separated) has no '{cols.text}' column (columns: {shown or 'none'}); set "
            f"ingest.csv_columns.text to the column holding the article text"
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
            return {".ndjson": ".jsonl", ".tsv": ".csv"}.get(ext, ext), gz
    return None, gz


def parse_file(f: InputFile, cfg: IngestConfig) -> ParsedInputs:
    """Parse one input file's bytes into records; a file-level problem becomes one rejection."""
    out = ParsedInputs()
    fmt, gz = input_format(f.path)
    whole = {"path": f.path, "index": None, "input_id": None}
    try:
        if fmt is None:
            raise _Reject("unsupported file type; expected .txt, .jsonl, .json, .csv, .tsv or one of these .gz")
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
        elif fmt == ".json":
            recs, rejs = parse_json_text(text, f.path)
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
                raise IngestError(f"folder {p} holds no .txt, .jsonl, .json, .csv or .gz input file")
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
