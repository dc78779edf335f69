"""int8 quantisation recipes vs float32 on the probe sentences, natively and on emulated CPUs without VNNI.

    .venv/bin/python benchmarks/int8_recipes.py [--recipes s8-pc,s8-pc-r7,...] [--emulate Haswell,EPYC-Rome]
                                                [--sensitivity] [--texts N]

For each recipe of ``pipeline.embed.int8.RECIPES``: cosine of its vectors to the float32 ONNX export's over the
probe set (``pipeline/embed/probe_sentences.txt``; with ``--texts N``, also N ECB+ sentences), mean / 1st
percentile / min, and whether the backend's check passes. ``--emulate`` re-runs the same measurement under
``qemu-x86_64 -cpu <model>`` (apt-get install qemu-user): ONNX Runtime picks its int8 kernels from CPUID, so an
emulated Haswell or EPYC-Rome (AVX2, no AVX-512, no VNNI) runs the u8s8 ``VPMADDUBSW`` path that saturates.
``--sensitivity``: for the 7-bit per-channel recipe, the min / mean cosine when each weight matmul alone is kept in
float32 (which node to keep).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"


def _texts(n_extra: int) -> list[str]:
    from pipeline.embed.int8 import probe_sentences

    texts = probe_sentences()
    f = DATA / "ecbplus" / "articles.jsonl"
    if n_extra and f.exists():
        import re

        sents = []
        for line in f.read_text(encoding="utf-8").splitlines():
            a = json.loads(line)
            sents += [s.strip() for s in re.split(r"(?<=[.!?])\s+", a["text"]) if len(s.split()) >= 4]
        rng = np.random.default_rng(0)
        texts += [sents[i] for i in sorted(rng.choice(len(sents), size=min(n_extra, len(sents)), replace=False))]
    return texts


def measure(recipe_names: list[str], cache: Path, n_extra: int, sensitivity: bool) -> dict:
    from pipeline.embed import Embedder
    from pipeline.embed.backends_onnx import _OnnxImpl
    from pipeline.embed.int8 import RECIPES, cosine_figures, cpu_flags, passes

    owner = Embedder(backend="onnx", cache_dir=cache, use_cache=False)
    texts = _texts(n_extra)
    t0 = time.perf_counter()
    ref = _OnnxImpl(owner, quantized=False).encode(texts, lambda n: None)[0]
    t_fp32 = time.perf_counter() - t0
    out = {"cpu": cpu_flags(), "n_texts": len(texts), "fp32_seconds": round(t_fp32, 2), "recipes": {}}
    for name in recipe_names:
        impl = _OnnxImpl(owner, quantized=True, recipe=RECIPES[name])
        t0 = time.perf_counter()
        got = impl.encode(texts, lambda n: None)[0]
        fig = cosine_figures(ref, got)
        probe = cosine_figures(ref[:len(_texts(0))], got[:len(_texts(0))])
        out["recipes"][name] = {**fig, "probe": probe, "passed": passes(probe),
                                "seconds": round(time.perf_counter() - t0, 2), "version": RECIPES[name].version}
    if sensitivity:
        import onnx

        from pipeline.embed.backends_onnx import onnx_model_path

        fp32 = onnx_model_path(owner, quantized=False)
        nodes = [n.name for n in onnx.load(str(fp32), load_external_data=False).graph.node
                 if n.op_type == "MatMul" and "/attention/self/MatMul" not in n.name]
        base = RECIPES["s8-pc-r7"]
        rows = []
        for node in nodes:
            r = replace(base, name=f"keep-{len(rows)}", keep_fp32=("^" + node.replace(".", r"\.") + "$",))
            got = _OnnxImpl(owner, quantized=True, recipe=r).encode(texts, lambda n: None)[0]
            rows.append({"node": node, **cosine_figures(ref, got)})
        out["sensitivity"] = sorted(rows, key=lambda r: -r["min"])
    return out


def _print(res: dict, label: str) -> None:
    print(f"\n{label}: CPU {res['cpu']}  ({res['n_texts']} texts, fp32 {res['fp32_seconds']} s)")
    print(f"  {'recipe':<16} {'mean':>7} {'p01':>7} {'min':>7}  probe mean/min   check  seconds")
    for name, r in res["recipes"].items():
        p = r["probe"]
        print(f"  {name:<16} {r['mean']:7.4f} {r['p01']:7.4f} {r['min']:7.4f}  {p['mean']:.4f}/{p['min']:.4f}  "
              f"{'pass' if r['passed'] else 'FAIL':>6} {r['seconds']:7.1f}")
    for row in res.get("sensitivity", [])[:8]:
        print(f"  keep fp32 {row['node']:<48} mean {row['mean']:.4f} min {row['min']:.4f}")


def main() -> None:
    from pipeline.embed.int8 import RECIPES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", default=",".join(RECIPES))
    ap.add_argument("--emulate", default="", help="comma-separated qemu CPU models, e.g. Haswell,EPYC-Rome")
    ap.add_argument("--texts", type=int, default=0, help="also this many ECB+ sentences")
    ap.add_argument("--sensitivity", action="store_true")
    ap.add_argument("--cache", default=None, help="cache folder (default: a fresh temporary one)")
    ap.add_argument("--json", action="store_true", help="print one JSON object (used for the emulated runs)")
    args = ap.parse_args()
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="int8-recipes-"))
    names = [n for n in args.recipes.split(",") if n]
    res = measure(names, cache, args.texts, args.sensitivity)
    if args.json:
        print(json.dumps(res))
        return
    lscpu = subprocess.run("lscpu | grep -o 'avx[^ ]*\\|vnni[^ ]*\\|amx[^ ]*' | sort -u | tr '\\n' ' '", shell=True,
                           capture_output=True, text=True).stdout.strip()
    print(f"CPU flags (lscpu): {lscpu}")
    _print(res, "native")
    for cpu in [c for c in args.emulate.split(",") if c]:
        cmd = ["qemu-x86_64", "-cpu", cpu, sys.executable, __file__, "--json", "--recipes", args.recipes,
               "--texts", str(args.texts), "--cache", str(cache)]
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if p.returncode != 0:
            print(f"\nemulated {cpu}: failed ({p.stderr.strip().splitlines()[-1:]})")
            continue
        _print(json.loads(p.stdout.strip().splitlines()[-1]), f"emulated {cpu} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
