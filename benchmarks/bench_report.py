"""Size and build time of report.html at scale, against the previous report, side by side.

    .venv/bin/python benchmarks/bench_report.py [--sizes 10000 100000] [--baseline-ref main] [--repeat 3]
    .venv/bin/python benchmarks/bench_report.py --run RUN_FOLDER     # the same figures on a real run folder

Input: the synthetic run of tests/synthetic_run.py (themes of power-law sizes, 50 articles per theme on average,
9 outlets, 90 days, ~2,000-character articles with a dateline and a footer). For each size it prints, for the
current report and for ``pipeline/report.py`` at ``--baseline-ref`` (the report before this rewrite, loaded from
git): the median time of ``build_report`` over ``--repeat`` runs, the page size, the peak memory the build allocates (tracemalloc), and,
when Chromium is installed, the time until the page's load event in headless Chromium (median of 3). The current
report is also measured with ``max_articles=20``.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from synthetic_run import make_run  # noqa: E402

from pipeline.report import build_report  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMING = """<script>window.addEventListener("load", function () {
var t = performance.getEntriesByType("navigation")[0], p = document.createElement("pre"); p.id = "timing";
p.textContent = Math.round(t.loadEventStart); document.body.appendChild(p); });</script>"""


def _baseline(ref: str):
    """The report module at git ``ref`` (None when it cannot be read)."""
    try:
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:pipeline/report.py"], capture_output=True,
                             text=True, check=True).stdout
    except (subprocess.CalledProcessError, FileNotFoundError):
        return None
    path = Path(tempfile.mkdtemp(prefix="bench-report-")) / "old_report.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("old_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _browser_ms(page: str, repeat: int = 3) -> float | None:
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        return None
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-"))
    path = tmp / "page.html"
    path.write_text(page.replace("</body>", TIMING + "</body>"), encoding="utf-8")
    out = []
    for k in range(repeat):
        res = subprocess.run([exe, *FLAGS, f"--user-data-dir={tmp / f'p{k}'}", "--window-size=1400,1000",
                              "--dump-dom", path.as_uri()],
                             capture_output=True, text=True, timeout=600)
        tail = res.stdout[-400:]
        if '<pre id="timing">' in tail:
            out.append(float(tail.split('<pre id="timing">')[1].split("<")[0]))
    shutil.rmtree(tmp, ignore_errors=True)
    return statistics.median(out) if out else None


def _read_run(folder: str) -> dict:
    import numpy as np

    from pipeline import artifacts as A
    from pipeline.artifacts import RunFolder

    rf = RunFolder(folder)
    return {"summaries": rf.read_json(A.SUMMARIES), "articles": rf.read_jsonl(A.ARTICLES),
            "ingest_report": rf.read_json(A.INGEST_REPORT) if rf.exists(A.INGEST_REPORT) else {},
            "vectors": np.asarray(rf.read_npy(A.ARTICLE_VECTORS)) if rf.exists(A.ARTICLE_VECTORS) else None}


def measure(build, run: dict, repeat: int, **kw) -> dict:
    """Median build time over ``repeat`` runs; peak Python memory (tracemalloc) in one more, untimed run."""
    import tracemalloc

    times, page = [], ""
    for _ in range(repeat):
        t0 = time.perf_counter()
        page = build(run["summaries"], run["articles"], run["ingest_report"], run["vectors"], **kw)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    build(run["summaries"], run["articles"], run["ingest_report"], run["vectors"], **kw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"seconds": statistics.median(times), "mb": len(page.encode("utf-8")) / 1e6, "peak_mb": peak / 1e6,
            "page": page}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--baseline-ref", default="main")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--run", help="a run folder made by `pipeline run` (measured instead of synthetic runs)")
    args = ap.parse_args()
    old = _baseline(args.baseline_ref)
    warm = make_run(300, 10)  # imports and first-call costs out of the timings
    for build in [build_report] + ([old.build_report] if old else []):
        build(warm["summaries"], warm["articles"], warm["ingest_report"], warm["vectors"])
    print("| articles | themes | report | build (s) | page (MB) | peak memory (MB) | opens in Chromium (s) |")
    print("|---|---|---|---|---|---|---|")
    for n in ([None] if args.run else args.sizes):
        t0 = time.perf_counter()
        run = _read_run(args.run) if args.run else make_run(n, max(2, n // 50), sentences=14, words=22)
        n = len(run["articles"])
        made = time.perf_counter() - t0
        chars = sum(len(a["text"]) for a in run["articles"]) / n
        rows = [("this report", measure(build_report, run, args.repeat)),
                ("this report, max_articles=20", measure(build_report, run, args.repeat, max_articles=20))]
        if old is not None:
            rows.append((f"previous ({args.baseline_ref})", measure(old.build_report, run, args.repeat)))
        for name, r in rows:
            ms = None if args.no_browser else _browser_ms(r["page"])
            print(f"| {n:,} | {len(run['summaries']['themes']):,} | {name} | {r['seconds']:.2f} | {r['mb']:.1f} | "
                  f"{r['peak_mb']:.0f} | {'-' if ms is None else f'{ms / 1000:.2f}'} |", flush=True)
        print(f"(input {'read' if args.run else 'made'} in {made:.0f} s; {chars:,.0f} characters per article)",
              file=sys.stderr)


if __name__ == "__main__":
    main()
