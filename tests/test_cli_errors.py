"""The CLI's messages: one clear line for a mistake, hints that name what exists, readable help, quiet warnings."""

from __future__ import annotations

import warnings
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_missing_config_file_is_one_line_and_exit_1(tmp_path):
    res = invoke("run", SEEDS, "--out", tmp_path / "o", "--config", tmp_path / "nope.yaml")
    assert res.exit_code == 1
    assert res.output.strip() == f"error: config file not found: {tmp_path / 'nope.yaml'}"


def test_unknown_keys_get_a_did_you_mean():
    res = invoke("config", "--set", "cluster.min_sise=3")
    assert res.exit_code == 1
    assert res.output.strip() == "error: unknown config key 'cluster.min_sise'; did you mean 'cluster.min_size'?"
    assert "did you mean 'cluster'?" in invoke("config", "--set", "clustr.min_size=3").output
    assert "`pipeline config` lists the keys" in invoke("config", "--set", "zzz=1").output


def test_help_is_plain_text_with_flags_and_brackets_intact():
    res = invoke("evaluate", "--help")
    assert "JSON {group: [reference summary, ...]} for ROUGE." in res.output
    assert "<bool>" not in res.output and "-v, --verbose" in res.output
    assert "--labels FIELD" in res.output and "--set KEY=VALUE" in res.output


def test_library_warnings_become_one_line_and_vanish_with_quiet(tmp_path, monkeypatch):
    from pipeline import runner

    real = runner.run_ingest

    def noisy(*args, **kwargs):
        warnings.warn("something odd in the input\nsecond line of detail", UserWarning, stacklevel=1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "run_ingest", noisy)
    res = invoke("ingest", SEEDS, "--out", tmp_path / "o")
    assert res.exit_code == 0
    assert "warning: something odd in the input\n" in res.output and "second line" not in res.output
    assert "UserWarning" not in res.output
    res = invoke("ingest", SEEDS, "--out", tmp_path / "o", "-q")
    assert res.exit_code == 0 and res.output == ""
