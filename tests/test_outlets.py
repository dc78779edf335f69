"""Outlets through the whole pipeline: house text stays out of keywords and labels; evaluate shows outlet shares."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from pipeline.cli import app

FAST = ["--set", "embed.model=hashing"]
WORDS = {
    "flood": "river rain rescue boats villages water levels dam evacuation shelters".split(),
    "vote": "parliament ballot election senators majority coalition minister budget opposition campaign".split(),
}


def feed(tmp_path, n=40, seed=0):
    """Two subjects covered by two outlets each with its own dateline and footer; outlet independent of subject."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        subject = ["flood", "vote"][i % 2]
        outlet = rng.choice(["Zephyr Gazette", "Quorra Wire"])
        words = WORDS[subject]
        body = " ".join(rng.choice(words) for _ in range(14))
        more = " ".join(rng.choice(words) for _ in range(12))
        if outlet == "Zephyr Gazette":
            text = (f"LONDON (Zephyr Gazette) — The {subject} story {body} number {i}.\n\nThe {more} again.\n\n"
                    "Zephyr Gazette thanks its readers for their support every single day.")
        else:
            text = (f"PARIS, May {i % 27 + 1} /QUORRA/ - The {subject} story {body} number {i}.\n\nThe {more} too.\n\n"
                    "Follow Quorra Wire on social media for breaking news alerts.")
        rows.append({"id": f"r{i}", "title": f"{subject} {i}", "text": text, "source": outlet, "subject": subject})
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_house_text_never_reaches_keywords_labels_or_summaries(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(feed(tmp_path)), "--out", str(out), *FAST, "-q"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "summaries.json").read_text())
    clusters = json.loads((out / "clusters.json").read_text())
    house = {"zephyr", "gazette", "quorra", "wire", "follow", "readers", "london", "paris"}
    for t in clusters["themes"]:
        for g in [t, *t["stories"]]:
            words = {w for k in g["keywords"] for w in k.lower().split()} | set(g["label"].lower().split())
            assert not words & house, (g["label"], g["keywords"])
    for t in doc["themes"]:
        for s in t["summary"]:
            assert not any(h in s["text"].lower() for h in ("zephyr", "quorra", "(", "/")), s["text"]
    report = json.loads((out / "ingest_report.json").read_text())["boilerplate"]
    assert report["articles_marked"] == 40
    assert set(report["by_source"]) == {"Zephyr Gazette", "Quorra Wire"}


def test_evaluate_shows_the_outlet_share_of_the_largest_themes(tmp_path):
    out = tmp_path / "run"
    assert CliRunner().invoke(app, ["run", str(feed(tmp_path)), "--out", str(out), *FAST, "-q"]).exit_code == 0
    res = CliRunner().invoke(app, ["evaluate", "--out", str(out), "--labels", "subject"])
    assert res.exit_code == 0, res.output
    assert "share of their largest outlet (2 outlets in all)" in res.output
    ev = json.loads((out / "evaluation.json").read_text())
    themes = ev["outlets"]["themes"]
    clusters = json.loads((out / "clusters.json").read_text())["themes"]
    assert [t["theme"] for t in themes] == [t["id"] for t in clusters][: len(themes)]
    arts = {json.loads(x)["id"]: json.loads(x)["source"] for x in (out / "articles.jsonl").read_text().splitlines()}
    for t, c in zip(themes, clusters):
        sources = [arts[m["id"]] for m in c["articles"]]
        assert t["top_share"] == round(max(sources.count(s) for s in set(sources)) / len(sources), 4)
    # without labels: the outlet shares alone
    res = CliRunner().invoke(app, ["evaluate", "--out", str(out)])
    assert res.exit_code == 0 and "largest outlet" in res.output
