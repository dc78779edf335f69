"""Every CLI command through Typer's CliRunner, with the model-free hashing embedder for speed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.schema import validate_summaries

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
FAST = ["--set", "embed.model=hashing"]

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def commands() -> list[str]:
    import typer.main

    group = typer.main.get_command(app)
    return sorted(group.commands)


def test_every_command_has_help_with_an_example():
    names = commands()
    assert {"ingest", "embed", "cluster", "summarize", "report", "evaluate", "run", "config"} <= set(names)
    for name in names:
        res = invoke(name, "--help")
        assert res.exit_code == 0, name
        assert "Example" in res.output, f"`pipeline {name} --help` shows no example"
        assert "--verbose" in res.output or name == "config", name


def test_top_level_help_and_version():
    res = invoke("--help")
    assert res.exit_code == 0 and "ingest" in res.output
    res = invoke("--version")
    assert res.exit_code == 0 and res.output.startswith("pipeline ")


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    res = invoke("run", SEEDS, "--out", out, *FAST)
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "summaries.json").read_text())
    for t in doc["themes"]:  # `run` prints every theme and its summary
        assert f"## {t['label']}" in res.stdout
        assert all(s["text"][:40] in res.stdout.replace("\n   ", " ") for s in t["summary"])
    return out


def test_run_writes_every_artifact(seeds_run):
    for name in ("articles.jsonl", "ingest_report.json", "embeddings/sentences.npy", "embeddings/articles.npy",
                 "embeddings/index.json", "embeddings/sentence_rows.npy", "clusters.json", "summaries.json",
                 "report.html", "manifest.json"):
        assert (seeds_run / name).exists(), name
    manifest = json.loads((seeds_run / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"ingest", "embed", "cluster", "summarize", "report"}
    assert all(manifest["stages"][s]["seconds"] >= 0 for s in manifest["stages"])
    assert len(manifest["stages"]["ingest"]["inputs"]) == 5
    assert all(len(i["sha256"]) == 64 for i in manifest["stages"]["ingest"]["inputs"])
    assert manifest["versions"]["pipeline"] and manifest["versions"]["numpy"]
    assert manifest["config"]["embed"]["model"] == "hashing"


def test_summaries_valid_and_every_article_accounted_for(seeds_run):
    doc = json.loads((seeds_run / "summaries.json").read_text())
    articles = [json.loads(x) for x in (seeds_run / "articles.jsonl").read_text().splitlines()]
    validate_summaries(doc, articles)
    placed = [a for t in doc["themes"] for a in t["articles"]] + doc["unclustered"]
    assert sorted(placed) == sorted(a["id"] for a in articles)
    assert set(doc["articles"]) == {a["id"] for a in articles}


def test_stages_one_by_one_give_the_same_bytes(seeds_run, tmp_path):
    out = tmp_path / "again"
    fresh = ("--set", f"embed.cache_dir={tmp_path / 'cache'}")  # recompute every stage, no cached result
    for args in (("ingest", SEEDS), ("embed",), ("cluster",), ("summarize",), ("report",)):
        res = invoke(*args, "--out", out, *FAST, *fresh, "-q")
        assert res.exit_code == 0, res.output
        assert res.output == ""
    for name in ("articles.jsonl", "clusters.json", "embeddings/index.json"):
        assert (out / name).read_bytes() == (seeds_run / name).read_bytes(), name
    a = json.loads((out / "summaries.json").read_text())
    b = json.loads((seeds_run / "summaries.json").read_text())
    for doc in (a, b):
        doc["run"].pop("created")
        doc["run"]["config"]["embed"].pop("cache_dir")
    assert a == b


def test_summarize_group_by_field(tmp_path):
    data = tmp_path / "in.jsonl"
    rows = [
        {"id": str(i), "title": f"T{i}", "text": f"Story {g} sentence one about {g} events number {i}. "
         f"A second sentence about {g} follows here with more words.", "label": g}
        for i, g in enumerate(["alpha", "alpha", "beta", "beta", "beta"])
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "o"
    assert invoke("ingest", data, "--out", out).exit_code == 0
    assert invoke("embed", "--out", out, *FAST).exit_code == 0
    res = invoke("summarize", "--out", out, "--group-by", "label", *FAST)
    assert res.exit_code == 0, res.output
    assert "## alpha  (2 articles" in res.stdout and "## beta  (3 articles" in res.stdout
    doc = json.loads((out / "summaries.json").read_text())
    assert [t["label"] for t in doc["themes"]] == ["alpha", "beta"]
    assert [len(t["articles"]) for t in doc["themes"]] == [2, 3]
    assert all(t["summary"] for t in doc["themes"])
    refs = tmp_path / "refs.json"
    refs.write_text(json.dumps({"alpha": ["Story alpha sentence one about alpha events."],
                                "beta": ["A second sentence about beta follows."]}))
    res = invoke("evaluate", "--out", out, "--references", refs, "--words", 20)
    assert res.exit_code == 0, res.output
    assert "ROUGE (20 words, 2 groups)" in res.output
    ev = json.loads((out / "evaluation.json").read_text())
    assert 0 < ev["rouge"]["rouge1_recall"] <= 100


def test_evaluate_labels(seeds_run, tmp_path):
    res = invoke("evaluate", "--out", seeds_run, "--labels", "nolabel")
    assert res.exit_code == 1 and "no article has the field 'nolabel'" in res.output


def test_evaluate_needs_something():
    res = invoke("evaluate", "--out", "nowhere")
    assert res.exit_code == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (("ingest", "does-not-exist"), "error: input not found: does-not-exist"),
        (("ingest", SEEDS, "--set", "cluster.min_size=abc"), "config key 'cluster.min_size'='abc'"),
        (("ingest", SEEDS, "--set", "cluster.nope=1"), "unknown config key 'cluster.nope'"),
        (("ingest", SEEDS, "--set", "oops"), "expected KEY=VALUE"),
        (("cluster", "--out", "no-such-run"), "run `pipeline ingest --out no-such-run` first"),
        (("report", "--out", "no-such-run"), "run `pipeline summarize --out no-such-run` first"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_1(args, message):
    res = invoke(*args)
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert message in lines[0]
    assert "Traceback" not in res.output


def test_verbose_shows_traceback():
    res = invoke("ingest", "does-not-exist", "-v")
    assert res.exit_code == 1 and "Traceback" in res.output


def test_only_bad_input_fails_ingest(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)))
    res = invoke("ingest", tmp_path, "--out", tmp_path / "o")
    assert res.exit_code == 1
    assert "no usable article in 2 input file(s): 2 rejected" in res.output


def test_config_command_prints_and_stamps(tmp_path):
    res = invoke("config", "--set", "cluster.n_themes=4")
    assert res.exit_code == 0 and "n_themes: 4" in res.output
    stamps = tmp_path / "stamps"
    assert invoke("config", "--stamps", stamps).exit_code == 0
    before = {p.name: p.stat().st_mtime_ns for p in stamps.iterdir()}
    assert set(before) == {"ingest.json", "embed.json", "cluster.json", "summarize.json", "report.json",
                           "evaluate.json", "update.json"}
    import time

    time.sleep(0.01)
    assert invoke("config", "--stamps", stamps, "--set", "cluster.n_themes=2").exit_code == 0
    after = {p.name: p.stat().st_mtime_ns for p in stamps.iterdir()}
    assert [n for n in before if before[n] != after[n]] == ["cluster.json"]
