"""Daily updates against one-shot runs: quality, ids kept, time; and 1,000 new articles into 100,000.

Part 1 (the dev sets, real model unless ``--model hashing``): each set is split into ``--batches`` batches by date
(random order, seed 0, where there are no dates); the first batch is a `pipeline run`, the others are
`pipeline update`s. Printed beside the one-shot run on the same articles in the same session: theme ARI and B-cubed
F1 against the labels (ECB+: topics, MultiLing: topics), the agreement (ARI) between the two partitions, theme
counts, the share of theme ids that every later update kept (with all their members), and wall times. Vectors come
from the shared vector cache, so both runs embed each text once in all; the times are of the whole stages.

Part 2 (``--scale N``, hashing vectors): a run folder of N synthetic articles, then one update of 1,000 new ones
(half on existing subjects, half on new ones), in a child process: its wall time, stage times and peak memory
(max RSS), beside the time of the full run of the N articles.

    python benchmarks/bench_update.py                         # ECB+, MultiLing, news2017 (about 15 min on 2 cores)
    python benchmarks/bench_update.py --sets multiling --model hashing
    python benchmarks/bench_update.py --sets none --scale 100000
"""

from __future__ import annotations

import argparse
import gzip
import csv
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import runner  # noqa: E402
from pipeline.artifacts import RunFolder  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.evaluate import clustering_scores  # noqa: E402
from pipeline.updating import run_update  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def cpu_flags() -> str:
    try:
        flags = next(line for line in open("/proc/cpuinfo") if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    return " ".join(sorted(f for f in set(flags) if f.startswith(("avx", "amx")) or "vnni" in f)) or "no avx"


def load_set(name: str) -> tuple[list[dict], str | None, str]:
    """Records in arrival order, the label field (None: unlabelled), the file suffix."""
    if name == "news2017":
        with gzip.open(DATA / "news2017.csv.gz", "rt", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        rows.sort(key=lambda r: (r.get("publish_date") or "", r["article_id"]))
        return rows, None, ".csv"
    path = {"ecbplus": "ecbplus/articles.jsonl", "multiling": "multiling2011/articles.jsonl"}[name]
    rows = [json.loads(x) for x in (DATA / path).read_text(encoding="utf-8").splitlines() if x.strip()]
    if sum(bool(r.get("date")) for r in rows) > len(rows) // 2:
        rows.sort(key=lambda r: (r.get("date") or "", r["id"]))
    else:
        random.Random(0).shuffle(rows)
    return rows, ("topic" if name == "ecbplus" else "label"), ".jsonl"


def write_batch(rows: list[dict], path: Path) -> None:
    if path.suffix == ".csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def full_run(inputs: list[Path], out: Path, cfg) -> float:
    t0 = time.perf_counter()
    rf = RunFolder(out)
    runner.run_ingest(inputs, rf, cfg)
    runner.run_embed(rf, cfg)
    runner.run_cluster(rf, cfg)
    runner.run_summarize(rf, cfg)
    return time.perf_counter() - t0


def assignment(out: Path, label: str | None) -> tuple[list, list, int]:
    """(gold labels, predicted themes) per input record, and the theme count."""
    arts = [json.loads(x) for x in (out / "articles.jsonl").read_text(encoding="utf-8").splitlines()]
    clusters = json.loads((out / "clusters.json").read_text(encoding="utf-8"))
    theme = {m["id"]: t["id"] for t in clusters["themes"] for m in t["articles"]}
    gold, pred, keys = [], [], []
    for a in arts:
        for src in a["sources"]:
            keys.append(src.get("input_id") or f"{src.get('path')}:{src.get('index')}")
            gold.append((a.get("meta") or {}).get(label) if label else None)
            pred.append(theme.get(a["id"]))
    order = sorted(range(len(keys)), key=lambda i: str(keys[i]))
    return [gold[i] for i in order], [pred[i] for i in order], len(clusters["themes"])


def ids_kept(before: dict, after: dict) -> tuple[int, int]:
    """(groups of ``before`` whose id and members are all still in ``after``, groups of ``before``)."""
    now = {g["id"]: {m["id"] for m in g["articles"]} for t in after["themes"] for g in [t, *t.get("stories", [])]}
    n = kept = 0
    for t in before["themes"]:
        for g in [t, *t.get("stories", [])]:
            n += 1
            kept += g["id"] in now and {m["id"] for m in g["articles"]} <= now[g["id"]]
    return kept, n


def same_articles(one: Path, stream: Path) -> str:
    """How the streamed run's articles differ from the one-shot run's: ids, house-text spans, sources."""
    def load(out: Path) -> dict:
        return {a["id"]: a for a in map(json.loads, (out / "articles.jsonl").read_text(encoding="utf-8").splitlines())}

    a, b = load(one), load(stream)
    both = a.keys() & b.keys()
    spans = sum((a[k]["boilerplate"], a[k]["sentences"]) != (b[k]["boilerplate"], b[k]["sentences"]) for k in both)
    sources = sum(len(a[k]["sources"]) != len(b[k]["sources"]) for k in both)
    return (f"articles: {len(both)} in both, {len(a.keys() - b.keys())} only one-shot, {len(b.keys() - a.keys())} "
            f"only streamed; {spans} with other house-text spans, {sources} with other sources")


def stream_vs_oneshot(name: str, batches: int, policies: dict, cfg, tmp: Path, first: float = 0.0) -> None:
    rows, label, suffix = load_set(name)
    order = "by date" if sum(bool(r.get("date") or r.get("publish_date")) for r in rows) > len(rows) // 2 else "random order"
    if first:  # the first run holds this share, the updates split the rest
        cut = int(round(first * len(rows)))
        parts = [rows[:cut]] + [rows[cut + i * (len(rows) - cut) // (batches - 1):
                                     cut + (i + 1) * (len(rows) - cut) // (batches - 1)] for i in range(batches - 1)]
    else:
        parts = [rows[i * len(rows) // batches:(i + 1) * len(rows) // batches] for i in range(batches)]
    files = []
    for i, part in enumerate(parts):
        f = tmp / f"{name}-{i:02d}{suffix}"
        write_batch(part, f)
        files.append(f)
    one = tmp / f"{name}-one"
    t_one = full_run(files, one, cfg)
    g1, p1, k1 = assignment(one, label)
    s1 = clustering_scores(g1, p1) if label else None
    print(f"\n{name}: {len(rows)} records in {batches} batches ({order}"
          + (f", the first holding {first:.0%}" if first else "") + f"); one-shot run {t_one:.1f} s, {k1} themes"
          + (f", ARI {s1['ari']:.3f}, B3 F1 {s1['bcubed_f1']:.3f}" if label else ""))
    print(f"  {'policy':<34} {'themes':>6} {'ARI':>6} {'dARI':>7} {'B3 F1':>6} {'dB3':>7} {'agree':>6} "
          f"{'ids kept':>10} {'modes':>14} {'time':>8} {'x one':>6}")
    for pname, overrides in policies.items():
        pcfg = cfg.model_copy(update={"update": cfg.update.model_copy(update=overrides)})
        stream = tmp / f"{name}-{pname.split()[0]}"
        t_first = full_run(files[:1], stream, pcfg)
        kept = total = 0
        t_updates, modes, stage = [], [], {}
        for f in files[1:]:
            before = json.loads((stream / "clusters.json").read_text(encoding="utf-8"))
            t0 = time.perf_counter()
            ch = run_update([f], RunFolder(stream), pcfg)
            t_updates.append(time.perf_counter() - t0)
            modes.append(ch["mode"])
            for k_, v in ch["seconds"].items():
                stage[k_] = stage.get(k_, 0.0) + v
            k, n = ids_kept(before, json.loads((stream / "clusters.json").read_text(encoding="utf-8")))
            kept, total = kept + k, total + n
        g2, p2, k2 = assignment(stream, label)
        agree = clustering_scores([str(p) for p in p1], [str(p) for p in p2])["ari"]
        total_t = t_first + sum(t_updates)
        mode_s = ",".join(f"{modes.count(m)} {m}" for m in ("recluster", "place") if modes.count(m))
        if label:
            s2 = clustering_scores(g2, p2)
            q = (f"{s2['ari']:>6.3f} {s2['ari'] - s1['ari']:>+7.3f} {s2['bcubed_f1']:>6.3f} "
                 f"{s2['bcubed_f1'] - s1['bcubed_f1']:>+7.3f}")
        else:
            q = f"{'-':>6} {'-':>7} {'-':>6} {'-':>7}"
        print(f"  {pname:<34} {k2:>6} {q} {agree:>6.3f} {f'{kept}/{total}':>10} {mode_s:>14} {total_t:>7.1f}s "
              f"{total_t / t_one:>5.2f}x")
        print(f"  {'':<34} update stages in all: " + ", ".join(f"{k_} {v:.1f} s" for k_, v in stage.items()))
        print(f"  {'':<34} {same_articles(one, stream)}")


# ---------------------------------------------------------------------------------------------------------------
def synthetic(n: int, n_subjects: int, seed: int, start: int = 0) -> list[dict]:
    """Articles on ``n_subjects`` subjects, each with its own words, dated over 60 days."""
    rng = random.Random(seed)
    common = ["government", "officials", "said", "week", "report", "people", "city", "country", "plan", "talks"]
    out = []
    for i in range(start, start + n):
        s = rng.randrange(n_subjects)
        own = [f"s{s}w{j}" for j in range(12)]
        sents = [" ".join(rng.sample(own, 5) + rng.sample(common, 3) + [f"n{i}"]).capitalize() + "."
                 for _ in range(4)]
        out.append({"id": f"doc{i}", "title": f"Report {i} on s{s}w0", "text": " ".join(sents),
                    "date": f"2017-{1 + (s * 7 + i) % 60 // 30 + 1:02d}-{1 + (s + i) % 28:02d}", "label": f"s{s}"})
    return out


def scale(n: int, tmp: Path) -> None:
    base, new = tmp / "base.jsonl", tmp / "new.jsonl"
    write_batch(synthetic(n, max(10, n // 200), seed=1), base)
    extra = synthetic(500, max(10, n // 200), seed=2, start=n) + synthetic(500, 40, seed=3, start=n + 500)
    for r in extra[500:]:  # new subjects: their words are unseen
        r["text"] = r["text"].replace("s", "t", 1)
        r["text"] = " ".join(w.replace("s", "q", 1) if w.startswith(("s", "S")) and "w" in w else w
                             for w in r["text"].split())
    write_batch(extra, new)
    out = tmp / "scale"
    env = {**os.environ, "PIPELINE_CACHE_DIR": str(tmp / "cache")}
    common = ["--set", "embed.model=hashing", "-q"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", "run", str(base), "--out", str(out), *common], check=True,
                   env=env, cwd=ROOT)
    t_run = time.perf_counter() - t0
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", "update", str(new), "--out", str(out), *common], check=True,
                   env=env, cwd=ROOT)
    t_up = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ch = json.loads((out / "changes.json").read_text(encoding="utf-8"))
    print(f"\nscale: 1,000 new articles into {n:,} (hashing vectors, {os.cpu_count()} cores)")
    print(f"  full run of the {n:,}: {t_run:.1f} s")
    print(f"  update (whole command, report included): {t_up:.1f} s = {t_up / t_run:.3f}x the full run; "
          f"stages {ch['seconds']}")
    print(f"  peak memory of the update process: {peak / 1024:.0f} MB"
          + ("" if peak > before else " (the full run's peak was higher; see its figure)"))
    print(f"  placement: {ch['placement']}; themes {ch['counts']['themes']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="ecbplus,multiling,news2017", help="comma-separated, or 'none'")
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--model", default=None, help="embed.model (default: the configured one); 'hashing' is fast")
    ap.add_argument("--policy", default="both", choices=["both", "default", "always"])
    ap.add_argument("--first", type=float, default=0.0, help="share of the records in the first run (default: 1/batches)")
    ap.add_argument("--scale", type=int, default=0, help="also time 1,000 new articles into this many")
    args = ap.parse_args()
    print(f"CPU flags: {cpu_flags()}")
    sets = [s for s in args.sets.split(",") if s and s != "none"]
    if sets and not DATA.is_dir():
        print(f"skipped the dev sets: {DATA} not found")
        sets = []
    overrides = [f"embed.model={args.model}"] if args.model else []
    cfg = load_config(None, overrides)
    with tempfile.TemporaryDirectory(prefix="bench-update-") as tmp:
        policies = {"default (recluster below 10,000)": {}, "always place (recluster_below=0)": {"recluster_below": 0}}
        if args.policy != "both":
            policies = {k: v for k, v in policies.items() if k.startswith(args.policy)}
        for name in sets:
            stream_vs_oneshot(name, args.batches, policies, cfg, Path(tmp), args.first)
        if args.scale:
            scale(args.scale, Path(tmp))


if __name__ == "__main__":
    main()
