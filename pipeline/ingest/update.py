"""New inputs into an existing collection: only the new records are parsed, cleaned and split; a new record that
duplicates an earlier article joins that article's sources instead of becoming an article.

Earlier articles are found through the run folder's dedupe index (``index/minhash.npy``: MinHash signatures,
``index/content.npy``: content keys), so nothing earlier is re-read or re-hashed; the house text of the new records is
learned from them together with up to ``CONTEXT_PER_SOURCE`` of the latest earlier articles of each of their outlets.
Then :func:`relearn_house_text` learns the house text of those outlets over all their articles, earlier and new, as a
one-shot ingest of the same articles would (in the placement regime once an outlet has grown by ``RELEARN_GROWTH``),
and re-marks the articles whose spans change (text and offsets never change).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.config import IngestConfig
from pipeline.ingest.build import build_articles
from pipeline.ingest.dedupe import near_duplicates_of
from pipeline.ingest.formats import IngestError, InputFile, ParsedInputs, parse_file
from pipeline.ingest.build import source_of

#: Earlier articles of each outlet counted with the new ones when house text is learned.
CONTEXT_PER_SOURCE = 200


def ingest_more(files: list[InputFile], existing: list[dict], index: dict, cfg: IngestConfig | None = None,
                skipped: list[dict] | None = None) -> tuple[list[dict], dict[int, dict], dict, dict]:
    """Parse new input files against an existing collection.

    Parameters
    ----------
    files : the new inputs (bytes already read).
    existing : list of dict, the articles already in the run folder (``articles.jsonl``), in order.
    index : dict with ``minhash`` (n_existing, num_perm) uint64 and ``content`` (n_existing,) uint64, row for row
        with ``existing``.

    Returns
    -------
    new : list of dict
        Articles not seen before, in arrival order.
    joined : dict row -> article
        Earlier articles (by row in ``existing``) that gained sources from new duplicates, updated copies.
    report : dict
        The ingest report of this batch; ``duplicates`` counts copies within the batch and copies of earlier
        articles (``joined_earlier``), so ``read == unique + duplicates + rejected`` still holds for the batch.
    new_index : dict
        ``minhash`` and ``content`` rows of the new articles.
    """
    cfg = cfg or IngestConfig()
    parsed = ParsedInputs(skipped=list(skipped or []))
    for f in files:
        one = parse_file(f, cfg)
        parsed.records += one.records
        parsed.rejections += one.rejections
        parsed.warnings += one.warnings
    outlets = {source_of(r.outlet, r.url) for r in parsed.records}
    context: list[dict] = []
    per: dict = {}
    for art in reversed(existing):  # the latest earlier articles of the same outlets
        src = art.get("source")
        if src in outlets and per.get(src, 0) < CONTEXT_PER_SOURCE:
            per[src] = per.get(src, 0) + 1
            context.append(art)
    batch_index: dict = {}
    articles, report = build_articles(parsed, cfg, context=context[::-1], index=batch_index)
    report["files"] = len(files)

    old_content = {int(k): i for i, k in enumerate(np.asarray(index.get("content", []), dtype=np.uint64))}
    near = near_duplicates_of(batch_index["minhash"], np.asarray(index.get("minhash", np.zeros((0, cfg.num_perm))),
                                                                 dtype=np.uint64), cfg)
    new: list[dict] = []
    keep_rows: list[int] = []
    joined: dict[int, dict] = {}
    joined_report: list[dict] = []
    for k, art in enumerate(articles):
        row = old_content.get(int(batch_index["content"][k]))
        kind = "exact"
        if row is None and near[k] is not None:
            row, kind = near[k], "near"
        if row is None:
            new.append(art)
            keep_rows.append(k)
            continue
        old = joined.get(row) or {**existing[row], "sources": list(existing[row]["sources"])}
        old["sources"] = old["sources"] + art["sources"]
        joined[row] = old
        joined_report.append({"article_id": old["id"], "collapsed": art["sources"], "kind": kind})
    n_joined = sum(len(j["collapsed"]) for j in joined_report)
    report["unique"] = len(new)
    report["duplicates"] += n_joined
    report["joined_earlier"] = joined_report
    report["sentences"] = sum(len(a["sentences"]) for a in new)
    if report["read"] != report["unique"] + report["duplicates"] + report["rejected"]:  # pragma: no cover
        raise AssertionError("update ingest lost articles")
    if not new and not joined and report["rejected"] == report["read"] and report["read"]:
        reasons = sorted({r["reason"] for r in report["rejections"]})
        raise IngestError(f"no usable article in {len(files)} new input file(s): {report['rejected']} rejected "
                          f"({'; '.join(reasons[:3])})")
    new_index = {"minhash": batch_index["minhash"][keep_rows], "content": batch_index["content"][keep_rows]}
    return new, joined, report, new_index


#: In the placement regime an outlet is learned again over all its articles once it has grown by this share since it
#: was last learned in full (amortised: each new article pays for about 1 / RELEARN_GROWTH earlier ones).
RELEARN_GROWTH = 0.1


def outlets_to_relearn(articles: list[dict], n_old: int, learned_at: dict[str, int] | None,
                       growth: float | None) -> set:
    """The outlets of the new articles (``articles[n_old:]``) to learn again over all their articles.

    ``growth`` None: all of them (exact: what a one-shot ingest of the same articles learns). Else only those that
    have grown by at least ``growth`` x their size when they were last learned in full (``learned_at``: outlet key
    -> article count then; an outlet missing from it was last learned at its size before this update)."""
    from collections import Counter

    touched = {a.get("source") for a in articles[n_old:]}
    if growth is None:
        return touched
    before = Counter(a.get("source") for a in articles[:n_old] if a.get("source") in touched)
    now = Counter(a.get("source") for a in articles[n_old:])
    learned_at = learned_at or {}
    out = set()
    for src in touched:
        last = learned_at.get(outlet_key(src), before[src])
        if before[src] + now[src] >= (1.0 + growth) * last - 1e-9:
            out.add(src)
    return out


def outlet_key(src: str | None) -> str:
    """A JSON key for an outlet (articles without one form one group)."""
    return "" if src is None else f"={src}"


def relearn_house_text(articles: list[dict], n_old: int, cfg: IngestConfig | None = None,
                       outlets: set | None = None) -> tuple[list[dict], list[int], dict]:
    """House text learned over the whole collection, as a one-shot ingest of the same articles would learn it.

    House text is learned per outlet from what repeats among its articles (:func:`learned_spans`), so an update's
    articles change what is learned for their outlets, and only for those: the outlets of the new articles
    (``articles[n_old:]``) are learned again from all their articles, earlier and new; the other outlets' spans
    stand as they are. Each article of those outlets is marked again; text and offsets never change, only the
    ``boilerplate`` spans and the ``sentences`` outside them.

    Returns
    -------
    articles : list of dict
        The collection, with updated copies of the articles whose spans changed (the others are the same objects).
    remarked : list of int
        Rows below ``n_old`` (earlier articles) whose spans changed: their content sentences must be embedded again.
    info : dict
        ``sources`` (outlets learned again), ``articles`` (articles of those outlets), ``remarked``, ``new_changed``
        (new articles whose spans differ from what their batch alone gave), ``learned_at`` (outlet key -> articles).
    """
    from pipeline.ingest.boilerplate import find_boilerplate
    from pipeline.ingest.build import mark_text

    cfg = cfg or IngestConfig()
    info = {"sources": 0, "articles": 0, "remarked": 0, "new_changed": 0}
    if not cfg.boilerplate or n_old >= len(articles):
        return articles, [], info
    touched = {a.get("source") for a in articles[n_old:]} if outlets is None else set(outlets)
    if not touched:
        return articles, [], info
    rows = [i for i, a in enumerate(articles) if a.get("source") in touched]
    found = find_boilerplate([articles[i]["text"] for i in rows], [articles[i].get("source") for i in rows],
                             min_articles=cfg.boilerplate_min_articles, min_share=cfg.boilerplate_min_share)
    out = list(articles)
    remarked: list[int] = []
    for i, spans in zip(rows, found):
        art = articles[i]
        spans, sents = mark_text(art["text"], spans, cfg.min_sentence_chars)
        if not sents:  # an article stays an article: it keeps the content it was accepted with
            continue
        marks = [[a, b] for a, b, _k in spans]
        if marks == art.get("boilerplate") and sents == art.get("sentences"):
            continue
        out[i] = {**art, "boilerplate": marks, "sentences": sents}
        if i < n_old:
            remarked.append(i)
        else:
            info["new_changed"] += 1
    info.update(sources=len(touched), articles=len(rows), remarked=len(remarked),
                learned_at={outlet_key(src): sum(articles[i].get("source") == src for i in rows) for src in touched})
    return out, remarked, info


def content_keys(articles: Sequence[dict]) -> np.ndarray:
    """The dedupe index's content key of each article (its content sentences, house text aside)."""
    from pipeline.ingest.dedupe import content_key

    return np.array([content_key(" ".join(a["text"][x:y] for x, y in a["sentences"])) for a in articles],
                    dtype=np.uint64)
