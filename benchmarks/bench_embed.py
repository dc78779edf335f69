"""Embedding speed per backend against a float32 roofline measured in the same run, cold vs warm cache, memory.

    .venv/bin/python benchmarks/bench_embed.py [--limit N] [--backends torch,onnx,onnx-int8,static] [--threads T]
    .venv/bin/python benchmarks/bench_embed.py --quality lead=all,lead=4,lead=6,lead=8,lead=12,model=static
    .venv/bin/python benchmarks/bench_embed.py --quality article_tokens=160,article_tokens=null+sentence_model=same+lead=12

Sentences come from the articles of ``../shared/data/news2017.csv.gz`` (``--limit N``: the first N articles),
split with ``pipeline.text.split_sentences``. Each backend runs in its own process (so peak RSS is its own) with an
empty temporary cache:

- setup: building the ``Embedder`` (for ONNX: exporting / quantising into the empty cache, once per model);
- cold: ``encode`` of all sentences, nothing cached -> tokens/s over the tokens actually computed;
- roofline: best of several 2048x2048 float32 matmuls (torch, same threads) right before and after the cold
  encode -> GFLOP/s; divided by the model's FLOPs per token (2 x the linear-layer weights per layer plus
  QK^T and AV at the measured sentence lengths) -> roofline tokens/s; ratio = tokens/s / roofline tokens/s;
- warm: a new ``Embedder`` on the filled cache, ``encode`` again (all hits);
- quality: min / mean / 1st-percentile cosine of each backend's vectors to torch fp32 on the same sentences.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def cpu_flags_line() -> str:
    """The CPU's vector extensions as lscpu lists them (what the figures were measured on)."""
    p = subprocess.run("lscpu | grep -o 'avx[^ ]*\\|vnni[^ ]*\\|amx[^ ]*' | sort -u | tr '\\n' ' '", shell=True,
                       capture_output=True, text=True)
    return p.stdout.strip() or "unknown"


