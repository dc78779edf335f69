"""The update runner: new inputs into an existing run folder (``pipeline update``), all or nothing.

What it does, in one transaction of the run folder (:meth:`pipeline.artifacts.RunFolder.transaction`: a stopped
update leaves the folder as it was; the next use of the folder finishes a committed one):

1. checks the folder was made with the same config and model (one line and exit 1 if not);
2. ingests only the new inputs (an input file already read by the run or an earlier update is skipped; a new article
   that duplicates an earlier one joins its sources) — :func:`pipeline.ingest.ingest_more`; the house text of the
   outlets with news is learned again over all their articles and earlier articles whose spans change are re-marked
   (:func:`pipeline.ingest.update.relearn_house_text`);
3. embeds only the new articles and the re-marked ones (the vector cache makes texts seen before free);
4. places each new article in an existing theme and story by the rule that built them
   (:func:`pipeline.cluster.place`), else puts it in the pool (the run's unclustered articles + the
   unplaced new ones) from which new themes and stories are formed with the cluster stage itself. While the run
   is young (fewer than ``update.recluster_below`` articles, 10,000 by default: its themes rest on few articles, the
   granularity the cluster stage finds still changes as it grows, and a whole tree costs seconds), and always with ``rebuild``, it re-clusters everything instead and maps the new groups
   onto the old ids by member overlap (recording merges and splits);
5. rewrites the summaries of the themes and stories whose members changed, and only those;
6. writes ``changes.json`` (also kept as ``updates/NNNN/changes.json``) and a line of ``history.jsonl``.

In placement mode existing theme and story ids and memberships never change; labels and keywords are kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline import PipelineError, __version__
from pipeline import artifacts as A
from pipeline import update as U
from pipeline.artifacts import RunFolder, sha256_file
from pipeline.config import Config
from pipeline.runner import (
    Progress, _engine, _quiet, content_text, embed_articles, embed_sentence_rows, layout_sentence_vectors,
    package_versions, summarize_groups,
)

#: Config keys that do not change what a run folder holds (speed, caches, display): an update may differ in them.
FREE_KEYS = ("embed.threads", "embed.batch_size", "embed.cache_dir", "embed.use_cache", "report.", "evaluate.",
             "update.", "engine", "ray.")


#: Per outlet, how many articles it had when its house text was last learned over all of them (by an update).
HOUSE_TEXT = "index/house_text.json"


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat(v, key + "."))
        else:
            out[key] = v
    return out


def check_compatible(run: RunFolder, cfg: Config) -> dict:
    """The run folder's manifest, if it was made with this config (up to :data:`FREE_KEYS`); else one-line error."""
    manifest = run.read_manifest()
    if not run.exists(A.CLUSTERS) or not manifest.get("config"):
        raise PipelineError(f"{run.root} holds no finished run; make one with `pipeline run INPUTS --out {run.root}`")
    old, new = _flat(manifest["config"]), _flat(cfg.model_dump(mode="json"))
    default = _flat(Config().model_dump(mode="json"))
    # a key the run folder's version did not have yet counts as its default (the behaviour of that version)
    old = {**{k: default[k] for k in new.keys() - old.keys() if k in default}, **old}
    diff = [k for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k) and not any(k == f or (f.endswith(".") and k.startswith(f)) for f in FREE_KEYS)]
    if diff:
        k = diff[0]
        more = f" (and {len(diff) - 1} more key(s))" if len(diff) > 1 else ""
        raise PipelineError(f"{run.root} was made with {k}={old.get(k)!r}, this config has {k}={new.get(k)!r}{more}; "
                            f"update with the config the run folder was made with, or start a new run folder")
    return manifest


