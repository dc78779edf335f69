"""Theme similarity ablation: the weight of shared neighbours against cosine, on real and synthetic data.

    .venv/bin/python benchmarks/cluster_ablation.py [--weights 0 0.5 0.6 0.75 0.9 0.97 1]

``pipeline.cluster.SNN_WEIGHT`` is the share of the shared-nearest-neighbour fraction in the theme similarity (the
cosine similarity has the rest; 0 = a cosine tree, 1 = shared neighbours alone). Theme ARI (unclustered articles
as singletons) on: ECB+ (topics) and MultiLing (topics) with the product's vectors; both sets pooled into one
collection (topics of ~23 and of 10 articles side by side); ECB+ cut down to 8 articles per topic (mean of 3
draws: themes smaller than the 15-article neighbour list); and the synthetic collections of
``bench_cluster.py`` at 1,000 and 3,000 articles (themes of ~50 articles made of 4 stories). Vectors come from
``compare_clustering.py``'s cache. The data folder is ``../shared/data``; the script exits quietly without it.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def themes_of(x: np.ndarray) -> np.ndarray:
    from pipeline.cluster import cluster_articles

    n = len(x)
    ids = [str(i) for i in range(n)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cluster_articles(x, ["x"] * n, ids)
    lab = np.arange(n) + n  # unclustered: singletons
    for ti, t in enumerate(res["themes"]):
        lab[[int(a["id"]) for a in t["articles"]]] = ti
    return lab


def collections() -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    from bench_cluster import synthetic
    from compare_clustering import DATA, cached_vectors, load

    out: dict[str, list] = {}
    if (DATA / "ecbplus" / "articles.jsonl").exists() and (DATA / "multiling2011" / "articles.jsonl").exists():
        ea, ma = load("ecbplus"), load("multiling2011")
        ex, mx = cached_vectors("ecbplus", ea, "product"), cached_vectors("multiling2011", ma, "product")
        et = np.array([a["meta"]["topic"] for a in ea])
        mt = np.array([f"ml{a['meta']['label']}" for a in ma])
        out["ECB+"] = [(ex, et)]
        out["MultiLing"] = [(mx, mt)]
        out["pooled"] = [(np.vstack([ex, mx]), np.concatenate([et, mt]))]
        subs = []
        for seed in range(3):
            rng = np.random.default_rng(seed)
            keep = np.sort(np.concatenate([rng.permutation(np.flatnonzero(et == t))[:8] for t in np.unique(et)]))
            subs.append((ex[keep], et[keep]))
        out["ECB+ 8/topic"] = subs
    for n in (1000, 3000):
        x, _texts, _ids, theme, _story = synthetic(n, labels=True)
        out[f"synthetic {n // 1000}k"] = [(x, theme)]
    return out


def main(argv: list[str] | None = None) -> int:
    import pipeline.cluster.core as C
    from sklearn.metrics import adjusted_rand_score

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.5, 0.6, 0.75, 0.9, 0.97, 1.0])
    args = ap.parse_args(argv)
    sets = collections()
    print("| SNN_WEIGHT | " + " | ".join(sets) + " | mean |")
    print("|---" * (len(sets) + 2) + "|")
    default = C.SNN_WEIGHT
    for w in args.weights:
        C.SNN_WEIGHT = w
        scores = [float(np.mean([adjusted_rand_score(gold, themes_of(x)) for x, gold in runs]))
                  for runs in sets.values()]
        mark = " (default)" if w == default else ""
        print(f"| {w:g}{mark} | " + " | ".join(f"{s:.3f}" for s in scores) + f" | {np.mean(scores):.3f} |",
              flush=True)
    C.SNN_WEIGHT = default
    return 0


if __name__ == "__main__":
    sys.exit(main())
