"""Run the real pipeline (ingest -> embed -> cluster -> summarize) on the labelled dev sets and print its metrics.

    .venv/bin/python benchmarks/dev_eval.py [--set embed.backend=torch ...] [--only ecbplus|multiling]

ECB+: themes against `topic`, stories against `label`. MultiLing 2011: themes against `label`, and ROUGE of
`--group-by label` summaries at 250 and 100 words against the reference summaries. Data are read from
``../shared/data`` next to the repo; the script exits cleanly when it is absent.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from pipeline.artifacts import RunFolder
from pipeline.cli import format_evaluation
from pipeline.config import load_config
from pipeline import runner

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def stage_times(rf: RunFolder) -> str:
    stages = rf.read_manifest().get("stages", {})
    return ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in stages.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", default=[], dest="sets")
    ap.add_argument("--only", choices=["ecbplus", "multiling"])
    ap.add_argument("--keep", type=Path, help="keep run folders here")
    args = ap.parse_args()
    if not DATA.exists():
        print(f"dev data not found at {DATA}; nothing to evaluate")
        return 0
    cfg = load_config(None, args.sets)
    root = args.keep or Path(tempfile.mkdtemp(prefix="dev_eval_"))
    if args.only in (None, "ecbplus"):
        rf = RunFolder(root / "ecbplus")
        t0 = time.perf_counter()
        runner.run_ingest([DATA / "ecbplus" / "articles.jsonl"], rf, cfg)
        runner.run_embed(rf, cfg)
        runner.run_cluster(rf, cfg)
        res = runner.run_evaluate(rf, cfg, labels="topic", story_labels="label")
        print(f"ECB+ ({time.perf_counter() - t0:.0f}s: {stage_times(rf)})")
        print(format_evaluation(res))
    if args.only in (None, "multiling"):
        rf = RunFolder(root / "multiling")
        refs = DATA / "multiling2011" / "references.json"
        t0 = time.perf_counter()
        runner.run_ingest([DATA / "multiling2011" / "articles.jsonl"], rf, cfg)
        runner.run_embed(rf, cfg)
        runner.run_cluster(rf, cfg)
        res = runner.run_evaluate(rf, cfg, labels="label")
        print(f"MultiLing 2011 ({time.perf_counter() - t0:.0f}s: {stage_times(rf)})")
        print(format_evaluation(res))
        for words in (250, 100):
            wcfg = load_config(None, [*args.sets, f"summarize.words={words}"])
            runner.run_summarize(rf, wcfg, group_by="label")
            res = runner.run_evaluate(rf, wcfg, references=refs, words=words)
            print("summaries grouped by label: " + format_evaluation(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
