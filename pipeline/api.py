"""The pipeline from Python: documents in, themes and tables out.

    >>> from pipeline import Pipeline
    >>> result = Pipeline().run(df)                 # a DataFrame with a `text` column (title, date, source, url, id...)
    >>> result.to_pandas()                          # the themes table; "articles" and "stories" tables too

``Pipeline`` takes the same config as the CLI (a :class:`~pipeline.config.Config`, a YAML path, and/or sections
as keyword arguments: ``Pipeline(cluster={"min_size": 3})``). ``run`` accepts a pandas DataFrame, a list of dicts,
a list of strings, or paths of input files, and runs ingest, embed, cluster and summarize (and the report) in a run
folder: a temporary one unless ``out=`` names one to keep. ``update(new_docs)`` adds documents to the themes that
exist. Nothing is printed.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline import PipelineError
from pipeline import artifacts as A
from pipeline.artifacts import RunFolder
from pipeline.config import Config, _set_path, load_config, parse_override
from pipeline.config import _validate as validate_config


class Result:
    """What a run produced: themes (with stories and cited summaries), unclustered ids, articles, and tables.

    Attributes
    ----------
    themes : list of dict
        ``summaries.json``'s themes: ``id, label, keywords, size, articles, summary, stories``.
    unclustered : list of str
        Ids of articles in no theme.
    articles : dict id -> dict
        Every article (``title, date, source, url, text, sentences, sources, ...``).
    run_folder : Path
        Where the artifacts are (``report.html``, ``summaries.json``, ...).
    """

    def __init__(self, run: RunFolder, batch: str | None = None, keep: Any = None):
        self._keep = keep  # the temporary run folder lives as long as a result that reads it
        self.run_folder = run.root
        self._run = run
        doc = run.read_json(A.SUMMARIES)
        self.themes: list[dict] = doc["themes"]
        self.unclustered: list[str] = doc["unclustered"]
        self.articles: dict[str, dict] = {a["id"]: a for a in run.read_jsonl(A.ARTICLES)}
        self._batch = batch
        self._tables: dict | None = None
        #: What the last update changed (``changes.json``), None before any update.
        self.changes: dict | None = run.read_json(A.CHANGES) if run.exists(A.CHANGES) else None

    @property
    def stories(self) -> list[dict]:
        return [s for t in self.themes for s in t.get("stories", [])]

    def tables(self) -> dict[str, list[dict]]:
        """The ``articles``, ``themes`` and ``stories`` tables as lists of rows (see :mod:`pipeline.export`)."""
        if self._tables is None:
            from pipeline.export import read_tables

            self._tables = read_tables(self._run)
        return self._tables

    def to_pandas(self, table: str = "themes"):
        """One table as a pandas DataFrame: ``"themes"`` (default), ``"stories"`` or ``"articles"`` (one row per
        input record: which article, theme and story it went to)."""
        import pandas as pd

        from pipeline.export import ARTICLE_COLUMNS, GROUP_COLUMNS, STORY_COLUMNS

        columns = {"themes": GROUP_COLUMNS, "stories": STORY_COLUMNS, "articles": ARTICLE_COLUMNS}
        if table not in columns:
            raise PipelineError(f"table={table!r} should be one of {', '.join(columns)}.")
        return pd.DataFrame(self.tables()[table], columns=columns[table])

    def assignments(self) -> list[str | None]:
        """The theme id of each document given to the last ``run``/``update`` call, in the order given (None:
        unclustered or rejected)."""
        if self._batch is None:
            raise PipelineError("assignments() needs documents given as a DataFrame or a list, not paths.")
        rows = [r for r in self.tables()["articles"] if r["input_path"] and Path(r["input_path"]).name == self._batch]
        out: dict[int, str | None] = {r["input_index"] - 1: r["theme_id"] for r in rows if r["input_index"]}
        return [out.get(i) for i in range(max(out, default=-1) + 1)]

    def __repr__(self) -> str:
        return (f"Result({len(self.themes)} themes, {len(self.articles)} articles, {len(self.unclustered)} unclustered,"
                f" run_folder={str(self.run_folder)!r})")


def _records(docs: Any) -> list[dict]:
    """DataFrame / list of dicts / list of str -> JSON-ready records (NaN -> None, dates -> ISO strings)."""
    if hasattr(docs, "to_dict") and hasattr(docs, "columns"):  # a pandas DataFrame
        docs = docs.to_dict("records")
    if isinstance(docs, (str, bytes, Mapping)):
        raise PipelineError("documents should be a DataFrame, a list of dicts or of strings, or a list of paths.")
    out = []
    for i, d in enumerate(docs):
        if isinstance(d, str):
            d = {"text": d}
        if not isinstance(d, Mapping):
            raise PipelineError(f"document {i} is a {type(d).__name__}; expected a dict with a 'text' or a string.")
        rec = {}
        for k, v in d.items():
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            if hasattr(v, "isoformat"):
                v = v.isoformat()
            elif hasattr(v, "item"):  # numpy scalars
                v = v.item()
            rec[str(k)] = v
        out.append(rec)
    return out


def _is_paths(docs: Any) -> bool:
    if isinstance(docs, (str, os.PathLike)):
        return True
    return isinstance(docs, (list, tuple)) and bool(docs) and all(isinstance(x, os.PathLike) for x in docs)


class Pipeline:
    """Ingest, embed, cluster and summarise documents, as the CLI's ``run`` does.

    Parameters
    ----------
    config : Config, path or None
        The config (a YAML file as for ``--config``; default: the built-in defaults).
    out : path, optional
        The run folder to write (kept). Default: a temporary folder that lives as long as this object.
    **sections : dict
        Config sections to override, e.g. ``cluster={"min_size": 3}``, ``embed={"model": "hashing"}``.
    """

    def __init__(self, config: Config | str | os.PathLike | None = None, *, out: str | os.PathLike | None = None,
                 **sections: Mapping[str, Any]):
        overrides = []
        for section, keys in sections.items():
            if not isinstance(keys, Mapping):
                raise PipelineError(f"{section}={keys!r} should be a dict of that section's keys, e.g. "
                                    f"cluster={{'min_size': 3}}.")
            for k, v in keys.items():
                overrides.append(f"{section}.{k}={json.dumps(v)}")
        if isinstance(config, Config):
            data = config.model_dump(mode="json")
            for item in overrides:
                _set_path(data, *parse_override(item))
            cfg = validate_config(data)
        else:
            cfg = load_config(config, overrides)
        self.config: Config = cfg
        self._tmp = None
        if out is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="pipeline-run-")
            out = self._tmp.name
        self.run_folder = RunFolder(out)
        self._batches = 0

    def _inputs(self, docs: Any) -> tuple[list[Path], str | None]:
        if _is_paths(docs):
            paths = [docs] if isinstance(docs, (str, os.PathLike)) else list(docs)
            return [Path(p) for p in paths], None
        records = _records(docs)
        if not records:
            raise PipelineError("no documents given.")
        self._batches += 1
        name = f"batch-{self._batches:04d}.jsonl"
        path = self.run_folder.root / "inputs" / name
        A.atomic_write_bytes(path, "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
                                           for r in records).encode("utf-8"))
        return [path], name

    def run(self, docs: Any, *, report: bool = True) -> Result:
        """Run every stage on ``docs`` (DataFrame, list of dicts or strings, or paths) and return the result."""
        from pipeline import runner

        inputs, batch = self._inputs(docs)
        rf = self.run_folder
        runner.run_ingest(inputs, rf, self.config)
        runner.run_embed(rf, self.config)
        runner.run_cluster(rf, self.config)
        runner.run_summarize(rf, self.config)
        if report:
            runner.run_report(rf, self.config)
        return Result(rf, batch, self._tmp)

    fit = run

    def fit_transform(self, docs: Any) -> list[str | None]:
        """BERTopic's habit: run, and return the theme id of each document (None: unclustered or rejected)."""
        return self.run(docs, report=False).assignments()

    def update(self, docs: Any, *, rebuild: bool = False, report: bool = True) -> Result:
        """Add documents to the themes this pipeline's run folder already has (``pipeline update``): existing theme
        and story ids are kept; ``result.changes`` says what is new, grown and unchanged."""
        from pipeline import runner
        from pipeline.updating import run_update

        inputs, batch = self._inputs(docs)
        run_update(inputs, self.run_folder, self.config, rebuild=rebuild)
        if report:
            runner.run_report(self.run_folder, self.config)
        return Result(self.run_folder, batch, self._tmp)

    def __repr__(self) -> str:
        return f"Pipeline(run_folder={str(self.run_folder.root)!r})"
