"""Tables for spreadsheets and dataframes: which article went where, and the themes and stories.

Three tables, built from a run folder's artifacts, in a stable order (the same bytes twice):

``articles`` -- one row per **input record**, so it joins back to the user's own data:

    input_path, input_index, input_id   where the record came from (file, line/row/position, its own id)
    status          "clustered", "unclustered", "duplicate" (a copy of another record; see article_id) or "rejected"
    reason          why a record was rejected (else empty)
    article_id      the article the record became (a duplicate: the article it was collapsed into)
    theme_id, theme_label, story_id, story_label
    similarity      cosine similarity of the article to its theme's centre (empty when unclustered)
    title, date, source, url

``themes`` -- one row per theme, largest first:

    theme_id, label, keywords ("; "-joined), articles (count), stories (count), first_date, last_date,
    outlets (the five largest, "tass.com 40; rte.ie 3"), summary (the summary sentences joined)

``stories`` -- one row per story: story_id, theme_id, label, keywords, articles, first_date, last_date, outlets,
summary.

CSV files are UTF-8 with a byte-order mark (spreadsheet programs then read accents right); Parquet files
(``pyarrow``) keep the same columns with their types.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from pipeline import PipelineError
from pipeline import artifacts as A
from pipeline.artifacts import RunFolder

ARTICLE_COLUMNS = ["input_path", "input_index", "input_id", "status", "reason", "article_id", "theme_id",
                   "theme_label", "story_id", "story_label", "similarity", "title", "date", "source", "url"]
GROUP_COLUMNS = ["theme_id", "label", "keywords", "articles", "stories", "first_date", "last_date", "outlets",
                 "summary"]
STORY_COLUMNS = ["story_id", "theme_id", "label", "keywords", "articles", "first_date", "last_date", "outlets",
                 "summary"]
FORMATS = ("csv", "parquet")


class ExportError(PipelineError):
    """The tables cannot be written (missing artifacts, unknown format)."""


def _dates(ids: list[str], by_id: dict[str, dict]) -> tuple[str | None, str | None]:
    ds = sorted(d for d in (by_id[i].get("date") for i in ids) if d)
    return (ds[0], ds[-1]) if ds else (None, None)


def _outlets(ids: list[str], by_id: dict[str, dict], top: int = 5) -> str:
    c = Counter(by_id[i].get("source") or "unknown" for i in ids)
    return "; ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:top])


def _member_ids(group: dict) -> list[str]:
    return [m["id"] if isinstance(m, dict) else m for m in group["articles"]]


def build_tables(articles: list[dict], clusters: dict, summaries: dict | None = None,
                 ingest_report: dict | None = None) -> dict[str, list[dict]]:
    """The ``articles``, ``themes`` and ``stories`` tables (lists of row dicts, columns as in the module doc)."""
    by_id = {a["id"]: a for a in articles}
    summary_of: dict[str, str] = {}
    for t in (summaries or {}).get("themes", []):
        summary_of[t["id"]] = " ".join(s["text"] for s in t.get("summary", []))
        for st in t.get("stories", []):
            summary_of[st["id"]] = " ".join(s["text"] for s in st.get("summary", []))
    theme_of: dict[str, tuple[dict, float]] = {}
    story_of: dict[str, dict] = {}
    themes, stories = [], []
    for t in clusters.get("themes", []):
        sims = {m["id"]: m.get("similarity") for m in t["articles"] if isinstance(m, dict)}
        ids = _member_ids(t)
        for i in ids:
            theme_of[i] = (t, sims.get(i))
        first, last = _dates(ids, by_id)
        themes.append({"theme_id": t["id"], "label": t["label"], "keywords": "; ".join(t.get("keywords", [])),
                       "articles": len(ids), "stories": len(t.get("stories", [])), "first_date": first,
                       "last_date": last, "outlets": _outlets(ids, by_id), "summary": summary_of.get(t["id"], "")})
        for st in t.get("stories", []):
            sids = _member_ids(st)
            for i in sids:
                story_of[i] = st
            first, last = _dates(sids, by_id)
            stories.append({"story_id": st["id"], "theme_id": t["id"], "label": st["label"],
                            "keywords": "; ".join(st.get("keywords", [])), "articles": len(sids),
                            "first_date": first, "last_date": last, "outlets": _outlets(sids, by_id),
                            "summary": summary_of.get(st["id"], "")})
    rows = []
    for a in articles:
        t, sim = theme_of.get(a["id"], (None, None))
        st = story_of.get(a["id"])
        for k, src in enumerate(a["sources"]):
            rows.append({
                "input_path": src.get("path"), "input_index": src.get("index"), "input_id": src.get("input_id"),
                "status": "duplicate" if k else ("clustered" if t else "unclustered"), "reason": "",
                "article_id": a["id"], "theme_id": t["id"] if t else None, "theme_label": t["label"] if t else None,
                "story_id": st["id"] if st else None, "story_label": st["label"] if st else None,
                "similarity": sim, "title": a.get("title") or "", "date": a.get("date"), "source": a.get("source"),
                "url": a.get("url"),
            })
    for r in (ingest_report or {}).get("rejections", []):
        src = r.get("source", {})
        rows.append({**dict.fromkeys(ARTICLE_COLUMNS), "input_path": src.get("path"), "input_index": src.get("index"),
                     "input_id": src.get("input_id"), "status": "rejected", "reason": r.get("reason", ""),
                     "title": ""})
    rows.sort(key=lambda r: (str(r["input_path"]), r["input_index"] if isinstance(r["input_index"], int) else -1,
                             str(r["input_id"])))
    return {"articles": rows, "themes": themes, "stories": stories}


def read_tables(run: RunFolder) -> dict[str, list[dict]]:
    """The tables of a finished run folder (``clusters.json`` needed; summaries and the ingest report if there)."""
    articles = run.read_jsonl(A.ARTICLES)
    clusters = run.read_json(A.CLUSTERS)
    summaries = run.read_json(A.SUMMARIES) if run.exists(A.SUMMARIES) else None
    report = run.read_json(A.INGEST_REPORT) if run.exists(A.INGEST_REPORT) else None
    return build_tables(articles, clusters, summaries, report)


def _csv_bytes(rows: list[dict], columns: list[str]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in columns})
    return buf.getvalue().encode("utf-8-sig")


def _parquet_bytes(rows: list[dict], columns: list[str]) -> bytes:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - a dependency
        raise ExportError("Parquet needs pyarrow: pip install pyarrow") from exc
    table = pa.Table.from_pylist([{k: r.get(k) for k in columns} for r in rows],
                                 schema=None) if rows else pa.table({k: pa.array([], pa.string()) for k in columns})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def write_tables(run: RunFolder, folder: str | Path | None = None, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``articles``, ``themes`` and ``stories`` as CSV and/or Parquet into ``folder`` (default
    ``<run>/exports``). Returns the files written."""
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ExportError(f"format={bad[0] if bad else ''!r} should be one of {', '.join(FORMATS)}.")
    tables = read_tables(run)
    target = RunFolder(folder) if folder is not None else run
    prefix = "" if folder is not None else "exports/"
    written = []
    for name, cols in (("articles", ARTICLE_COLUMNS), ("themes", GROUP_COLUMNS), ("stories", STORY_COLUMNS)):
        for fmt in formats:
            data = _csv_bytes(tables[name], cols) if fmt == "csv" else _parquet_bytes(tables[name], cols)
            path = target.path(f"{prefix}{name}.{fmt}")
            A.atomic_write_bytes(path, data)
            written.append(path)
    return written
