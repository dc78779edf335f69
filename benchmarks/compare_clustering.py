"""Clustering quality: ours against BERTopic (defaults and ``min_topic_size=5``) and KMeans given the true k.

    .venv/bin/python benchmarks/compare_clustering.py [--datasets ecbplus multiling2011] [--vectors product whole]
        [--bertopic-seeds 3] [--no-baselines]

Same vectors for every method, and they are the product's own (see :func:`article_vectors`): each JSONL file is
read with ``pipeline.ingest`` (which collapses near-duplicate records into one article) and embedded with
``pipeline.runner.embed_articles`` + ``pipeline.embed.Embedder`` (``product``), or the whole article text is
embedded at once by the same encoder (``whole``, truncated at the model's 256 word pieces). Every method clusters
the ingested articles; scores are per input record: an article collapsed from several records gives its cluster to
each of them, each scored against its own gold field. Data: ``../shared/data/ecbplus/articles.jsonl`` (themes
scored against ``topic``, stories against ``label``) and ``../shared/data/multiling2011/articles.jsonl`` (themes
against ``label``). Vectors are cached under ``$TMPDIR/cluster2/`` (sentence vectors under ``$TMPDIR/cluster2_cache``),
never in the repo. BERTopic is a benchmark extra (``pip install bertopic==0.17.4``); its rows are skipped when it
is not installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import warnings
import tempfile
from pathlib import Path

import numpy as np

#: ``../shared/data`` beside the repo; ``SHARED_DATA`` overrides it (a git worktree sits elsewhere).
DATA = Path(os.environ.get("SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")
CACHE = Path(tempfile.gettempdir()) / "cluster2"
EMBED_CACHE = Path(tempfile.gettempdir()) / "cluster2_cache"
METRICS = ["ari", "nmi", "ami", "v_measure", "bcubed_precision", "bcubed_recall", "bcubed_f1"]
KINDS = ("product", "whole")


def load(name: str) -> list[dict]:
    """The dataset's articles as ``pipeline.ingest`` builds them (near-duplicate records collapsed)."""
    from pipeline.ingest import InputFile, ingest

    path = DATA / name / "articles.jsonl"
    arts, _report = ingest([InputFile(str(path), path.read_bytes())])
    return arts


def gold_labels(arts: list[dict], field: str) -> tuple[list, np.ndarray]:
    """(gold label of every input record, article row of every input record): each article expanded to its
    ``sources``, a source's label from its own ``meta`` when it has one, else the article's."""
    gold, owner = [], []
    for i, art in enumerate(arts):
        for src in art.get("sources") or [{}]:
            gold.append(src.get("meta", art["meta"])[field])
            owner.append(i)
    return gold, np.asarray(owner)


def article_vectors(arts: list[dict], kind: str = "product") -> np.ndarray:
    """Article vectors, float32, L2-normalised, shape (n, 384).

    ``product``: exactly what the embed stage writes with the default configuration (``embed_articles(arts,
    Embedder(...), embed.article_vectors, embed.lead_sentences)["article_vectors"]``: backend, article-vector method and
    lead sentences of ``configs/default.yaml``). ``whole``: the same encoder on each whole article text.
    """
    from pipeline.config import load_config
    from pipeline.runner import make_embedder

    full = load_config(None, [f"embed.cache_dir={EMBED_CACHE}"])
    cfg = full.embed  # the defaults: model, backend, article-vector method, lead sentences
    emb = make_embedder(full)
    if kind == "whole":
        return np.asarray(emb.encode([a["text"] for a in arts]), dtype=np.float32)
    if kind != "product":
        raise ValueError(f"kind={kind!r} should be one of {KINDS}.")
    from pipeline.runner import embed_articles

    return embed_articles(arts, emb, cfg.article_vectors, cfg.lead_sentences)["article_vectors"]


