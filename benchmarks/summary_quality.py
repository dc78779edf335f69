"""Summaries a reader can trust (issue 12): dangling openers, datelines opening a cited span, and ROUGE.

    .venv/bin/python benchmarks/summary_quality.py --work "$TMPDIR/sq"                      # this checkout
    .venv/bin/python benchmarks/summary_quality.py --work "$TMPDIR/sq" --before "$TMPDIR/sq-old" # with a "before" column

Each dev set goes through the real pipeline (``python -m pipeline`` in a subprocess, default config: int8 ONNX
vectors, vector and stage caches), into ``WORK/<set>/``:

- MultiLing 2011: ``ingest`` + ``embed``, then ``summarize --group-by label`` (10 topics) at 100 and 250 words;
  ROUGE-2 recall against the 3 references (``pipeline.evaluate.rouge_scores``, the summary cut to 100 / 250 words).
- ECB+ and news2017: ``ingest``, ``embed``, ``cluster``, ``summarize`` (themes and stories) at 100 and 250 words.

Every summary sentence of every theme and story is counted (a story with the same members as its theme is counted
once). *Dangling*: a sentence opening with a pronoun or connective (``pipeline.summarize.needs_antecedent``) that is
first in its summary or follows a sentence of another article (the issue's definition); *strict*: ... or does not
follow the sentence just before it in its own article. *Dateline*: the cited span opens with a URL, a date or a
dateline (``pipeline.text.lead_start``). Targets: 0, 0, 0.

Variants: ``summarize.dangling`` = ``unit`` (default), ``allow`` (no constraint: what the program chooses when
pronoun-led sentences are plain candidates) and ``drop``. The "before" column: run this script, unchanged, with
an older checkout's package first on the path (``PYTHONPATH=<old checkout>``) and ``--work <other folder>``; it
only writes the run folders there (an older package has no checker), and ``--before`` scores them with this one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SETS = {
    "multiling": DATA / "multiling2011" / "articles.jsonl",
    "ecbplus": DATA / "ecbplus" / "articles.jsonl",
    "news2017": DATA / "news2017.csv.gz",
}
WORDS = (100, 250)


def pipeline(*args, cwd: Path) -> None:
    cmd = [sys.executable, "-m", "pipeline", *map(str, args), "-q"]
    res = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{res.stderr}")


def variants() -> list[str]:
    try:
        from pipeline.config import SummarizeConfig

        return ["unit", "allow", "drop"] if "dangling" in SummarizeConfig.model_fields else ["default"]
    except Exception:  # pragma: no cover
        return ["default"]


def generate(work: Path, names: list[str], only: list[str] | None = None) -> dict:
    """Run the pipeline on every set into ``work/<set>`` and keep one summaries file per variant and budget."""
    timings = {}
    for name in names:
        src = SETS[name]
        if not src.exists():
            print(f"{name}: {src} not found, skipped", file=sys.stderr)
            continue
        out = work / name
        out.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        pipeline("ingest", src, "--out", out, cwd=out)
        pipeline("embed", "--out", out, cwd=out)
        if name != "multiling":
            pipeline("cluster", "--out", out, cwd=out)
        timings[f"{name} ingest+embed+cluster"] = time.perf_counter() - t0
        for variant in [v for v in variants() if not only or v in only or v == "default"]:
            for words in WORDS:
                sets = ["--set", f"summarize.words={words}"]
                if variant != "default":
                    sets += ["--set", f"summarize.dangling={variant}"]
                if name == "multiling":
                    sets += ["--group-by", "label"]
                t0 = time.perf_counter()
                pipeline("summarize", "--out", out, *sets, cwd=out)
                timings[f"{name} summarize {variant} {words}"] = time.perf_counter() - t0
                shutil.copyfile(out / "summaries.json", out / f"summaries_{variant}_{words}.json")
        print(f"done {name}", file=sys.stderr)
    return timings


def groups_of(doc: dict) -> list[dict]:
    out = []
    for t in doc["themes"]:
        out.append(t)
        for st in t.get("stories", []):
            if set(st["articles"]) != set(t["articles"]):
                out.append(st)
    return out


def score(folder: Path, variant: str, words: int, refs: dict | None) -> dict | None:
    from pipeline.evaluate import rouge_scores
    from pipeline.summarize import dangling_openers, dateline_openers

    path = folder / f"summaries_{variant}_{words}.json"
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    spans = {}
    with (folder / "articles.jsonl").open(encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            spans[a["id"]] = a["sentences"]
    groups = groups_of(doc)
    row = {
        "sentences": sum(len(g["summary"]) for g in groups),
        "dangling": sum(dangling_openers(g["summary"]) for g in groups),
        "strict": sum(dangling_openers(g["summary"], spans) for g in groups),
        "dateline": sum(dateline_openers(g["summary"]) for g in groups),
    }
    if refs is not None:
        system = {t["label"]: " ".join(s["text"] for s in t["summary"]) for t in doc["themes"]}
        row["r2"] = rouge_scores(system, refs, n_words=words)["rouge2_recall"]
    return row


def table(work: Path, before: Path | None, names: list[str]) -> str:
    refs_path = DATA / "multiling2011" / "references.json"
    refs = json.loads(refs_path.read_text(encoding="utf-8")) if refs_path.exists() else None
    head = "| set | words | system | sentences | dangling | strict | dateline | R2 recall |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for name in names:
        for words in WORDS:
            rows = []
            if before is not None:
                # an older checkout without summarize.dangling writes "default"; one with it, its default "unit"
                r_ = refs if name == "multiling" else None
                rows.append(("before", score(before / name, "default", words, r_) or score(before / name, "unit", words, r_)))
            for variant in ("unit", "allow", "drop"):
                label = "ours" if variant == "unit" else f"ours, dangling={variant}"
                rows.append((label, score(work / name, variant, words, refs if name == "multiling" else None)))
            for label, r in rows:
                if r is None:
                    continue
                n = max(r["sentences"], 1)
                pct = lambda k: f"{r[k]} ({100 * r[k] / n:.1f}%)"  # noqa: E731
                r2 = f"{r['r2']:.2f}" if "r2" in r else "-"
                lines.append(f"| {name} | {words} | {label} | {r['sentences']} | {pct('dangling')} | {pct('strict')} "
                             f"| {pct('dateline')} | {r2} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="folder for the run folders (kept; re-runs are cached)")
    ap.add_argument("--before", type=Path, help="a --work folder written by an older checkout, scored here")
    ap.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    ap.add_argument("--score-only", action="store_true", help="do not run the pipeline; score what --work holds")
    ap.add_argument("--variants", nargs="+", choices=["unit", "allow", "drop"], help="summarize.dangling values to run")
    args = ap.parse_args(argv)
    work = args.work.resolve()
    if not args.score_only:
        timings = generate(work, args.sets, args.variants)
        for k, v in timings.items():
            print(f"{k}: {v:.1f} s", file=sys.stderr)
    try:
        import pipeline.summarize as S

        S.dangling_openers  # noqa: B018
    except AttributeError:
        print(f"this package has no checker; run folders written to {work}", file=sys.stderr)
        return
    print(table(work, args.before.resolve() if args.before else None, args.sets))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