def _check_model(manifest: dict, embedder, root: Path) -> None:
    made = manifest.get("model")
    if made and made != embedder.model_id:
        hint = ("start a new run folder, or keep this one's single tier with --set embed.article_tokens=null --set "
                "embed.sentence_model=same --set embed.lead_sentences=12" if "+" in embedder.model_id and "+" not in made
                else "start a new run folder")
        raise PipelineError(f"{root} was embedded with model {made}, this machine gives {embedder.model_id}; "
                            f"vectors of two models do not mix: {hint}")


def _read_inputs(inputs: Sequence[str | Path], seen: set[str]) -> tuple[list, list[dict], list[dict]]:
    from pipeline.ingest import InputFile, expand_inputs

    files, skipped = expand_inputs(list(inputs))
    loaded, hashes, repeated = [], [], []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as exc:
            raise PipelineError(f"cannot read input {f}: {exc.strerror}") from None
        digest = sha256_file(f)
        if digest in seen:
            repeated.append({"path": str(f), "sha256": digest, "reason": "already read by this run folder"})
            continue
        seen.add(digest)
        loaded.append(InputFile(str(f), data))
        hashes.append({"path": str(f), "sha256": digest, "bytes": len(data)})
    return loaded, hashes, skipped + repeated


def _inputs_seen(run: RunFolder, manifest: dict) -> set[str]:
    seen = {i.get("sha256") for i in manifest.get("stages", {}).get("ingest", {}).get("inputs", [])
            if isinstance(i, dict)}
    if run.exists(A.HISTORY):
        for line in run.iter_jsonl(A.HISTORY):
            seen.update(i.get("sha256") for i in line.get("inputs", []))
    seen.discard(None)
    return seen


def _history(run: RunFolder) -> list[dict]:
    return run.read_jsonl(A.HISTORY) if run.exists(A.HISTORY) else []


def _concat_rows(run: RunFolder, name: str, extra: np.ndarray) -> np.ndarray:
    old = run.read_npy(name)
    if old.shape[1:] != extra.shape[1:] and len(extra):
        raise PipelineError(f"{run.path(name)} holds vectors of shape {old.shape[1:]}, the new ones {extra.shape[1:]}")
    return np.concatenate([np.asarray(old), extra.astype(old.dtype, copy=False)]) if len(extra) else np.asarray(old)


