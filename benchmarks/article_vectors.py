"""Which article vector clusters best on ECB+: the whole text embedded directly, or one derived from sentence vectors?

    .venv/bin/python benchmarks/article_vectors.py [--backend auto|torch|onnx|onnx-int8] [--cache-dir DIR]

Reads ``../shared/data/ecbplus/articles.jsonl`` (982 articles, 86 events = ``label``, 43 topics = ``topic``).
Every sentence (``pipeline.text.split_sentences``) is embedded once (cached), titles and whole texts too. For each
method, KMeans(k = true number of labels, n_init=10, random_state=0) and AgglomerativeClustering(k, cosine,
average linkage) are scored with ``pipeline.evaluate.clustering_scores`` against ``label`` and against ``topic``;
the table shows ARI and B-cubed F1 of each, and their mean.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def load(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cluster_scores(X: np.ndarray, labels: list, algo: str) -> tuple[float, float]:
    from sklearn.cluster import AgglomerativeClustering, KMeans

    from pipeline.evaluate import clustering_scores

    k = len(set(labels))
    if algo == "kmeans":
        pred = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(X)
    else:
        pred = AgglomerativeClustering(n_clusters=k, metric="cosine", linkage="average").fit_predict(X)
    s = clustering_scores(labels, pred.tolist())
    return s["ari"], s["bcubed_f1"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx", "onnx-int8"])
    ap.add_argument("--model", default=None, help="model name or local folder (default: the packaged MiniLM)")
    ap.add_argument("--cache-dir", default=None, help="vector cache folder (default: the per-user cache)")
    ap.add_argument("--seeds", type=int, default=1,
                    help="also show KMeans ARI mean+-sd over this many random_state values (spread of the estimate)")
    args = ap.parse_args(argv)

    path = DATA / "ecbplus" / "articles.jsonl"
    if not path.exists():
        print(f"ECB+ data not found at {path}: nothing to compare (the benchmark reads ../shared/data).")
        return 0

    from pipeline.embed import DEFAULT_MODEL, Embedder, article_vectors
    from pipeline.text import split_sentences

    arts = load(path)
    sents, owner = [], []
    for i, a in enumerate(arts):
        text = a.get("text") or ""
        for s, e in split_sentences(text):
            sents.append(text[s:e])
            owner.append(i)
    owner = np.array(owner, dtype=np.int64)
    titles = [(a.get("title") or "").strip() for a in arts]
    n = len(arts)
    emb = Embedder(args.model or DEFAULT_MODEL, backend=args.backend, cache_dir=args.cache_dir)
    t0 = time.perf_counter()
    sv = emb.encode(sents)
    has_title = [i for i, t in enumerate(titles) if t]
    tv = np.zeros((n, emb.dim), np.float32)
    if has_title:
        tv[has_title] = emb.encode([titles[i] for i in has_title])
    direct = emb.encode([a.get("text") or "" for a in arts])
    n_trunc = int((emb.tokenize_lengths([a.get("text") or "" for a in arts]) >= emb.spec.max_seq_length).sum())
    print(f"{n} articles, {len(sents)} sentences, {len(has_title)} titles; model {emb.model_id}; "
          f"embedded in {time.perf_counter() - t0:.1f}s; {n_trunc} texts truncated at {emb.spec.max_seq_length} tokens")

    methods = {"direct (whole text)": article_vectors(sv, owner, n, method="direct", text_vectors=direct)}
    methods["mean"] = article_vectors(sv, owner, n, method="mean")
    for h in (1.0, 2.0, 3.0, 5.0, 10.0):
        methods[f"lead h={h:g}"] = article_vectors(sv, owner, n, method="lead", lead_halflife=h)
    if has_title:
        for w in (0.3, 0.5):
            methods[f"title+mean w={w:g}"] = article_vectors(sv, owner, n, tv, method="title+mean", title_weight=w)
            methods[f"title+lead h=2 w={w:g}"] = article_vectors(sv, owner, n, tv, method="title+lead",
                                                                title_weight=w, lead_halflife=2.0)
    else:
        print("no article has a title: the title+ methods equal their body-only methods and are not shown")
    methods["direct+mean"] = article_vectors(sv, owner, n, method="direct+mean", text_vectors=direct)
    methods["direct+lead h=2"] = article_vectors(sv, owner, n, method="direct+lead", text_vectors=direct,
                                                 lead_halflife=2.0)

    label = [a["label"] for a in arts]
    topic = [a["topic"] for a in arts]
    cols = [("kmeans", "label"), ("kmeans", "topic"), ("agglo", "label"), ("agglo", "topic")]
    head = (f"{'method':26s}" + "".join(f" {a[:5]}/{g:5s} ARI  B3F1" for a, g in cols) + "   mean"
            + (f"  km ARI label/topic, {args.seeds} seeds" if args.seeds > 1 else ""))
    print(f"\nk = {len(set(label))} for label (event), {len(set(topic))} for topic")
    print(head)
    print("-" * len(head))
    for name, X in methods.items():
        vals = []
        for algo, gold in cols:
            vals += list(cluster_scores(X, label if gold == "label" else topic, algo))
        extra = ""
        if args.seeds > 1:
            from sklearn.cluster import KMeans
            from sklearn.metrics import adjusted_rand_score

            for gold in (label, topic):
                k = len(set(gold))
                aris = [adjusted_rand_score(gold, KMeans(n_clusters=k, n_init=10, random_state=s).fit_predict(X))
                        for s in range(args.seeds)]
                extra += f"  {np.mean(aris):.3f}+-{np.std(aris):.3f}"
        print(f"{name:26s}" + "".join(f"      {vals[i]:.3f} {vals[i + 1]:.3f}" for i in range(0, 8, 2))
              + f"  {np.mean(vals):.3f}" + extra, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
