"""Config: the shipped default file, validation messages, overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from pipeline.config import Config, ConfigError, load_config, parse_override

DEFAULT = Path(__file__).resolve().parents[1] / "configs" / "default.yaml"


def test_default_file_matches_built_in_defaults():
    assert load_config(DEFAULT) == Config()


def test_every_section_of_the_model_is_in_the_default_file():
    import yaml

    data = yaml.safe_load(DEFAULT.read_text())
    assert set(data) == set(Config.model_fields)
    for section, model in Config.model_fields.items():
        if isinstance(model.annotation, type) and issubclass(model.annotation, BaseModel):  # not `engine`
            assert set(data[section]) == set(model.annotation.model_fields), section


@pytest.mark.parametrize(
    "override, message",
    [
        ("cluster.min_size=abc", "config key 'cluster.min_size'='abc': Input should be a valid integer"),
        ("cluster.min_size=0", "config key 'cluster.min_size'=0: Input should be greater than or equal to 1"),
        ("cluster.bogus=1", "unknown config key 'cluster.bogus'"),
        ("bogus.key=1", "unknown config key 'bogus'"),
        ("embed.backend=gpu", "config key 'embed.backend'='gpu': Input should be 'auto', 'torch', 'onnx' or"),
        ("ingest.near_duplicate_threshold=1.5", "ingest.near_duplicate_threshold'=1.5"),
        ("summarize=3", "config key 'summarize'=3"),
    ],
)
def test_bad_values_name_key_value_and_rule(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(DEFAULT, [override])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_overrides_parse_yaml_values():
    cfg = load_config(DEFAULT, ["cluster.n_themes=4", "summarize.words=null", "summarize.sentences=3",
                                "embed.cache_dir=/tmp/x", "cluster.threshold=0.35"])
    assert cfg.cluster.n_themes == 4 and cfg.summarize.words is None and cfg.summarize.sentences == 3
    assert cfg.embed.cache_dir == "/tmp/x" and cfg.cluster.threshold == 0.35
    assert parse_override("ingest.csv_columns.text=body") == ("ingest.csv_columns.text", "body")


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cluster: [unclosed\n")
    with pytest.raises(ConfigError, match="line 1 is not valid YAML|is not valid YAML"):
        load_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="should hold a mapping"):
        load_config(listy)
    partial = tmp_path / "partial.yaml"
    partial.write_text("cluster:\n  n_themes: 3\n")
    assert load_config(partial).cluster.n_themes == 3
