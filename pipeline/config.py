"""One validated config object, grouped by stage.

Loaded from ``configs/default.yaml`` (or ``--config FILE``) and overridable key by key with
``--set stage.key=value`` (the value is parsed as YAML: ``3``, ``0.5``, ``null``, ``true``, ``[a, b]``).
An unknown key or a bad value raises :class:`ConfigError` with one line naming the key, the value and the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pipeline import PipelineError

#: The config file used when ``--config`` is not given and it exists in the working directory.
DEFAULT_CONFIG_PATH = Path("configs") / "default.yaml"


class ConfigError(PipelineError):
    """The config file or a ``--set`` override is invalid."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CsvColumns(_Section):
    """Which CSV column feeds which article field; ``null`` means the field is absent."""

    id: str | None = "article_id"
    title: str | None = "title"
    text: str = "text"
    date: str | None = "publish_date"
    source: str | None = None
    url: str | None = "article_source_link"


class IngestConfig(_Section):
    csv_columns: CsvColumns = Field(default_factory=CsvColumns)
    near_duplicate_threshold: float = Field(0.8, gt=0.0, le=1.0, description="Jaccard of word shingles")
    shingle_words: int = Field(3, ge=1, le=10)
    num_perm: int = Field(128, ge=16, le=1024)
    max_title_chars: int = Field(300, ge=10)
    max_article_chars: int = Field(200_000, ge=1_000, description="longer texts are cut at a sentence end")
    max_file_mb: float = Field(1024, gt=0)
    min_sentence_chars: int = Field(2, ge=1)
    boilerplate: bool = Field(True, description="mark outlet house text (datelines, bylines, footers) and leave it out")
    boilerplate_min_articles: int = Field(4, ge=2, description="house text recurs in at least this many articles")
    boilerplate_min_share: float = Field(0.05, gt=0.0, le=1.0, description="... and this share of its outlet's")


class EmbedConfig(_Section):
    model: str = "all-MiniLM-L6-v2"
    backend: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"
    batch_size: int = Field(64, ge=1, le=4096)
    threads: int | None = Field(None, ge=1)
    max_seq_length: int | None = Field(None, ge=8)
    cache_dir: str | None = None
    use_cache: bool = True
    article_vectors: str = "auto"
    #: 160: article vector = the transformer's vector of title + content cut at 160 tokens (docs/notes/embed.md:
    #: ECB+ themes / stories 0.888 / 0.905 and MultiLing 1.000 against 0.885 / 0.900 / 0.889 for the lead-weighted
    #: mean of 12 sentence vectors, 0.44x the transformer tokens on news2017). null: derived from sentence vectors.
    article_tokens: int | None = Field(160, ge=8, description="tokens of title + content embedded as the article vector")
    #: the summariser's sentence vectors: ``static`` (model2vec distilled from ``model``, every sentence for ~7 s on
    #: news2017) or ``same`` (``model`` itself, the first ``lead_sentences`` of each article)
    sentence_model: Literal["static", "same"] = "static"
    lead_sentences: int | None = Field(None, ge=1, description="content sentences per article embedded (null: all)")


class ClusterConfig(_Section):
    n_themes: int | None = Field(None, ge=1)
    threshold: float | None = Field(None, ge=-1.0, le=1.0, description="mean theme similarity")
    story_threshold: float | None = Field(None, ge=-2.0, le=3.0,
                                          description="mean story similarity: cosine + entity and time terms")
    min_size: int = Field(2, ge=1)
    n_keywords: int = Field(10, ge=1, le=100)
    random_state: int = 0
    theme_date_horizon: float | None = Field(365.0, ge=0, description="days; theme date term (null/0: off)")


class SummarizeConfig(_Section):
    words: int | None = Field(100, ge=10)
    sentences: int | None = Field(None, ge=1)
    stories: bool = True
    dangling: Literal["unit", "drop", "allow"] = "unit"
    max_articles: int | None = Field(50, ge=1, description="a summary is chosen from this many most central articles")
    unembedded: Literal["article", "fetch"] = "article"