def cached_vectors(name: str, arts: list[dict], kind: str) -> np.ndarray:
    """:func:`article_vectors`, cached by content and by the embed module's source (a change there re-embeds)."""
    import pipeline.embed
    import pipeline.runner

    h = hashlib.sha1(kind.encode())
    for a in arts:
        h.update((a.get("title") or "").encode() + b"\x00" + a["text"].encode() + b"\x01")
    import pipeline.config

    for mod in (pipeline.embed, pipeline.runner, pipeline.config):
        f = Path(mod.__file__)
        for src in sorted(f.parent.glob("*.py")) if f.name == "__init__.py" else [f]:  # a package: all its modules
            h.update(src.read_bytes())
    path = CACHE / f"{name}_{kind}_{h.hexdigest()[:12]}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    v = article_vectors(arts, kind)
    print(f"  embedded {name}/{kind}: {len(arts)} articles in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    np.save(path, v)
    return v


# ----------------------------------------------------------------------------------------------- methods


#: extra keyword arguments of every call of ours (``--theme-date-horizon``)
_OURS_KW: dict = {}


def ours(vectors, rows, **kw) -> tuple[list, list]:
    """(theme of each article, story of each article); -1 = unclustered. Called as the cluster stage calls it:
    content sentences, titles, dates and outlet names."""
    kw = {**_OURS_KW, **kw}
    from pipeline.cluster import cluster_articles
    from pipeline.runner import content_text

    ids = [r["id"] for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cluster_articles(vectors, [content_text(r) if "sentences" in r else r["text"] for r in rows], ids,
                               titles=[r.get("title") or "" for r in rows], dates=[r.get("date") for r in rows],
                               exclude_terms=sorted({r["source"] for r in rows if r.get("source")}), **kw)
    theme, story = {}, {}
    for t in res["themes"]:
        for a in t["articles"]:
            theme[a["id"]] = t["id"]
        for s in t["stories"]:
            for a in s["articles"]:
                story[a["id"]] = s["id"]
    return [theme.get(i, -1) for i in ids], [story.get(i, -1) for i in ids]


def growth_stability(vectors, rows) -> str:
    """Cluster all but 1% of the articles (at least 3, drawn with a fixed seed), then all of them with the first
    result as ``previous``: how many old articles keep their theme id, and how many theme ids survive."""
    from pipeline.cluster import cluster_articles

    n = len(rows)
    ids, texts = [r["id"] for r in rows], [r["text"] for r in rows]
    extra = np.sort(np.random.default_rng(0).choice(n, size=max(3, n // 100), replace=False))
    keep = np.setdiff1d(np.arange(n), extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = cluster_articles(vectors[keep], [texts[i] for i in keep], [ids[i] for i in keep])
        second = cluster_articles(vectors, texts, ids, previous=first)
    a = {m["id"]: t["id"] for t in first["themes"] for m in t["articles"]}
    b = {m["id"]: t["id"] for t in second["themes"] for m in t["articles"]}
    same = sum(a[i] == b.get(i) for i in a)
    kept = len({t["id"] for t in first["themes"]} & {t["id"] for t in second["themes"]})
    return (f"growth by {len(extra)} articles: {same}/{len(a)} clustered articles keep their theme id, "
            f"{kept}/{len(first['themes'])} theme ids kept ({len(first['themes'])} -> {len(second['themes'])} themes)")


def kmeans(vectors, k: int, seed: int = 0) -> list:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(vectors).tolist()


def bertopic(vectors, texts, seed: int, **kw) -> list | None:
    """BERTopic 0.17.4 with its default UMAP + HDBSCAN settings; only UMAP's seed is fixed (its default leaves
    it free, which makes runs differ). Outliers (topic -1) count as unclustered."""
    try:
        from bertopic import BERTopic
        from umap import UMAP
    except ImportError:
        return None
    umap_model = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    model = BERTopic(embedding_model=None, umap_model=umap_model, **kw)  # the vectors are given
    topics, _ = model.fit_transform(list(texts), embeddings=np.asarray(vectors))
    return list(topics)


def _fmt_row(name: str, s: dict) -> str:
    return f"| {name} | " + " | ".join(f"{s[m]:.3f}" for m in METRICS) + f" | {s['n_clusters']:.0f} |"


def _mean(scores: list[dict]) -> dict:
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}


def compare_synthetic(seeds: int, bertopic_seeds: int) -> None:
    """Stories of the synthetic event stream of ``benchmarks/stories.py`` (calibrated on ECB+): ours, BERTopic
    defaults, KMeans given the true number of events."""
    from stories import synthetic_events

    from pipeline.evaluate import clustering_scores

    print("\n### synthetic events (benchmarks/stories.py), stories vs events\n")
    print("| method | " + " | ".join(METRICS) + " | clusters |")
    print("|---" * (len(METRICS) + 2) + "|")
    rows_out: dict[str, list] = {}
    for seed in range(seeds):
        x, texts, dates, _theme, event = synthetic_events(seed=seed)
        gold = event.tolist()
        rows = [{"id": f"s{i:05d}", "text": t, "date": d} for i, (t, d) in enumerate(zip(texts, dates))]
        rows_out.setdefault("ours (stories, automatic)", []).append(clustering_scores(gold, ours(x, rows)[1]))
        k = len(set(gold))
        rows_out.setdefault("KMeans, true k", []).append(clustering_scores(gold, kmeans(x, k)))
        for b in range(bertopic_seeds):
            r = bertopic(x, texts, b)
            if r is not None:
                rows_out.setdefault("BERTopic defaults", []).append(clustering_scores(gold, r))
    for name, sc in rows_out.items():
        print(_fmt_row(f"{name} (mean of {len(sc)})", _mean(sc)))


def main(argv: list[str] | None = None) -> int:
    from pipeline.evaluate import clustering_scores

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["ecbplus", "multiling2011"])
    ap.add_argument("--vectors", nargs="+", default=["product"], choices=list(KINDS))
    ap.add_argument("--bertopic-seeds", type=int, default=3, help="UMAP seeds averaged for BERTopic (0 = skip)")
    ap.add_argument("--no-baselines", action="store_true", help="only our rows (quick checks)")
    ap.add_argument("--synthetic-seeds", type=int, default=3, help="synthetic event streams (0 = skip)")
    ap.add_argument("--theme-date-horizon", type=float, default=None,
                    help="days of the themes' date term (default: cluster_articles' own; 0 = off)")
    args = ap.parse_args(argv)
    if args.theme_date_horizon is not None:
        _OURS_KW["theme_date_horizon"] = args.theme_date_horizon
    if args.synthetic_seeds:
        compare_synthetic(args.synthetic_seeds, 0 if args.no_baselines else min(args.bertopic_seeds, 1))
    if not DATA.is_dir():
        print(f"data folder {DATA} not found: nothing to compare.", file=sys.stderr)
        return 0
    # (dataset, level, gold field)
    levels = {"ecbplus": [("themes", "topic"), ("stories", "label")], "multiling2011": [("themes", "label")]}
    for name in args.datasets:
        if not (DATA / name / "articles.jsonl").exists():
            print(f"{DATA / name / 'articles.jsonl'} not found: skipped.", file=sys.stderr)
            continue
        arts = load(name)
        texts = [a["text"] for a in arts]
        for kind in args.vectors:
            vec = cached_vectors(name, arts, kind)
            t0 = time.perf_counter()
            th, st = ours(vec, arts)
            t_ours = time.perf_counter() - t0
            bt = {}
            seeds = 0 if args.no_baselines else args.bertopic_seeds
            for label, kw in (("defaults", {}), ("min_topic_size=5", {"min_topic_size": 5})):
                runs = [bertopic(vec, texts, seed, **kw) for seed in range(seeds)]
                bt[label] = [r for r in runs if r is not None]
            for level, field in levels[name]:
                gold, owner = gold_labels(arts, field)
                k = len(set(gold))

                def score(pred: list) -> dict:
                    return clustering_scores(gold, [pred[i] for i in owner])  # per input record

                print(f"\n### {name}, {kind} vectors, {level} vs `{field}` "
                      f"({len(gold)} records = {len(arts)} articles, true k={k})\n")
                print("| method | " + " | ".join(METRICS) + " | clusters |")
                print("|---" * (len(METRICS) + 2) + "|")
                for label, runs in bt.items():
                    if runs:
                        sc = _mean([score(r) for r in runs])
                        print(_fmt_row(f"BERTopic {label} (mean of {len(runs)} UMAP seeds)", sc))
                if not args.no_baselines:
                    print(_fmt_row(f"KMeans, true k={k}", score(kmeans(vec, k))))
                ours_pred = th if level == "themes" else st
                print(_fmt_row(f"ours ({level}, automatic)", score(ours_pred)))
                if level == "themes":
                    print(_fmt_row(f"ours (themes, n_themes={k} given)", score(ours(vec, arts, n_themes=k)[0])))
                if name == "ecbplus" and level == "stories":
                    print(_fmt_row("ours (themes, automatic)", score(th)))
            print(f"\n(ours: {t_ours:.2f}s for {len(arts)} articles; {growth_stability(vec, arts)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
