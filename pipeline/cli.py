"""Command line: one command per stage plus ``run``; each builds the config, calls one runner, maps errors.

A user mistake prints one line on stderr and exits 1; ``-v`` shows the traceback.
"""

from __future__ import annotations

import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline import PipelineError, __version__

app = typer.Typer(
    name="pipeline",
    help="Turn a pile of news articles into themes with cited extractive summaries, offline.\n\n"
    "Example: pipeline run seeds/ --out out",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "[reference summary, ...]" is text, not markup
)

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Run folder holding every artifact.", file_okay=False,
                                      metavar="DIR")]
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", help="Config file (default: configs/default.yaml if present, else built-in).",
                 dir_okay=False, metavar="FILE"),
]
SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override one config key, e.g. --set cluster.min_size=3 (repeatable).",
                 metavar="KEY=VALUE"),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show details and tracebacks.", metavar="")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.", metavar="")]


def _version(value: bool):
    if value:
        typer.echo(f"pipeline {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
):
    """Turn a pile of news articles into themes with cited extractive summaries, offline."""


class _Ctx:
    def __init__(self, verbose: bool, quiet: bool):
        self.verbose = verbose
        self.quiet = quiet

    def say(self, msg: str) -> None:
        if not self.quiet:
            typer.echo(msg, err=True)

    @property
    def progress(self) -> bool:
        return not self.quiet and sys.stderr.isatty()


@contextmanager
def _guard(verbose: bool, quiet: bool = False):
    """Library errors become one line on stderr and exit code 1; -v adds the traceback. Python warnings raised
    by the library or its dependencies become one ``warning:`` line each (none with -q; with -v, where from)."""
    import warnings

    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            yield
    except typer.Exit:
        raise
    except PipelineError as exc:
        if verbose:
            traceback.print_exc()
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(code=130) from None
    except Exception as exc:  # a bug, but still one line unless -v
        if verbose:
            traceback.print_exc()
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc} (run with -v for the traceback)", err=True)
        raise typer.Exit(code=1) from None
    finally:
        _show_warnings(caught, verbose, quiet)


def _show_warnings(caught: list, verbose: bool, quiet: bool) -> None:
    if quiet:
        return
    seen = set()
    for w in caught:
        msg = str(w.message).strip().splitlines()[0] if str(w.message).strip() else w.category.__name__
        if msg in seen:
            continue
        seen.add(msg)
        where = f" ({w.category.__name__} at {w.filename}:{w.lineno})" if verbose else ""
        typer.echo(f"warning: {msg}{where}", err=True)


def _config(config: Path | None, sets: list[str] | None):
    from pipeline.config import DEFAULT_CONFIG_PATH, load_config

    if config is None and DEFAULT_CONFIG_PATH.exists():
        config = DEFAULT_CONFIG_PATH
    return load_config(config, sets or [])


def _run(out: Path):
    from pipeline.artifacts import RunFolder

    return RunFolder(out)