class ReportConfig(_Section):
    title: str = "News themes"
    max_articles_per_theme: int = Field(50, ge=1)
    max_text_chars: int = Field(6_000_000, ge=0, description="article text inlined in the page, in all")


class EvaluateConfig(_Section):
    rouge_words: int = Field(100, ge=1)


class RayConfig(_Section):
    """Used with ``engine: ray`` (see :mod:`pipeline.engines.ray`)."""

    address: str | None = Field(None, description="a running Ray cluster; null: start a local one")
    num_cpus: int | None = Field(None, ge=1, description="CPUs of the local Ray; null: all")
    actors: int | None = Field(None, ge=1, description="embedding actors; null: one per CPU of the cluster")
    batch_size: int = Field(256, ge=1, description="texts per model call inside an embedding actor")
    block_rows: int = Field(1024, ge=1, description="at most this many texts per block sent to an actor")


class UpdateConfig(_Section):
    recluster_below: int = Field(10_000, ge=0, description="below this many articles an update re-clusters everything")


class Config(_Section):
    engine: Literal["local", "ray"] = "local"
    ray: RayConfig = Field(default_factory=RayConfig)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    embed: EmbedConfig = Field(default_factory=EmbedConfig)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    summarize: SummarizeConfig = Field(default_factory=SummarizeConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    update: UpdateConfig = Field(default_factory=UpdateConfig)

    def section(self, name: str) -> dict[str, Any]:
        """The plain dict of one stage's keys (what that stage declares it reads); a top-level value (``engine``)
        as it is."""
        value = getattr(self, name)
        return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def config_keys(model: type[BaseModel] = None, prefix: str = "") -> list[str]:
    """Every dotted config key (``cluster.min_size``, ``ingest.csv_columns.text``, ...)."""
    model = model or Config
    out = []
    for name, field in model.model_fields.items():
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out += config_keys(sub, f"{prefix}{name}.")
        else:
            out.append(f"{prefix}{name}")
    return out


def _format_error(err: ValidationError, data: dict) -> str:
    import difflib

    first = err.errors()[0]
    loc = ".".join(str(x) for x in first["loc"])
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        keys = config_keys() + list(Config.model_fields)
        close = difflib.get_close_matches(loc, keys, n=1, cutoff=0.6)
        if not close:  # a wrong section: match on the last part alone
            tails = {k.rsplit(".", 1)[-1]: k for k in keys}
            close = [tails[t] for t in difflib.get_close_matches(loc.rsplit(".", 1)[-1], list(tails), n=1)]
        hint = f"; did you mean '{close[0]}'?" if close else "; `pipeline config` lists the keys"
        return f"unknown config key '{loc}'{hint}"
    return f"config key '{loc}'={value!r}: {first['msg']}"


def _set_path(data: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"config key '{dotted}': '{part}' is not a section")
        node = nxt
    node[parts[-1]] = value


def parse_override(item: str) -> tuple[str, Any]:
    """``"cluster.min_size=3"`` -> ``("cluster.min_size", 3)``."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or not all(key.split(".")):
        raise ConfigError(f"--set {item!r}: expected KEY=VALUE such as cluster.min_size=3")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key, value


def load_config(path: str | Path | None = None, overrides: Iterable[str] = ()) -> Config:
    """Read ``path`` (``None``: built-in defaults), apply ``--set`` overrides, validate."""
    if path is None:
        data: dict = {}
        for item in overrides:
            key, value = parse_override(item)
            _set_path(data, key, value)
        return _validate(data)
    src = Path(path)
    try:
        raw = src.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {src}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {src}: {exc}") from None
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {src}{where} is not valid YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {src} should hold a mapping of stage sections, not {type(data).__name__}")
    for item in overrides:
        key, value = parse_override(item)
        _set_path(data, key, value)
    return _validate(data)


def _validate(data: dict) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, data)) from None


def dump_default_yaml() -> str:
    """The default config as commented YAML (``configs/default.yaml`` is this text)."""
    return yaml.safe_dump(Config().model_dump(mode="json"), sort_keys=False)
