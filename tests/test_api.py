"""The Python API: documents in (DataFrame, dicts, strings, paths), themes and tables out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pipeline import Pipeline, PipelineError
from pipeline.config import Config

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
FAST = {"embed": {"model": "hashing"}}
WORDS = {
    "flood": "river rain rescue boats villages water levels dam evacuation shelters flooding".split(),
    "vote": "parliament ballot election senators majority coalition minister budget opposition campaign".split(),
}


def frame(n=24):
    import random

    rng = random.Random(0)
    rows = []
    for i in range(n):
        subject = ["flood", "vote"][i % 2]
        text = " ".join(rng.choice(WORDS[subject]) for _ in range(16)).capitalize() + f" number {i}. " + \
            " ".join(rng.choice(WORDS[subject]) for _ in range(12)).capitalize() + "."
        rows.append({"text": text, "title": f"{subject} {i}", "date": pd.Timestamp(2024, 3, 1 + i % 20),
                     "source": ["A", "B", "C"][i % 3], "subject": subject, "score": float("nan")})
    return pd.DataFrame(rows)


def test_from_a_dataframe_to_a_themes_table_in_three_lines(tmp_path):
    df = frame()
    result = Pipeline(out=tmp_path / "run", **FAST).run(df)
    themes = result.to_pandas()
    assert list(themes.columns[:4]) == ["theme_id", "label", "keywords", "articles"]
    assert themes["articles"].sum() + len(result.unclustered) == len(df)
    assert len(themes) == len(result.themes) >= 2
    arts = result.to_pandas("articles")
    assert len(arts) == len(df) and set(arts["status"]) <= {"clustered", "unclustered"}
    assert arts["date"].str.match(r"2024-03-\d\d").all()  # Timestamps became ISO dates
    # documents of one subject share a theme
    assign = result.assignments()
    assert len(assign) == len(df)
    by_subject = {s: {assign[i] for i in df.index[df.subject == s]} - {None} for s in WORDS}
    assert not by_subject["flood"] & by_subject["vote"]
    assert (tmp_path / "run" / "report.html").exists()


def test_lists_of_dicts_strings_and_paths(tmp_path):
    texts = frame()["text"].tolist()
    assert len(Pipeline(**FAST).fit_transform(texts)) == len(texts)
    dicts = [{"text": t, "id": f"d{i}"} for i, t in enumerate(texts)]
    r = Pipeline(**FAST).run(dicts)
    assert sorted(r.to_pandas("articles")["input_id"]) == sorted(d["id"] for d in dicts)
    r = Pipeline(**FAST).run(SEEDS)
    assert len(r.articles) == 8 and r.to_pandas("articles")["status"].value_counts()["duplicate"] == 2
    with pytest.raises(PipelineError, match="assignments"):
        r.assignments()


def test_the_same_config_object_as_the_cli():
    cfg = Config()
    p = Pipeline(cfg, cluster={"min_size": 3}, **FAST)
    assert p.config.cluster.min_size == 3 and p.config.embed.model == "hashing"
    with pytest.raises(PipelineError, match="did you mean 'cluster.min_size'"):
        Pipeline(cluster={"min_sise": 3})
    with pytest.raises(PipelineError, match="should be a dict"):
        Pipeline(cluster=3)
    with pytest.raises(PipelineError, match="document 1 is a int"):
        Pipeline(**FAST).run(["a text", 3])


def test_export_tables_account_for_every_input_record(tmp_path):
    from typer.testing import CliRunner

    from pipeline.cli import app

    out = tmp_path / "run"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": ""}\nnot json\n')
    assert CliRunner().invoke(app, ["run", str(SEEDS), str(bad), "--out", str(out), "--set", "embed.model=hashing",
                                    "-q"]).exit_code == 0
    res = CliRunner().invoke(app, ["export", "--out", str(out)])
    assert res.exit_code == 0, res.output
    arts = pd.read_csv(out / "exports" / "articles.csv", encoding="utf-8-sig")
    assert len(arts) == 12  # 10 seed records (2 duplicates) and 2 rejected lines
    counts = arts["status"].value_counts().to_dict()
    assert counts["duplicate"] == 2 and counts["rejected"] == 2 and counts["clustered"] + counts.get("unclustered", 0) == 8
    parquet = pd.read_parquet(out / "exports" / "articles.parquet")
    assert parquet["input_id"].fillna("").tolist() == arts["input_id"].fillna("").astype(str).tolist()
    assert parquet["similarity"].dtype == "float64"
    themes = pd.read_parquet(out / "exports" / "themes.parquet")
    clusters = json.loads((out / "clusters.json").read_text())
    assert themes["theme_id"].tolist() == [t["id"] for t in clusters["themes"]]
    first = (out / "exports" / "themes.csv").read_bytes()
    CliRunner().invoke(app, ["export", "--out", str(out), "--format", "csv"])
    assert (out / "exports" / "themes.csv").read_bytes() == first  # stable
    res = CliRunner().invoke(app, ["export", "--out", str(out), "--format", "xlsx"])
    assert res.exit_code == 1 and "should be one of csv, parquet" in res.output


def test_update_from_a_notebook(tmp_path):
    from pipeline import Pipeline

    words = {"quake": "earthquake magnitude rescuers rubble aftershock epicentre seismic collapsed",
             "vote": "election ballots candidate polling turnout voters parliament coalition"}

    def docs(topic, start, n):
        w = words[topic].split()
        return [{"id": f"{topic}-{i}", "text": " ".join(f"The {w[(i + k) % 8]} and {w[(i + k + 3) % 8]} were "
                                                     f"reported near the {w[(i + k + 5) % 8]}." for k in range(4))}
                for i in range(start, start + n)]

    p = Pipeline(out=tmp_path / "run", embed={"model": "hashing"})
    first = p.run(docs("quake", 0, 6) + docs("vote", 0, 6), report=False)
    before = {t["id"] for t in first.themes}
    res = p.update(docs("quake", 6, 2) + [{"id": "copy", "text": docs("quake", 0, 1)[0]["text"]}], report=False)
    assert {t["id"] for t in res.themes} >= before
    assert res.changes["articles"]["new"] == 2 and res.changes["articles"]["joined_earlier"] == 1  # a copy joins its original
    got = res.assignments()
    assert len(got) == 3 and len(set(got)) == 1 and got[0] in before  # joined the quake theme
