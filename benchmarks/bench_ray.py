"""The Ray engine against the local engine on news2017, same cores: stage times, the overhead ratio, same bytes.

    .venv/bin/python benchmarks/bench_ray.py [--limit N] [--repeat R] [--cpus 2] [--set KEY=VALUE ...]

Ingests ``../shared/data/news2017.csv.gz`` once, then runs embed, cluster and summarize cold (an empty vector and
stage cache; the model's ONNX export made once beforehand and shared) on each engine, ``R`` times each in ABBA
order (local, ray, ray, local, ...), on a local Ray started with ``--cpus`` CPUs (a head whose tasks and actors run
in worker processes; ``--address`` to use a running cluster instead). Prints the CPU flags, each stage's median
seconds per engine, the ratio ray / local (the issue's aim: under 1.15x), Ray's start-up time (once per session),
whether both engines wrote the same bytes, and the per-node figures the paper estimate in ``docs/notes/ray.md``
uses: tokens/s per core, an embedding actor's peak memory, the driver's peak memory, the micro-cluster sums.
Exits cleanly when the data is absent.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline import artifacts as A
from pipeline import runner
from pipeline.artifacts import RunFolder
from pipeline.config import load_config

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news2017.csv.gz"
STAGES = ("embed", "cluster", "summarize")


def cpu_flags() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    import re

    model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), "?")
    flags = sorted(set(re.findall(r"\b(avx[^ ]*|vnni[^ ]*|amx[^ ]*)", out)))
    return f"{model}; {' '.join(flags)}"


def answer(run: RunFolder) -> tuple[bytes, bytes]:
    doc = json.loads(run.path(A.SUMMARIES).read_text(encoding="utf-8"))
    doc["run"]["created"] = None
    doc["run"]["config"]["embed"]["cache_dir"] = None  # each run has its own (cold) cache folder
    return run.path(A.CLUSTERS).read_bytes(), json.dumps(doc, sort_keys=True).encode()


def one_run(base: Path, work: Path, tag: str, cfg_sets: list[str], onnx: Path) -> dict:
    out, cache = work / f"{tag}-run", work / f"{tag}-cache"
    shutil.copytree(base, out)
    cache.mkdir()
    (cache / "onnx").symlink_to(onnx)  # the export is made once; the vectors and stage results start empty
    cfg = load_config(None, [*cfg_sets, f"embed.cache_dir={cache}"])
    rf = RunFolder(out)
    times = {}
    for st in STAGES:
        t0 = time.perf_counter()
        getattr(runner, f"run_{st}")(rf, cfg)
        times[st] = time.perf_counter() - t0
    times["total"] = sum(times[s] for s in STAGES)
    man = rf.read_manifest()["stages"]
    return {"times": times, "embed_stats": man["embed"].get("stats", {}), "run": rf,
            "clusters": json.loads(rf.path(A.CLUSTERS).read_text())["params"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="use only the first N articles")
    ap.add_argument("--repeat", type=int, default=1, help="runs per engine (ABBA order); medians are quoted")
    ap.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray (and threads of the local engine)")
    ap.add_argument("--address", help="a running Ray cluster instead of a local one")
    ap.add_argument("--set", action="append", default=[], dest="sets")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"{DATA} not found; nothing to benchmark")
        return 0
    print(f"cpu: {cpu_flags()}")
    work = Path(tempfile.mkdtemp(prefix="bench_ray_"))
    try:
        inputs = [DATA]
        if args.limit:
            with gzip.open(DATA, "rt", encoding="utf-8", newline="") as fh:
                rows = list(csv.reader(fh))
            inputs = [work / "news_subset.csv"]
            with open(inputs[0], "w", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerows(rows[: args.limit + 1])
        common = [*args.sets, f"embed.threads={args.cpus}", f"ray.num_cpus={args.cpus}"]
        if args.address:
            common.append(f"ray.address={args.address}")
        warm = work / "warm-cache"
        cfg0 = load_config(None, [*common, f"embed.cache_dir={warm}"])
        base = work / "ingested"
        runner.run_ingest(inputs, RunFolder(base), cfg0)
        emb = runner.make_embedder(cfg0)  # the ONNX export, once
        onnx = warm / "onnx"
        onnx.mkdir(parents=True, exist_ok=True)
        n_art = sum(1 for _ in RunFolder(base).read_jsonl(A.ARTICLES))
        print(f"articles: {n_art}; model {emb.model_id}; {args.repeat} run(s) per engine, cold caches")

        t0 = time.perf_counter()
        from pipeline.engines import get_engine

        eng = get_engine(load_config(None, [*common, "engine=ray"]))
        ray_start = time.perf_counter() - t0
        print(f"ray start: {ray_start:.1f} s (once per session; {eng.cpus()} CPUs)")

        order = []
        for r in range(args.repeat):
            order += ["local", "ray"] if r % 2 == 0 else ["ray", "local"]
        results: dict[str, list[dict]] = {"local": [], "ray": []}
        for k, name in enumerate(order):
            res = one_run(base, work, f"{k}-{name}", [*common, f"engine={name}"], onnx)
            if name == "ray":
                res["ray_stats"] = dict(eng.stats)
            results[name].append(res)
            t = res["times"]
            print(f"  run {k + 1} {name:5s}: " + "  ".join(f"{s} {t[s]:6.1f}s" for s in (*STAGES, "total")),
                  flush=True)

        same = all(answer(r["run"]) == answer(results["local"][0]["run"]) for rs in results.values() for r in rs)
        print(f"\n{'stage':10s} {'local s':>9s} {'ray s':>9s} {'ray/local':>10s}   (medians of {args.repeat})")
        for s in (*STAGES, "total"):
            lo = statistics.median(r["times"][s] for r in results["local"])
            ra = statistics.median(r["times"][s] for r in results["ray"])
            print(f"{s:10s} {lo:9.1f} {ra:9.1f} {ra / lo:9.2f}x")
        lo_t = statistics.median(r["times"]["total"] for r in results["local"])
        ra_t = statistics.median(r["times"]["total"] for r in results["ray"])
        print(f"overhead: {ra_t / lo_t:.3f}x without Ray's start-up, {(ra_t + ray_start) / lo_t:.3f}x with it "
              f"(aim < 1.15x)")
        print(f"same clusters.json and summaries.json on both engines: {'yes' if same else 'NO'}")

        st = results["local"][0]["embed_stats"]
        tok = st.get("n_tokens", 0)
        secs = statistics.median(r["embed_stats"].get("seconds", 0.0) for r in results["local"])
        rs = results["ray"][-1]["ray_stats"]
        ray_secs = statistics.median(r["ray_stats"].get("seconds", 0.0) for r in results["ray"])
        params = results["local"][0]["clusters"]
        dim = emb.dim
        print("\nper-node figures (for docs/notes/ray.md):")
        print(f"  sentences embedded: {st.get('n_computed')} distinct, {tok} tokens, "
              f"{tok / max(n_art, 1):.0f} tokens per article")
        print(f"  local encoder: {tok / max(secs, 1e-9):,.0f} tokens/s on {args.cpus} cores = "
              f"{tok / max(secs, 1e-9) / args.cpus:,.0f} tokens/s per core")
        print(f"  ray actors: {rs.get('actors')} x 1 thread, {rs.get('blocks')} blocks, "
              f"{tok / max(ray_secs, 1e-9):,.0f} tokens/s on the actors "
              f"({tok / max(ray_secs, 1e-9) / max(rs.get('actors', 1), 1):,.0f} per actor)")
        print(f"  embedding actor peak RSS: {rs.get('actor_peak_rss_mb')} MB")
        print(f"  micro-clusters: {params.get('n_leaves')} leaves x {dim} dims x 8 bytes = "
              f"{params.get('n_leaves', 0) * dim * 8 / 2**20:.1f} MB of sums on the driver")
        print(f"  driver peak RSS (this process, both engines): "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