def load_sentences(limit: int | None) -> list[str]:
    from pipeline.text import split_sentences

    csv.field_size_limit(1 << 30)
    out = []
    with gzip.open(DATA / "news2017.csv.gz", "rb") as fh:
        for i, row in enumerate(csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8"))):
            if limit is not None and i >= limit:
                break
            text = row.get("text") or ""
            out.extend(text[a:b] for a, b in split_sentences(text))
    return out


def roofline_gflops(n: int = 2048, reps: int = 5) -> float:
    import torch

    a, b = torch.rand(n, n), torch.rand(n, n)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def flops_per_token(config: dict, lengths: np.ndarray) -> tuple[float, float]:
    """(linear, attention) FLOPs per token of a BERT-like encoder at these sequence lengths."""
    h, i, L = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    linear = 2 * L * (4 * h * h + 2 * h * i)
    lengths = lengths.astype(np.float64)
    attention = 4 * L * h * float((lengths**2).sum() / max(lengths.sum(), 1))
    return float(linear), attention


def _embedder(args, cache: Path):
    from pipeline.embed import Embedder, StaticEmbedder

    if args.worker == "static":  # the model2vec tier distilled from --model (distilled once into the cache)
        return StaticEmbedder(args.model, cache_dir=cache, batch_size=args.batch_size)
    return Embedder(args.model, backend=args.worker, cache_dir=cache, batch_size=args.batch_size,
                    threads=args.threads)


def worker(args) -> int:
    sents = json.loads(Path(args.sentences).read_text())
    cache = Path(args.cache)
    t = time.perf_counter()
    emb = _embedder(args, cache)
    setup = time.perf_counter() - t
    import torch

    torch.set_num_threads(getattr(emb, "threads", None) or os.cpu_count() or 1)
    roof1 = roofline_gflops()
    cold = emb.encode(sents)
    st = dict(emb.stats)
    roof2 = roofline_gflops()
    warm_emb = _embedder(args, cache)
    t = time.perf_counter()
    warm = warm_emb.encode(sents)
    warm_s = time.perf_counter() - t
    assert warm_emb.stats["n_computed"] == 0 and np.array_equal(cold, warm)
    uniq = list(dict.fromkeys(sents))
    lengths = emb.tokenize_lengths(uniq)
    cfg = json.loads(((emb.source if hasattr(emb, "source") else emb.path) / "config.json").read_text())
    lin, att = flops_per_token(cfg, lengths)
    np.save(cache / "vectors.npy", cold)
    res = {"backend": emb.backend, "model_id": emb.model_id, "threads": getattr(emb, "threads", 1), "setup_s": setup,
           "cold_s": st["seconds"], "n_tokens": st["n_tokens"], "n_computed": st["n_computed"],
           "warm_s": warm_s, "roof_gflops": max(roof1, roof2), "flops_linear": lin, "flops_attention": att,
           "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "mean_len": float(lengths.mean())}
    print("RESULT " + json.dumps(res))
    return 0


def quality(settings: list[str], cache: Path | None) -> int:
    """Theme ARI (ECB+ topics and events, MultiLing topics), MultiLing ROUGE-2 (250 words, summaries of the gold
    groups) and the tokens embedded, for each setting: ``lead=N`` / ``lead=all`` (``embed.lead_sentences``),
    ``model=static``, or any ``key=value`` of the embed section; all settings share one vector cache."""
    from pipeline import runner
    from pipeline.artifacts import RunFolder
    from pipeline.config import load_config

    if not (DATA / "ecbplus").exists():
        print(f"dev data not found at {DATA}: nothing to measure.")
        return 0
    root = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    cache = cache or root / "cache"
    print(f"CPU flags: {cpu_flags_line()}; load average {os.getloadavg()[0]:.1f}")
    head = (f"{'setting':<16} {'ECB+ topic ARI':>14} {'ECB+ event ARI':>14} {'ML ARI':>7} {'ML R2 rec':>9} "
            f"{'ML R2 F1':>8} {'sentences':>9} {'tokens':>9} {'embed s':>8}")
    # tokens: the transformer's (with two tiers, the article passages; the static sentence tier is not counted)
    print(head + "\n" + "-" * len(head), flush=True)
    for setting in settings:
        sets = [f"embed.cache_dir={cache}"]
        for part in setting.split("+"):  # e.g. article_tokens=null+sentence_model=same+lead=12
            key, _, value = part.partition("=")
            if key == "lead":
                sets.append(f"embed.lead_sentences={'null' if value == 'all' else value}")
            else:
                sets.append(f"embed.{key}={value}")
        cfg = load_config(None, sets)
        row, n_sent, n_tok, secs = {}, 0, 0, 0.0
        for name, labels, stories in (("ecbplus", "topic", "label"), ("multiling2011", "label", None)):
            rf = RunFolder(root / setting.replace("=", "-") / name)
            runner.run_ingest([DATA / name / "articles.jsonl"], rf, cfg)
            emb = runner.make_embedder(cfg)
            t = time.perf_counter()
            idx = runner.run_embed(rf, cfg, embedder=emb)
            secs += time.perf_counter() - t
            arts = rf.read_jsonl("articles.jsonl")
            n_sent += idx["n_sentences"]
            if hasattr(emb, "passage_tokens"):  # two tiers: the transformer embeds one passage per article
                n_tok += emb.passage_tokens(arts)
            else:
                lead = cfg.embed.lead_sentences
                texts = {a["text"][s:e] for a in arts
                         for s, e in (a["sentences"] if lead is None else a["sentences"][:lead])}
                texts |= {a.get("title") or "" for a in arts} - {""}
                n_tok += int(emb.tokenize_lengths(sorted(texts)).sum())
            runner.run_cluster(rf, cfg)
            res = runner.run_evaluate(rf, cfg, labels=labels, story_labels=stories)
            row[name] = res["themes"]["ari"]
            if stories:
                row["events"] = res["stories"]["ari"]
            else:
                wcfg = load_config(None, [*sets, "summarize.words=250"])
                runner.run_summarize(rf, wcfg, group_by="label")
                r = runner.run_evaluate(rf, wcfg, references=DATA / name / "references.json", words=250)["rouge"]
                row["r2"], row["r2f"] = r["rouge2_recall"], r["rouge2_f1"]
        print(f"{setting:<16} {row['ecbplus']:14.3f} {row['events']:14.3f} {row['multiling2011']:7.3f} "
              f"{row['r2']:9.4f} {row['r2f']:8.4f} {n_sent:9d} {n_tok:9d} {secs:8.1f}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="only the first N articles")
    ap.add_argument("--backends", default="torch,onnx,onnx-int8")
    ap.add_argument("--model", default="all-MiniLM-L6-v2")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--quality", help="comma-separated settings, e.g. lead=all,lead=4,lead=6,model=static: dev-set "
                    "ARI / ROUGE-2 and tokens embedded for each (instead of the speed table)")
    ap.add_argument("--quality-cache", type=Path, help="vector cache for --quality (default: a fresh one)")
    ap.add_argument("--model-cache", type=Path, help="a cache folder whose onnx/ and static/ (exports, int8 checks, "
                    "distilled static models) each backend's empty cache starts from: 'setup' then excludes them")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--sentences", help=argparse.SUPPRESS)
    ap.add_argument("--cache", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.quality:
        return quality([x for x in args.quality.split(",") if x], args.quality_cache)

    if not (DATA / "news2017.csv.gz").exists():
        print(f"news2017 data not found at {DATA / 'news2017.csv.gz'}: nothing to benchmark.")
        return 0
    sents = load_sentences(args.limit)
    print(f"{len(sents)} sentences ({len(set(sents))} unique) from "
          f"{'all' if args.limit is None else f'the first {args.limit}'} articles of news2017; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    results, vectors = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        sfile = Path(tmp) / "sentences.json"
        sfile.write_text(json.dumps(sents))
        for b in args.backends.split(","):
            cache = Path(tmp) / b
            cache.mkdir()
            for sub in ("onnx", "static"):
                if args.model_cache and (args.model_cache / sub).is_dir():
                    import shutil

                    shutil.copytree(args.model_cache / sub, cache / sub)
            cmd = [sys.executable, __file__, "--worker", b, "--sentences", str(sfile), "--cache", str(cache),
                   "--model", args.model, "--batch-size", str(args.batch_size)]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            p = subprocess.run(cmd, capture_output=True, text=True)
            line = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
            if p.returncode or not line:
                print(f"{b}: failed\n{p.stderr[-2000:]}")
                continue
            r = json.loads(line[0][7:])
            results.append(r)
            vectors[b] = np.load(cache / "vectors.npy")
            print(f"  {b} done: {r['n_tokens']} tokens in {r['cold_s']:.1f}s", flush=True)
    if not results:
        return 1
    r0 = results[0]
    fpt = r0["flops_linear"] + r0["flops_attention"]
    print(f"\nmodel FLOPs/token: {fpt / 1e6:.1f} M ({r0['flops_linear'] / 1e6:.1f} M linear + "
          f"{r0['flops_attention'] / 1e6:.2f} M attention at mean length {r0['mean_len']:.1f} tokens)")
    best_roof = max(r["roof_gflops"] for r in results)
    print(f"roofline: best float32 matmul of the run {best_roof:.1f} GFLOP/s -> {best_roof * 1e9 / fpt:.0f} tokens/s; "
          f"'ratio' uses the roofline measured around each backend's own encode, 'ratio*' the best of the run")
    head = (f"{'backend':10s} {'setup s':>8s} {'cold s':>8s} {'tok/s':>7s} {'roof GF/s':>9s} {'roof tok/s':>10s} "
            f"{'ratio':>6s} {'ratio*':>6s} {'warm s':>7s} {'cold/warm':>9s} {'peak MB':>8s} {'cos min':>8s} "
            f"{'cos mean':>8s} {'cos p01':>8s}")
    print(head)
    print("-" * len(head))
    ref = vectors.get("torch")
    for r in results:
        tps = r["n_tokens"] / r["cold_s"]
        roof_tps = r["roof_gflops"] * 1e9 / (r["flops_linear"] + r["flops_attention"])
        if ref is not None and vectors[r["backend"]].shape == ref.shape:
            c = (vectors[r["backend"]] * ref).sum(1)
            q = f"{c.min():8.4f} {c.mean():8.5f} {np.quantile(c, 0.01):8.4f}"
        else:
            q = f"{'-':>8s} {'-':>8s} {'-':>8s}"
        best_tps = best_roof * 1e9 / (r["flops_linear"] + r["flops_attention"])
        print(f"{r['backend']:10s} {r['setup_s']:8.1f} {r['cold_s']:8.1f} {tps:7.0f} {r['roof_gflops']:9.1f} "
              f"{roof_tps:10.0f} {tps / roof_tps:6.2f} {tps / best_tps:6.2f} {r['warm_s']:7.2f} "
              f"{r['cold_s'] / r['warm_s']:9.0f} {r['maxrss_mb']:8.0f} {q}")
    speeds = {r["backend"]: r["n_tokens"] / r["cold_s"] for r in results}
    if "static" in speeds:
        print("\nstatic tier: " + ", ".join(f"{speeds['static'] / v:.0f}x {b}" for b, v in speeds.items()
                                            if b != "static") + " tokens/s (cold)")
    from pipeline.embed import AUTO_BACKEND

    print(f"\nbackend='auto' -> {AUTO_BACKEND} for models that export to ONNX when its int8 check passes on this CPU "
          f"(onnx float32 otherwise; torch for models that do not export)")
    print(f"CPU flags: {cpu_flags_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
