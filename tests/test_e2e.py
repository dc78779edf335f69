"""End to end with the real packaged model: the seeds' themes, summaries and determinism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.schema import validate_summaries

pytestmark = pytest.mark.model
SEEDS = Path(__file__).resolve().parents[1] / "seeds"
IRAQ = {"Iraq Collaborates With NATO to Fight ISIS", "Global Coalition Expands Cooperation with Iraq",
        "Iraqi Army Launches 4th Phase of Iraqi Heroes Operation"}
GAZA = {"Netanyahu Offers Hamas Leaders Gaza Exit but Demands Group Disarm",
        "Israeli Strikes Kill 14 in Gaza and Destroy Heavy Equipment Needed to Clear Rubble",
        "Egypt Hosts Hamas in New Gaza Ceasefire Push, Looting Halts Aid"}


@pytest.fixture(scope="module")
def seeds_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    outs = []
    # a and b: each from an empty cache (everything computed twice); c: a again from a's cache.
    for name, cache in (("a", "cache1"), ("b", "cache2"), ("c", "cache1")):
        out = root / name
        # float32: the UN chief's Middle East article sits between the two themes, and int8 rounding (which differs
        # from CPU to CPU) can move it; the int8 backend has its own checks in test_embed.py
        res = CliRunner().invoke(app, ["run", str(SEEDS), "--out", str(out), "--set", f"embed.cache_dir={root / cache}",
                                       "--set", "embed.backend=onnx"])
        assert res.exit_code == 0, res.output
        outs.append(out)
    return outs


def titles(doc, ids):
    return {doc["articles"][a]["title"] for a in ids}


def test_seed_themes(seeds_runs):
    doc = json.loads((seeds_runs[0] / "summaries.json").read_text())
    groups = [titles(doc, t["articles"]) for t in doc["themes"]]
    assert IRAQ in groups, groups  # the Iraq theme is exactly these three
    gaza = [g for g in groups if GAZA <= g]
    assert len(gaza) == 1, groups
    labels = [t["label"] for t in doc["themes"]]
    assert len(set(labels)) == len(labels)
    assert all(2 <= len(lab.replace("·", " ").split()) <= 6 for lab in labels), labels
    iraq = next(t for t in doc["themes"] if titles(doc, t["articles"]) == IRAQ)
    assert any(w in iraq["label"].lower() for w in ("iraq", "isis", "coalition"))


def test_summaries_cite_exact_spans_within_budget(seeds_runs):
    doc = json.loads((seeds_runs[0] / "summaries.json").read_text())
    articles = [json.loads(x) for x in (seeds_runs[0] / "articles.jsonl").read_text().splitlines()]
    validate_summaries(doc, articles)
    for t in doc["themes"]:
        assert t["summary"], t["label"]
        assert sum(len(s["text"].split()) for s in t["summary"]) <= 100 or len(t["summary"]) == 1
        assert len({s["article_id"] for s in t["summary"]}) >= 1


def test_two_runs_give_the_same_bytes(seeds_runs):
    a, b, c = seeds_runs
    for name in ("articles.jsonl", "clusters.json", "embeddings/sentences.npy", "embeddings/articles.npy",
                 "embeddings/index.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    da, db = (json.loads((x / "summaries.json").read_text()) for x in (a, b))
    for doc in (da, db):
        doc["run"].pop("created")
        doc["run"]["config"]["embed"].pop("cache_dir")  # the runs used different caches on purpose
    assert da == db
    manifest = json.loads((b / "manifest.json").read_text())
    assert manifest["stages"]["embed"]["stats"]["n_computed"] > 0 and not manifest["stages"]["summarize"]["cached"]
    manifest = json.loads((c / "manifest.json").read_text())
    assert manifest["stages"]["embed"]["stats"]["n_computed"] == 0  # the third run came from the cache
    assert manifest["stages"]["cluster"]["cached"] and manifest["stages"]["summarize"]["cached"]
    for name in ("clusters.json", "embeddings/sentences.npy"):
        assert (a / name).read_bytes() == (c / name).read_bytes(), name
