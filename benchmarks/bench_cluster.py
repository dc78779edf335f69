"""Scale of the cluster stage: time and peak memory at 1k, 10k and 100k synthetic articles.

    .venv/bin/python benchmarks/bench_cluster.py [--sizes 1000 10000 100000] [--dim 384]

Synthetic data: unit vectors around ``n / 50`` theme centres (each theme holding 4 story centres) in
384 dimensions, like MiniLM, and ~80-word texts mixing theme words with Zipf-distributed background words, so the
c-TF-IDF step does real work. Each size runs in a fresh subprocess; "peak memory" is the growth of the process's
peak resident set during ``cluster_articles`` (input arrays excluded). A dense n x n float32 matrix would need
n^2 * 4 bytes: 4 MB, 400 MB and 40 GB at 1k, 10k and 100k.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings

import numpy as np


def synthetic(n: int, dim: int = 384, seed: int = 0, labels: bool = False):
    """(vectors, texts, ids), and with ``labels`` also the true (theme, story) of every article."""
    rng = np.random.default_rng(seed)
    n_themes = max(2, n // 50)
    theme = rng.integers(0, n_themes, size=n)
    story = rng.integers(0, 4, size=n)
    tc = rng.normal(size=(n_themes, dim)).astype(np.float32)
    sc = rng.normal(size=(n_themes, 4, dim)).astype(np.float32)
    x = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 10_000):  # build in chunks to keep the generator's own memory small
        b = min(n, a + 10_000)
        x[a:b] = tc[theme[a:b]] + 0.6 * sc[theme[a:b], story[a:b]] + 0.9 * rng.normal(size=(b - a, dim))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    background = [f"w{i}" for i in range(20_000)]
    p = 1.0 / np.arange(1, len(background) + 1)
    p /= p.sum()
    bg = rng.choice(len(background), size=(n, 60), p=p)
    own = rng.integers(0, 8, size=(n, 20))
    texts = [
        " ".join(background[j] for j in bg[i]) + " " + " ".join(f"t{theme[i]}x{k} s{theme[i]}y{story[i]}"
                                                                  for k in own[i][:10])
        for i in range(n)
    ]
    ids = [f"a{i:07d}" for i in range(n)]
    if labels:
        return x, texts, ids, theme, theme * 4 + story
    return x, texts, ids


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def one(n: int, dim: int) -> dict:
    from pipeline.cluster import cluster_articles

    from sklearn.metrics import adjusted_rand_score

    x, texts, ids, gold_theme, gold_story = synthetic(n, dim, labels=True)
    cluster_articles(x[:50], texts[:50], ids[:50])  # warm up imports
    before = _rss_mb()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cluster_articles(x, texts, ids)
    dt = time.perf_counter() - t0
    peak = round(_rss_mb() - before, 1)
    row = {a: i for i, a in enumerate(ids)}
    theme = np.arange(n) + n  # unclustered: singletons
    story = np.arange(n) + n
    k = 0
    for ti, t in enumerate(res["themes"]):
        theme[[row[a["id"]] for a in t["articles"]]] = ti
        for s in t["stories"]:
            story[[row[a["id"]] for a in s["articles"]]] = k
            k += 1
    ari_t = adjusted_rand_score(gold_theme, theme)
    ari_s = adjusted_rand_score(gold_story, story)
    return {"n": n, "ari_themes": round(ari_t, 3), "ari_stories": round(ari_s, 3), "seconds": round(dt, 2), "peak_mb": peak,
            "themes": len(res["themes"]), "stories": sum(len(t["stories"]) for t in res["themes"]),
            "unclustered": len(res["unclustered"]),
            "leaves": res["params"]["n_leaves"], "dense_nxn_mb": round(n * n * 4 / 2**20, 1)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[1000, 10_000, 100_000])
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one, args.dim)))
        return 0
    print("| articles | time (s) | peak memory (MB) | dense n x n float32 (MB) | themes (true) | stories (true) | "
          "unclustered | leaves | ARI themes | ARI stories |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for n in args.sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--dim", str(args.dim)],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f"| {r['n']:,} | {r['seconds']} | {r['peak_mb']} | {r['dense_nxn_mb']:,} | {r['themes']} "
              f"({max(2, r['n'] // 50)}) | {r['stories']} ({4 * max(2, r['n'] // 50)}) | {r['unclustered']} | "
              f"{r['leaves']} | {r['ari_themes']} | {r['ari_stories']} |", flush=True)
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"\ntime ratio {b['seconds'] / a['seconds']:.1f}x for {b['n'] / a['n']:.0f}x articles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