@app.command()
def ingest(
    inputs: Annotated[list[Path], typer.Argument(help="Files and folders: .txt (seed format), .jsonl, .json, .csv, .gz.", metavar="INPUT")],
    out: OutOpt = Path("out"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Read raw articles, strip boilerplate, split sentences, collapse duplicates -> articles.jsonl.

    Example: pipeline ingest seeds/ extra.jsonl --out out
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline.runner import run_ingest

        report = run_ingest(inputs, _run(out), _config(config, set_), ctx.say)
        if verbose:
            for r in report["rejections"]:
                ctx.say(f"  rejected {r['source']['path']}#{r['source']['index']}: {r['reason']}")
            for w in report["warnings"]:
                ctx.say(f"  warning: {w}")


@app.command()
def embed(
    out: OutOpt = Path("out"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Embed every sentence once (offline model, cached) and derive article vectors.

    Example: pipeline embed --out out --set embed.backend=torch
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline.runner import run_embed

        run_embed(_run(out), _config(config, set_), ctx.say, progress=ctx.progress)


@app.command()
def cluster(
    out: OutOpt = Path("out"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Group articles into themes and stories with keywords and labels -> clusters.json.

    Example: pipeline cluster --out out --set cluster.n_themes=5
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline.runner import run_cluster

        result = run_cluster(_run(out), _config(config, set_), ctx.say)
        if verbose:
            for t in result["themes"]:
                ctx.say(f"  {t['id']}  {t['size']:>4}  {t['label']}")


@app.command()
def summarize(
    out: OutOpt = Path("out"),
    group_by: Annotated[
        Optional[str],
        typer.Option("--group-by", help="Summarise groups given by this input field instead of the clusters.",
                     metavar="FIELD"),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Write an extractive, cited summary per theme and story -> summaries.json.

    Example: pipeline summarize --out out --set summarize.words=60
    Known groups: pipeline summarize --out out --group-by label
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline.runner import run_summarize

        doc = run_summarize(_run(out), _config(config, set_), ctx.say, group_by=group_by)
        if not quiet:
            typer.echo(format_themes(doc))


@app.command()
def report(
    out: OutOpt = Path("out"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Write report.html: one self-contained page with search, outlet and date filters, per-theme timelines, the
    map, themes, cited summaries and sources; after `pipeline update` it marks what is new (changes.json).

    Example: pipeline report --out out
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline.runner import run_report

        run_report(_run(out), _config(config, set_), ctx.say)


@app.command()
def evaluate(
    out: OutOpt = Path("out"),
    labels: Annotated[Optional[str], typer.Option("--labels", help="Input field holding the gold theme.", metavar="FIELD")] = None,
    story_labels: Annotated[
        Optional[str], typer.Option("--story-labels", help="Input field holding the gold story (event).", metavar="FIELD")
    ] = None,
    references: Annotated[
        Optional[Path],
        typer.Option("--references", help="JSON {group: [reference summary, ...]} for ROUGE.", exists=True,
                     dir_okay=False, metavar="FILE"),
    ] = None,
    words: Annotated[Optional[int], typer.Option("--words", help="Cut summaries to N words for ROUGE.", min=1, metavar="N")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Score a run: the outlets of the largest themes; with labelled input, clustering metrics against a label
    field and ROUGE against reference summaries.

    Example: pipeline evaluate --out out
    Labelled input (a field such as `topic` in each record): pipeline evaluate --out out --labels topic --story-labels label
    ROUGE: pipeline evaluate --out out --labels label --references refs.json --words 250
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline.runner import run_evaluate

        result = run_evaluate(_run(out), _config(config, set_), labels=labels, story_labels=story_labels,
                              references=references, words=words, say=ctx.say)
        typer.echo(format_evaluation(result))


@app.command()
def export(
    out: OutOpt = Path("out"),
    to: Annotated[
        Optional[Path],
        typer.Option("--to", help="Folder for the tables (default: <run folder>/exports).", file_okay=False,
                     metavar="DIR"),
    ] = None,
    fmt: Annotated[
        Optional[list[str]],
        typer.Option("--format", "-f", help="csv and/or parquet (repeatable; default both).", metavar="FORMAT"),
    ] = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Write tables for spreadsheets: every input record -> article -> theme -> story, and the themes and stories.

    Example: pipeline export --out out --format csv
    Files: articles.csv, themes.csv, stories.csv (and .parquet) in out/exports/
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline.export import write_tables

        paths = write_tables(_run(out), to, tuple(fmt or ("csv", "parquet")))
        ctx.say(f"export: {len(paths)} tables -> {paths[0].parent}")


def format_evaluation(result: dict) -> str:
    lines = []
    outlets = result.get("outlets") or {}
    if outlets.get("themes") and outlets.get("n_sources", 0) > 1:
        lines.append(f"largest themes and the share of their largest outlet ({outlets['n_sources']} outlets in all):")
        for o in outlets["themes"]:
            flag = "  <- mostly one outlet" if o["size"] >= 5 and o["top_share"] >= 0.8 else ""
            lines.append(f"  {o['size']:>5} articles  {o['top_share']:>4.0%} {str(o['top_outlet'])[:24]:<24} "
                         f"{o['label'][:60]}{flag}")
    for kind in ("themes", "stories"):
        if kind in result:
            r = result[kind]
            lines.append(
                f"{kind} vs '{r['field']}' ({r['n_items']} articles, {r['n_clusters']} clusters, {r['n_true']} gold): "
                f"ARI {r['ari']:.3f}  NMI {r['nmi']:.3f}  AMI {r['ami']:.3f}  V {r['v_measure']:.3f}  "
                f"B3 P/R/F1 {r['bcubed_precision']:.3f}/{r['bcubed_recall']:.3f}/{r['bcubed_f1']:.3f}"
            )
    if "rouge" in result:
        r = result["rouge"]
        lines.append(
            f"ROUGE ({r['words']} words, {r['n_groups']} groups): "
            f"R1 recall {r['rouge1_recall']:.2f} F1 {r['rouge1_f1']:.2f}  "
            f"R2 recall {r['rouge2_recall']:.2f} F1 {r['rouge2_f1']:.2f}  "
            f"RL recall {r['rougeL_recall']:.2f} F1 {r['rougeL_f1']:.2f}"
        )
    return "\n".join(lines)


@app.command()
def run(
    inputs: Annotated[list[Path], typer.Argument(help="Files and folders: .txt (seed format), .jsonl, .json, .csv, .gz.", metavar="INPUT")],
    out: OutOpt = Path("out"),
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Run every stage: ingest, embed, cluster, summarize, report.

    Example: pipeline run seeds/ --out out
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline import runner

        cfg = _config(config, set_)
        rf = _run(out)
        runner.run_ingest(inputs, rf, cfg, ctx.say)
        runner.run_embed(rf, cfg, ctx.say, progress=ctx.progress)
        runner.run_cluster(rf, cfg, ctx.say)
        doc = runner.run_summarize(rf, cfg, ctx.say)
        runner.run_report(rf, cfg, ctx.say)
        if not quiet:
            typer.echo(format_themes(doc))


@app.command()
def update(
    inputs: Annotated[list[Path], typer.Argument(help="New files and folders to add: .txt, .jsonl, .json, .csv, .gz.", metavar="INPUT")],
    out: OutOpt = Path("out"),
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-cluster everything; map new groups onto the old ids by member overlap (records merges and splits).", metavar="")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
):
    """Add new articles to the themes a run folder already has.

    Only the new inputs are read and embedded; each new article joins the existing theme and story it fits (by the
    rule that built them), the rest form new themes with the run's unclustered articles. Theme and story ids never
    change; only the summaries of groups whose members changed are rewritten. Writes changes.json (what is new,
    grown, unchanged), a line of history.jsonl, and the report. All or nothing: an interrupted update leaves the run
    folder as it was.

    Example: pipeline update today/ --out out
    """
    ctx = _Ctx(verbose, quiet)
    with _guard(verbose, quiet):
        from pipeline import runner
        from pipeline.updating import run_update

        cfg = _config(config, set_)
        rf = _run(out)
        changes = run_update(inputs, rf, cfg, ctx.say, rebuild=rebuild, progress=ctx.progress)
        runner.run_report(rf, cfg, ctx.say)
        if not quiet:
            typer.echo(format_changes(changes))


def format_changes(changes: dict) -> str:
    """What an update changed, as plain text: counts, then each new or grown theme with its dates."""
    a = changes["articles"]
    lines = [f"update {changes['update']}: {a['new']} new articles, {a['joined_earlier']} joined earlier articles, "
             f"{a['rejected']} rejected; {a['total']} articles in all"]
    for kind in ("themes", "stories"):
        c = changes["counts"].get(kind, {})
        lines.append(f"{kind}: " + ", ".join(f"{c[k]} {k}" for k in ("new", "grown", "changed", "unchanged") if c.get(k)))
    for g in changes["groups"]:
        if g["kind"] == "theme" and g["status"] in ("new", "grown", "changed"):
            span = f"{g['first_date'] or '?'} .. {g['last_date'] or '?'}"
            lines.append(f"  {g['status']:<7} {g['id']}  {g['size_before']} -> {g['size_after']} articles  ({span})  "
                         f"{g.get('label', '')}")
    for m in changes.get("merged", []):
        lines.append(f"  merged  {', '.join(m['from'])} -> {m['into']}")
    for s in changes.get("split", []):
        lines.append(f"  split   {s['from']} -> {', '.join(s['into'])}")
    return "\n".join(lines)


def format_themes(doc: dict, width: int = 100) -> str:
    """The themes of a summaries.json as plain text: label, size, summary sentences with their sources."""
    import textwrap

    lines = []
    titles = {k: v.get("title") or k for k, v in doc["articles"].items()}
    for t in doc["themes"]:
        n_st = len(t.get("stories", []))
        n_art = len(t["articles"])
        lines.append(f"\n## {t['label']}  ({n_art} article{'s' * (n_art != 1)}, {n_st} stor{'ies' if n_st != 1 else 'y'})")
        if t.get("keywords"):
            lines.append("   keywords: " + ", ".join(t["keywords"][:8]))
        for s in t["summary"]:
            src = titles.get(s["article_id"], s["article_id"])
            who = " · ".join(x for x in (s.get("source"), (s.get("date") or "")[:10]) if x)
            body = textwrap.fill(s["text"], width=width, initial_indent=" - ", subsequent_indent="   ")
            lines.append(f"{body}\n   [{src[:60]} {s['start']}:{s['end']}]" + (f" {who}" if who else ""))
    if doc.get("unclustered"):
        lines.append(f"\nunclustered: {len(doc['unclustered'])} articles")
    return "\n".join(lines).lstrip("\n")


@app.command("config")
def config_cmd(
    stamps: Annotated[
        Optional[Path],
        typer.Option("--stamps", help="Write one file per stage with the keys it reads, touched only on change "
                     "(make uses them to re-run just the stages whose config changed).", file_okay=False),
    ] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
    verbose: VerboseOpt = False,
):
    """Validate and print the resolved config (file plus --set overrides) as YAML.

    Example: pipeline config --set cluster.n_themes=4
    """
    with _guard(verbose):
        import yaml

        cfg = _config(config, set_)
        if stamps is None:
            typer.echo(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False).rstrip())
            return
        from pipeline.artifacts import atomic_write_bytes, dumps

        for section in type(cfg).model_fields:
            path = stamps / f"{section}.json"
            data = dumps(cfg.section(section)).encode("utf-8")
            if not path.exists() or path.read_bytes() != data:
                atomic_write_bytes(path, data)


if __name__ == "__main__":  # pragma: no cover
    app()
