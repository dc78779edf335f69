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

from pipeline.ingest.build import build_articles, ingest, parse_date, truncate
from pipeline.ingest.dedupe import content_id, near_duplicate_groups
from pipeline.ingest.formats import (
    JSONL_FIELDS,
    SUPPORTED,
    IngestError,
    InputFile,
    ParsedInputs,
    Record,
    Rejection,
    clean_text,
    decode,
    expand_inputs,
    input_format,
    is_stray_line,
    looks_binary,
    parse_csv_text,
    parse_file,
    parse_json_text,
    parse_jsonl_text,
    parse_seed_block,
    parse_seed_text,
)

__all__ = [
    "JSONL_FIELDS", "SUPPORTED", "IngestError", "InputFile", "ParsedInputs", "Record", "Rejection", "build_articles",
    "clean_text", "content_id", "decode", "expand_inputs", "ingest", "input_format", "is_stray_line", "looks_binary",
    "near_duplicate_groups", "parse_csv_text", "parse_date", "parse_file", "parse_json_text", "parse_jsonl_text", "parse_seed_block",
    "parse_seed_text", "truncate",
]
