"""Whole pipeline on the 3,824-article news2017 stream: cold (empty cache) versus warm (cached) run.

    .venv/bin/python benchmarks/bench_pipeline.py [--limit N] [--set KEY=VALUE ...]

Prints each stage's seconds for the cold and the warm run, the warm/cold ratio (target: under 10%), and the peak
resident memory of the process. Reads ``../shared/data/news2017.csv.gz``; exits cleanly when it is absent.
"""

from __future__ import annotations

import argparse
import gzip
import resource
import sys
import tempfile
import time
from pathlib import Path

from pipeline import runner
from pipeline.artifacts import RunFolder
from pipeline.config import load_config

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news2017.csv.gz"
STAGES = ("ingest", "embed", "cluster", "summarize", "report")


def run_all(inputs, out: Path, cfg) -> dict[str, float]:
    rf = RunFolder(out)
    t0 = time.perf_counter()
    runner.run_ingest(inputs, rf, cfg)
    runner.run_embed(rf, cfg)
    runner.run_cluster(rf, cfg)
    runner.run_summarize(rf, cfg)
    runner.run_report(rf, cfg)
    total = time.perf_counter() - t0
    stages = rf.read_manifest()["stages"]
    return {**{s: stages[s]["seconds"] for s in STAGES}, "total": total}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="use only the first N articles")
    ap.add_argument("--set", action="append", default=[], dest="sets")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"{DATA} not found; nothing to benchmark")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    inputs = [DATA]
    if args.limit:
        with gzip.open(DATA, "rt", encoding="utf-8", newline="") as fh:
            import csv

            rows = list(csv.reader(fh))
        small = tmp / "news_subset.csv"
        with open(small, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows[: args.limit + 1])
        inputs = [small]
    cfg = load_config(None, [*args.sets, f"embed.cache_dir={tmp / 'cache'}"])
    cold = run_all(inputs, tmp / "cold", cfg)
    warm = run_all(inputs, tmp / "warm", cfg)
    print(f"{'stage':10s} {'cold s':>9s} {'warm s':>9s}")
    for s in (*STAGES, "total"):
        print(f"{s:10s} {cold[s]:9.2f} {warm[s]:9.2f}")
    print(f"warm / cold: {warm['total'] / cold['total']:.1%} (target < 10%)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