def _embed_update(run: RunFolder, articles: list[dict], n_old: int, remarked: list[int], embedder,
                  cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Article vectors, sentence rows and sentence vectors of the collection after an update: the new articles
    (rows ``n_old:``) are embedded and appended; the earlier articles whose house text changed (``remarked``) are
    embedded again (their unchanged sentences come from the vector cache) and their rows replaced."""
    todo = articles[n_old:] + [articles[i] for i in remarked]
    emb = embed_articles(todo, embedder, cfg.embed.article_vectors, cfg.embed.lead_sentences) if todo else None
    n_new = len(articles) - n_old
    if emb is None:
        emb = {"article_vectors": np.zeros((0, 0), np.float32), "sentence_rows": np.zeros((0, 2), np.int32),
               "sentence_vectors": np.zeros((0, 0), np.float32)}
    where = np.concatenate([np.arange(n_old, len(articles)), np.asarray(remarked, dtype=np.int64)]).astype(np.int32)
    rows_add = emb["sentence_rows"].copy()
    if len(rows_add):
        rows_add[:, 0] = where[rows_add[:, 0]]
    x = _concat_rows(run, A.ARTICLE_VECTORS, emb["article_vectors"][:n_new])
    sent_rows = _concat_rows(run, A.SENTENCE_ROWS, rows_add)
    sent_vecs = _concat_rows(run, A.SENTENCE_VECTORS, emb["sentence_vectors"])
    if remarked:
        x[remarked] = emb["article_vectors"][n_new:]
        old_rows = len(sent_rows) - len(rows_add)
        gone = np.zeros(len(articles), dtype=bool)
        gone[remarked] = True
        keep = np.ones(len(sent_rows), dtype=bool)
        keep[:old_rows] = ~gone[sent_rows[:old_rows, 0]]
        sent_rows, sent_vecs = sent_rows[keep], sent_vecs[keep]
        order = np.lexsort((sent_rows[:, 1], sent_rows[:, 0]))  # article by article, in sentence order
        sent_rows, sent_vecs = sent_rows[order], sent_vecs[order]
    return x, sent_rows, sent_vecs


def _rescore(group: dict, x: np.ndarray, row_of: dict[str, int], ids: list[str]) -> None:
    """Re-order a grown group's members by similarity to its new centre, as the cluster stage orders them."""
    from pipeline.cluster.core import _members

    group["articles"] = _members(np.sort([row_of[i] for i in U._members(group)]), x, ids)
    group["size"] = len(group["articles"])


def _cluster_pool(x: np.ndarray, articles: list[dict], cfg: Config, previous: dict | None = None,
                  return_state: bool = False):
    """The cluster stage on these articles, called as ``pipeline cluster`` calls it."""
    from pipeline.cluster import cluster_articles

    c = cfg.cluster
    return cluster_articles(
        x, [content_text(a) for a in articles], [a["id"] for a in articles],
        titles=[a.get("title") or "" for a in articles], dates=[a.get("date") for a in articles],
        exclude_terms=sorted({a["source"] for a in articles if a.get("source")}), n_themes=c.n_themes,
        threshold=c.threshold, story_threshold=c.story_threshold, min_size=c.min_size, n_keywords=c.n_keywords,
        random_state=c.random_state, theme_date_horizon=c.theme_date_horizon, previous=previous,
        return_state=return_state,
    )


def _doc_text(a: dict) -> str:
    """An article's text as the cluster stage reads it for entities: title, then the content sentences."""
    title = a.get("title") or ""
    return f"{title}\n{content_text(a)}" if title else content_text(a)


def extend_state(state, clusters: dict, articles: list[dict], x: np.ndarray, n_old: int, aux: dict | None = None):
    """The placement state of ``clusters`` after an update in placement mode: the new articles (rows ``n_old:``)
    get neighbour lists against the earlier articles (as :func:`pipeline.cluster.place.place` computed them), their
    entities and days; every article's theme and story, and the floors of the themes whose members changed, are
    taken from ``clusters``. Nothing about the earlier articles is recomputed."""
    import scipy.sparse as sp

    from pipeline.cluster import PlacementState, parse_days
    from pipeline.cluster.entities import EntityVectors
    from pipeline.cluster.place import _top_rows, member_similarity, theme_floor
    from pipeline.cluster.tree import _smooth_from

    new = articles[n_old:]
    xn = np.asarray(x, dtype=np.float32)
    xn = xn / np.maximum(np.linalg.norm(xn, axis=1, keepdims=True), 1e-12)
    old_x, v = xn[:n_old], xn[n_old:]
    self_rows = np.arange(n_old, len(articles))[:, None]
    k_story, k_snn = state.knn_story.shape[1], state.knn_snn.shape[1]
    near = aux["neighbours"] if aux else _top_rows(v, old_x, k_story - 1)
    knn_story = np.hstack([self_rows, near]) if k_story > 1 else self_rows
    if k_snn:
        xs = _smooth_from(old_x, state.knn_story)
        vs = (v + old_x[knn_story[:, 1:]].sum(axis=1)) / k_story if k_story > 1 else v
        vs = vs / np.maximum(np.linalg.norm(vs, axis=1, keepdims=True), 1e-12)
        knn_snn = np.hstack([self_rows, _top_rows(vs, xs, k_snn - 1)])
    else:
        knn_snn = np.zeros((len(new), 0), dtype=np.int64)
    ev = aux["entity_vectors"] if aux else \
        EntityVectors(state.vocabulary, state.idf, frozenset(state.exclude)).transform([_doc_text(a) for a in new])
    row = {a["id"]: i for i, a in enumerate(articles)}
    theme = np.full(len(articles), -1, dtype=np.int64)
    story = np.full(len(articles), -1, dtype=np.int64)
    story_ids, story_theme = [], []
    for ti, t in enumerate(clusters["themes"]):
        theme[[row[m["id"]] for m in t["articles"]]] = ti
        for s_ in t.get("stories", []):
            story[[row[m["id"]] for m in s_["articles"]]] = len(story_ids)
            story_ids.append(s_["id"])
            story_theme.append(ti)
    old_floor = dict(zip(state.theme_ids, state.theme_floor.tolist()))
    old_members = {tid: int((state.theme == ti).sum()) for ti, tid in enumerate(state.theme_ids)}
    floor = np.full(len(clusters["themes"]), -1.0)
    days = np.concatenate([state.days, parse_days([a.get("date") for a in new], len(new))])
    for ti, t in enumerate(clusters["themes"]):
        if t["id"] in old_floor and old_members[t["id"]] == len(t["articles"]):
            floor[ti] = old_floor[t["id"]]
        elif len(t["articles"]) > 1:
            rows = np.sort([row[m["id"]] for m in t["articles"]])
            floor[ti] = theme_floor(member_similarity(xn[rows]))
    return PlacementState(
        [a["id"] for a in articles], theme, story, [t["id"] for t in clusters["themes"]], story_ids,
        np.asarray(story_theme, dtype=np.int64), np.vstack([state.knn_story, knn_story]).astype(np.int32),
        np.vstack([state.knn_snn, knn_snn]).astype(np.int32), sp.vstack([state.entities, ev]).tocsr(),
        state.vocabulary, state.idf, state.exclude,
        days, floor, state.params,
        state.event_rows(len(articles)))


def _place(clusters: dict, new: list[dict], x: np.ndarray, articles: list[dict], row_of: dict[str, int],
           cfg: Config, state, aux: dict | None = None) -> tuple[dict, dict]:
    """Incremental placement by :func:`pipeline.cluster.place.place`; returns the new clusters dict and counts."""
    import copy

    from pipeline.cluster import place

    n_old = len(articles) - len(new)
    placed = place(np.asarray(x[n_old:]), [_doc_text(a) for a in new], [a.get("date") for a in new], state,
                   np.asarray(x[:n_old]), **(aux or {})) if new else []
    where = [None if p["theme"] is None else (p["theme"], p["story"]) for p in placed]
    out = copy.deepcopy(clusters)
    themes = {t["id"]: t for t in out["themes"]}
    grown: set[str] = set()
    fresh_story: dict[str, list[dict]] = {}  # new stories of existing themes, built in arrival order
    story_t = float(state.params.get("story_threshold", 0.5))
    taken = {t["id"] for t in out["themes"]} | {s["id"] for t in out["themes"] for s in t.get("stories", [])}
    pool_new: list[dict] = []
    n_story = n_theme_only = 0
    for art, w in zip(new, where):
        if w is None:
            pool_new.append(art)
            continue
        tid, sid = w
        t = themes[tid]
        t["articles"].append({"id": art["id"], "similarity": 0.0})
        grown.add(tid)
        if sid is not None:
            n_story += 1
            next(s for s in t["stories"] if s["id"] == sid)["articles"].append({"id": art["id"], "similarity": 0.0})
            grown.add(sid)
            continue
        n_theme_only += 1
        xa = np.asarray(x[row_of[art["id"]]], dtype=np.float64)
        day = U._day(art.get("date"))
        best, top = None, -np.inf
        for st in fresh_story.setdefault(tid, []):
            rows = [row_of[m["id"]] for m in st["articles"]]
            m = float(np.asarray(x[rows], dtype=np.float64).mean(axis=0) @ xa)
            span = st["_days"]
            if m >= story_t and m > top and (day is None or not span or
                                             span[0] - U.STORY_DAYS <= day <= span[1] + U.STORY_DAYS):
                best, top = st, m
        if best is None:
            sid = U.new_id("story-", art["id"], taken)
            taken.add(sid)
            best = {"id": sid, "label": t["label"], "keywords": list(t.get("keywords", [])), "size": 0,
                    "articles": [], "_days": []}
            fresh_story[tid].append(best)
        best["articles"].append({"id": art["id"], "similarity": 0.0})
        if day is not None:
            best["_days"] = [min(best["_days"][0], day), max(best["_days"][1], day)] if best["_days"] else [day, day]
    for tid, sts in fresh_story.items():
        for st in sts:
            st.pop("_days")
            themes[tid]["stories"].append(st)
            grown.add(st["id"])
    all_ids = [a["id"] for a in articles]
    for t in out["themes"]:
        if t["id"] in grown:
            _rescore(t, x, row_of, all_ids)
        for s in t.get("stories", []):
            if s["id"] in grown:
                _rescore(s, x, row_of, all_ids)
        t["stories"].sort(key=lambda s: (-s["size"], s["id"]))

    # the pool: the run's unclustered articles and the new ones that fit no theme, clustered by the cluster stage
    pool_ids = list(out.get("unclustered", [])) + [a["id"] for a in pool_new]
    formed = 0
    if len(pool_ids) >= max(2, cfg.cluster.min_size):
        by_id = {a["id"]: a for a in articles}
        rows = np.asarray([row_of[i] for i in pool_ids])
        pool = _cluster_pool(np.asarray(x[rows]), [by_id[i] for i in pool_ids], cfg)
        for t in pool["themes"]:
            t["id"] = U.new_id("theme-", U._members(t)[0], taken, current=t["id"])
            taken.add(t["id"])
            for s in t.get("stories", []):
                s["id"] = U.new_id("story-", U._members(s)[0], taken, current=s["id"])
                taken.add(s["id"])
            out["themes"].append(t)
            formed += 1
        out["unclustered"] = list(pool["unclustered"])
    else:
        out["unclustered"] = pool_ids
    out["themes"].sort(key=lambda t: (-t["size"], t["id"]))
    out.setdefault("params", {})["n_themes"] = len(out["themes"])
    out["params"]["n_unclustered"] = len(out["unclustered"])
    out["params"]["n_articles"] = len(articles)
    counts = {"placed_in_story": n_story, "placed_in_theme_new_story": n_theme_only, "to_pool": len(pool_new),
              "pool": len(pool_ids), "new_themes": formed}
    return out, counts


def _summary_rows(clusters: dict, redo: set[str], cap: int | None, row_of: dict[str, int]) -> list[int]:
    """Rows of the articles the rewritten summaries can draw on: the ``cap`` most central members of every group in
    ``redo``, and of the theme of every story in ``redo`` (``summarize_groups`` solves a theme with its changed
    stories, even when the theme itself is unchanged)."""
    rows: set[int] = set()
    for t in clusters["themes"]:
        groups = [g for g in t.get("stories", []) if g["id"] in redo]
        if groups or t["id"] in redo:
            groups.append(t)
        rows.update(row_of[m["id"]] for g in groups for m in g["articles"][:cap])
    return sorted(rows)


def _resummarize(old_doc: dict, clusters: dict, changed: set[str], articles: list[dict], sent_vecs, sent_rows,
                 cfg: Config, have=None, fetch=None, stale: set[str] = frozenset()) -> list[dict]:
    """Summary items for ``clusters``: old items reused where the members did not change and none of the articles a
    summary draws on is in ``stale`` groups (their house text changed)."""
    old_items = {t["id"]: t for t in old_doc.get("themes", [])}
    old_story = {s["id"]: s for t in old_doc.get("themes", []) for s in t.get("stories", [])}
    cap = cfg.summarize.max_articles
    # a summary is chosen from a group's `cap` most central articles: when they are still the same articles, the
    # members that changed were not among them and the summary stands
    old_of = {**old_items, **old_story}
    for g in [t for t in clusters["themes"]] + [s_ for t in clusters["themes"] for s_ in t.get("stories", [])]:
        old = old_of.get(g["id"])
        if cap and g["id"] in changed and old is not None and old.get("summary") is not None and \
                set(old["articles"][:cap]) == {m["id"] for m in g["articles"][:cap]}:
            changed.discard(g["id"])
    changed |= set(stale)
    todo = []
    for t in clusters["themes"]:
        if t["id"] in changed or any(s["id"] in changed for s in t.get("stories", [])):
            todo.append({**t, "stories": [s for s in t.get("stories", []) if s["id"] in changed]})
    solved = {it["id"]: it for it in summarize_groups(todo, articles, sent_vecs, sent_rows, cfg, have, fetch)} if todo else {}
    solved_story = {s["id"]: s for it in solved.values() for s in it.get("stories", [])}
    def kept(old: dict, g: dict) -> dict:  # the old summary, with the group's current members and fields
        item = {**old, **{k: v for k, v in g.items() if k not in ("articles", "stories")}}
        item["articles"] = [m["id"] for m in g["articles"]]
        item["similarities"] = [round(float(m.get("similarity", 1.0)), 4) for m in g["articles"]]
        return item

    out = []
    for t in clusters["themes"]:
        item = dict(solved[t["id"]]) if t["id"] in changed else kept(old_items[t["id"]], t)
        if cfg.summarize.stories:
            stories = []
            for s in t.get("stories", []):
                if s["id"] in solved_story and s["id"] in changed:
                    stories.append(solved_story[s["id"]])
                elif s["id"] in old_story:
                    stories.append(kept(old_story[s["id"]], s))
                else:  # pragma: no cover - a new story is always changed, so solved
                    raise PipelineError(f"no summary for story {s['id']}")
            item["stories"] = stories
        out.append(item)
    return out


def run_update(inputs: Sequence[str | Path], run: RunFolder, cfg: Config, say: Progress = _quiet, *,
               rebuild: bool = False, embedder=None, progress: bool = False) -> dict:
    """Add new inputs to a finished run folder; returns the ``changes.json`` dict. See the module docstring."""
    from pipeline.ingest.update import (
        RELEARN_GROWTH, content_keys, ingest_more, outlets_to_relearn, relearn_house_text,
    )

    t0 = time.perf_counter()
    manifest = check_compatible(run, cfg)
    history = _history(run)
    number = len(history) + (0 if history else 1)  # history line 0 is the first run
    files, hashes, skipped = _read_inputs(inputs, _inputs_seen(run, manifest))
    if not files:
        raise PipelineError("nothing new to add: every input was already read by this run folder"
                            if skipped else "no input given")
    embedder = embedder or _engine(cfg).embedder(cfg, progress=progress)  # new sentences on the engine
    _check_model(manifest, embedder, run.root)
    existing = run.read_jsonl(A.ARTICLES)
    index = {"minhash": np.asarray(run.read_npy(A.MINHASH_INDEX)), "content": np.asarray(run.read_npy(A.CONTENT_INDEX))}
    new, joined, report, new_index = ingest_more(files, existing, index, cfg.ingest, skipped)
    articles = [joined.get(i, a) for i, a in enumerate(existing)] + new
    # house text learned over the whole collection (the new articles' outlets), as a one-shot ingest would; in the
    # placement regime only for the outlets grown by RELEARN_GROWTH since they were last learned in full (amortised)
    placing = not rebuild and len(articles) >= cfg.update.recluster_below
    learned_at = run.read_json(HOUSE_TEXT) if run.exists(HOUSE_TEXT) else {}
    outlets = outlets_to_relearn(articles, len(existing), learned_at, RELEARN_GROWTH if placing else None)
    articles, remarked, house = relearn_house_text(articles, len(existing), cfg.ingest, outlets)
    learned_at = {**learned_at, **house.pop("learned_at", {})}
    new = articles[len(existing):]
    if remarked:
        index["content"] = index["content"].copy()
        index["content"][remarked] = content_keys([articles[i] for i in remarked])
    new_index["content"] = content_keys(new)
    report["house_text"] = {**house, "remarked_ids": [articles[i]["id"] for i in remarked]}
    t_ingest = time.perf_counter()
    row_of = {a["id"]: i for i, a in enumerate(articles)}

    x, sent_rows, sent_vecs = _embed_update(run, articles, len(existing), remarked, embedder, cfg)
    t_embed = time.perf_counter()

    old_clusters = run.read_json(A.CLUSTERS)
    young = not rebuild and len(articles) < cfg.update.recluster_below
    mode = "rebuild" if rebuild else ("recluster" if young else "place")
    if rebuild or young:
        clusters, state = _cluster_pool(x, articles, cfg, previous=old_clusters, return_state=True)
        placed = {"mode": mode}
    else:
        from pipeline.cluster import PlacementState

        old_state = PlacementState.from_bytes(run.require(A.CLUSTER_STATE).read_bytes())
        if old_state.ids != [a["id"] for a in existing]:
            raise PipelineError(f"{run.path(A.CLUSTER_STATE)} does not match {run.path(A.ARTICLES)}; "
                                f"re-run `pipeline cluster --out {run.root}` or update with --rebuild")
        from pipeline.cluster.place import placement_inputs

        # the new articles' neighbours and entities, computed once for placing them and for the extended state
        aux = placement_inputs(np.asarray(x[len(existing):]), [_doc_text(a) for a in new], old_state,
                               np.asarray(x[: len(existing)])) if new else None
        clusters, placed = _place(old_clusters, new, x, articles, row_of, cfg, old_state, aux)
        state = extend_state(old_state, clusters, articles, x, len(existing), aux)
        placed["mode"] = mode
    t_cluster = time.perf_counter()

    dates = {a["id"]: a.get("date") for a in articles}
    groups = U.group_changes(old_clusters, clusters, dates)
    changed = U.changed_group_ids(groups)
    old_doc = run.read_json(A.SUMMARIES)
    # embed.lead_sentences: the lead was embedded, the summaries' other sentences come through the cache
    # (only for the articles a rewritten summary can draw on: the `summarize.max_articles` most central members of
    # each changed group)
    cap = cfg.summarize.max_articles or None
    # a summary drawn from an article whose house text changed may cite what is house text now: rewritten too
    remarked_ids = {articles[i]["id"] for i in remarked}
    stale = {g["id"] for t in clusters["themes"] for g in [t, *t.get("stories", [])]
             if any(m["id"] in remarked_ids for m in g["articles"][:cap])} if remarked_ids else set()
    need = _summary_rows(clusters, set(changed) | stale, cap, row_of)
    # the summaries see only those articles: no vector array of every sentence of the collection is made
    sub = [articles[r] for r in need]
    pos = np.full(len(articles), -1, dtype=np.int64)
    pos[need] = np.arange(len(need))
    keep = pos[sent_rows[:, 0]] >= 0 if len(sent_rows) else np.zeros(0, dtype=bool)
    sub_rows = np.asarray(sent_rows[keep]).copy()
    sub_rows[:, 0] = pos[sub_rows[:, 0]]
    all_vecs, all_rows, have = layout_sentence_vectors(sub, sent_vecs[keep], sub_rows,
                                                       dim=int(sent_vecs.shape[1]) if sent_vecs.ndim == 2 else 0)
    fetch = lambda todo: embed_sentence_rows(sub, all_rows, todo, lambda: embedder)  # noqa: E731
    themes = _resummarize(old_doc, clusters, set(changed), sub, all_vecs, all_rows, cfg, have, fetch, stale=stale)
    t_sum = time.perf_counter()

    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    merged, split = U.merges_and_splits(old_clusters, clusters) if mode != "place" else ([], [])
    status = {"themes": {g["id"]: g["status"] for g in groups if g["kind"] == "theme"},
              "stories": {g["id"]: g["status"] for g in groups if g["kind"] == "story"}}
    n_joined = sum(len(j["collapsed"]) for j in report.get("joined_earlier", []))
    previous_time = history[-1]["created"] if history else (old_doc.get("run") or {}).get("created")
    changes = {
        "update": number, "created": now, "since": previous_time, "rebuild": rebuild, "mode": mode, "inputs": hashes,
        "articles": {"read": report["read"], "new": len(new), "joined_earlier": n_joined,
                     "duplicates": report["duplicates"] - n_joined, "rejected": report["rejected"],
                     "total": len(articles)},
        "skipped_inputs": [s for s in skipped if s.get("reason") == "already read by this run folder"],
        "new_articles": [a["id"] for a in new], "placement": placed, "house_text": report["house_text"],
        "themes": status["themes"], "stories": status["stories"], "groups": groups,
        "counts": U.summarize_changes(groups), "merged": merged, "split": split,
        "seconds": {"ingest": round(t_ingest - t0, 3), "embed": round(t_embed - t_ingest, 3),
                    "cluster": round(t_cluster - t_embed, 3), "summarize": round(t_sum - t_cluster, 3)},
    }
    doc = dict(old_doc)
    doc["themes"] = themes
    doc["unclustered"] = list(clusters["unclustered"])
    doc["articles"] = dict(old_doc.get("articles", {}))
    for a in [articles[i] for i in joined] + new:
        doc["articles"][a["id"]] = {"title": a.get("title") or "", "date": a.get("date"), "sources": a["sources"],
                                    "url": a.get("url"), "source": a.get("source")}
    doc["run"] = {**old_doc.get("run", {}), "updated": now, "update": number}

    line = {k: changes[k] for k in ("update", "created", "since", "rebuild", "mode", "inputs", "articles", "counts")}
    lines = history or [{"update": 0, "created": previous_time, "since": None, "rebuild": False,
                         "inputs": manifest.get("stages", {}).get("ingest", {}).get("inputs", []),
                         "articles": {"total": len(existing)}, "counts": {}}]
    embed_index = run.read_json(A.EMBED_INDEX)
    embed_index.update(articles=[a["id"] for a in articles], n_sentences=int(len(sent_rows)))
    with run.transaction() as tx:
        tx.write_jsonl(A.ARTICLES, articles)
        tx.write_npy(A.MINHASH_INDEX, np.concatenate([index["minhash"], new_index["minhash"]]))
        tx.write_npy(A.CONTENT_INDEX, np.concatenate([index["content"], new_index["content"]]))
        tx.write_npy(A.ARTICLE_VECTORS, x)
        tx.write_npy(A.SENTENCE_VECTORS, sent_vecs)
        tx.write_npy(A.SENTENCE_ROWS, sent_rows)
        tx.write_json(A.EMBED_INDEX, embed_index)
        tx.write_json(HOUSE_TEXT, learned_at)
        tx.write_json(A.CLUSTERS, clusters)
        if state is not None:
            A.atomic_write_bytes(tx.target(A.CLUSTER_STATE), state.to_bytes())
        tx.write_json(A.SUMMARIES, doc)
        tx.write_json(A.CHANGES, changes)
        tx.write_json(f"updates/{number:04d}/changes.json", changes)
        tx.write_json(f"updates/{number:04d}/ingest_report.json", report)
        tx.write_jsonl(A.HISTORY, lines + [line])
        tx.update_manifest("update", {"update": number, "inputs": hashes, "rebuild": rebuild,
                                      "seconds": round(time.perf_counter() - t0, 3)},
                           versions=package_versions(), version=__version__)
    c = changes["counts"]
    say(f"update {number}: {len(new)} new articles ({n_joined} joined earlier ones, {report['rejected']} rejected); "
        f"themes {c['themes']}; stories {c['stories']} -> {run.path(A.CHANGES)}")
    return changes
