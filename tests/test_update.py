"""`pipeline update`: new articles join existing themes; ids kept; only changed summaries rewritten; all or nothing."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline import PipelineError
from pipeline import artifacts as A
from pipeline import update as U
from pipeline.artifacts import RunFolder
from pipeline.cli import app
from pipeline.config import load_config
from pipeline.updating import run_update

HASHING = ["--set", "embed.model=hashing"]
PLACE = ["--set", "update.recluster_below=0"]  # always place, as a run folder past its first 2,000 articles does
TOPICS = {
    "quake": ["earthquake", "magnitude", "rescuers", "rubble", "aftershock", "epicentre", "seismic", "collapsed"],
    "vote": ["election", "ballots", "candidate", "polling", "turnout", "voters", "parliament", "coalition"],
    "match": ["football", "striker", "goal", "league", "coach", "stadium", "penalty", "champions"],
    "storm": ["hurricane", "flooding", "winds", "evacuation", "coastline", "rainfall", "landfall", "shelters"],
}


def _article(topic: str, i: int, rng: random.Random, day: int) -> dict:
    words = TOPICS[topic]
    sents = []
    for _ in range(4):
        picked = rng.sample(words, 5)
        sents.append(f"The {picked[0]} and the {picked[1]} were reported as {picked[2]} near the {picked[3]} "
                     f"with {picked[4]} {i} today.")
    return {"id": f"{topic}-{i}", "title": f"{topic.title()} report {i}", "text": " ".join(sents),
            "date": f"2017-03-{day:02d}", "label": topic}


def _batches(tmp_path: Path) -> tuple[Path, Path, list[dict]]:
    rng = random.Random(7)
    first = [_article(t, i, rng, 1 + i) for t in ("quake", "vote", "match") for i in range(8)]
    second = [_article(t, i, rng, 9 + i % 3) for t in ("quake", "vote") for i in range(8, 12)]
    second += [_article("storm", i, rng, 10) for i in range(6)]
    a, b = tmp_path / "day1.jsonl", tmp_path / "day2.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in first))
    b.write_text("".join(json.dumps(r) + "\n" for r in second))
    return a, b, first + second


def _run(tmp_path: Path, *args: str):
    res = CliRunner().invoke(app, [*args, *HASHING])
    assert res.exit_code == 0, res.output
    return res


def _by_input(out: Path) -> dict[str, str]:
    """Input record id -> article id (ingest gives articles ids of their own)."""
    arts = [json.loads(x) for x in (out / A.ARTICLES).read_text().splitlines()]
    return {src["input_id"]: a["id"] for a in arts for src in a["sources"]}


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def updated(tmp_path):
    a, b, _ = _batches(tmp_path)
    out = tmp_path / "run"
    _run(tmp_path, "run", str(a), "--out", str(out), "-q")
    before = {n: json.loads((out / n).read_text()) for n in (A.CLUSTERS, A.SUMMARIES)}
    res = _run(tmp_path, "update", str(b), "--out", str(out), *PLACE)
    return out, before, res


def test_update_keeps_ids_and_members(updated):
    out, before, res = updated
    after = json.loads((out / A.CLUSTERS).read_text())
    old_members = {t["id"]: {m["id"] for m in t["articles"]} for t in before[A.CLUSTERS]["themes"]}
    new_members = {t["id"]: {m["id"] for m in t["articles"]} for t in after["themes"]}
    assert set(old_members) <= set(new_members)  # no theme id lost
    for tid, ids in old_members.items():
        assert ids <= new_members[tid]  # no article moved out of its theme
    old_story = {s["id"]: {m["id"] for m in s["articles"]} for t in before[A.CLUSTERS]["themes"] for s in t["stories"]}
    new_story = {s["id"]: {m["id"] for m in s["articles"]} for t in after["themes"] for s in t["stories"]}
    for sid, ids in old_story.items():
        assert ids <= new_story[sid]
    # every article exactly once: in a theme or unclustered
    articles = [json.loads(x)["id"] for x in (out / A.ARTICLES).read_text().splitlines()]
    placed = [m["id"] for t in after["themes"] for m in t["articles"]] + after["unclustered"]
    assert sorted(placed) == sorted(articles) and len(articles) == 24 + 14
    # the new quake and vote articles joined their themes; the storm articles made a new theme
    ids = _by_input(out)
    theme_of = {m["id"]: t["id"] for t in after["themes"] for m in t["articles"]}
    for topic in ("quake", "vote"):
        assert {theme_of.get(ids[f"{topic}-{i}"]) for i in range(12)} == {theme_of[ids[f"{topic}-0"]]}
    storms = [theme_of.get(ids[f"storm-{i}"]) for i in range(6)]
    new_theme = max(set(storms) - {None}, key=storms.count)
    assert storms.count(new_theme) >= 5 and new_theme not in old_members  # the pool forms a new theme
    assert set(storms) <= {new_theme, None} and set(storms) - {None} <= set(new_members)
    assert "update 1: 14 new articles" in res.output
    assert json.loads((out / A.CHANGES).read_text())["mode"] == "place"


def test_changes_and_history(updated):
    out, before, _ = updated
    ch = json.loads((out / A.CHANGES).read_text())
    assert ch == json.loads((out / "updates/0001/changes.json").read_text())
    ids = _by_input(out)
    assert ch["articles"]["new"] == 14 and ch["articles"]["total"] == 38
    assert set(ch["new_articles"]) == {v for k, v in ids.items() if k.startswith("storm") or int(k.split("-")[1]) >= 8}
    theme_of_old = {m["id"]: t["id"] for t in before[A.CLUSTERS]["themes"] for m in t["articles"]}
    assert ch["themes"][theme_of_old[ids["quake-0"]]] == "grown"
    assert ch["themes"][theme_of_old[ids["match-0"]]] == "unchanged"
    grown = next(g for g in ch["groups"] if g["id"] == theme_of_old[ids["quake-0"]])
    assert grown["size_before"] == 8 and grown["size_after"] == 12
    assert sorted(grown["added"]) == sorted(ids[f"quake-{i}"] for i in range(8, 12))
    assert grown["first_date"] == "2017-03-01" and grown["last_date"] == "2017-03-11"
    assert list(ch["themes"].values()).count("new") == 1
    lines = [json.loads(x) for x in (out / A.HISTORY).read_text().splitlines()]
    assert [x["update"] for x in lines] == [0, 1] and lines[1]["articles"]["new"] == 14


def test_unchanged_summaries_are_not_rewritten(updated):
    out, before, _ = updated
    after = json.loads((out / A.SUMMARIES).read_text())
    ch = json.loads((out / A.CHANGES).read_text())
    old = {t["id"]: t for t in before[A.SUMMARIES]["themes"]}
    for t in after["themes"]:
        if ch["themes"][t["id"]] == "unchanged":
            assert t["summary"] == old[t["id"]]["summary"] and t["articles"] == old[t["id"]]["articles"]
        else:
            assert t["summary"], t["id"]
            assert {s["article_id"] for s in t["summary"]} <= set(t["articles"])
    assert set(after["articles"]) == {json.loads(x)["id"] for x in (out / A.ARTICLES).read_text().splitlines()}


def test_update_twice_with_same_input_and_other_config(updated, tmp_path):
    out, _, _ = updated
    b = tmp_path / "day2.jsonl"
    res = CliRunner().invoke(app, ["update", str(b), "--out", str(out), *HASHING])
    assert res.exit_code == 1 and "already read" in res.output and "Traceback" not in res.output
    c = tmp_path / "day3.jsonl"
    c.write_text(json.dumps({"id": "x", "text": "A new earthquake hit the coast today. Rescuers searched."}) + "\n")
    res = CliRunner().invoke(app, ["update", str(c), "--out", str(out), *HASHING, "--set", "cluster.min_size=3"])
    assert res.exit_code == 1
    assert res.output.count("\n") == 1 and "cluster.min_size=2" in res.output, res.output


def test_interrupted_update_leaves_folder_as_it_was(tmp_path, monkeypatch):
    a, b, _ = _batches(tmp_path)
    out = tmp_path / "run"
    _run(tmp_path, "run", str(a), "--out", str(out), "-q")
    before = _digests(out)
    cfg = load_config(None, ["embed.model=hashing", "update.recluster_below=0"])

    real = A._Staged.write_json

    def crash(self, name, obj, **kw):
        if name == A.HISTORY or name == A.CHANGES:
            raise KeyboardInterrupt  # the process is stopped mid-way through writing the update
        return real(self, name, obj, **kw)

    monkeypatch.setattr(A._Staged, "write_json", crash)
    with pytest.raises(KeyboardInterrupt):
        run_update([b], RunFolder(out), cfg)
    monkeypatch.undo()
    assert _digests(out) == before  # nothing half-written, no staging folder left
    changes = run_update([b], RunFolder(out), cfg)  # re-running completes it
    assert changes["articles"]["new"] == 14


def test_update_stopped_after_commit_is_finished_by_the_next_use(tmp_path, monkeypatch):
    a, b, _ = _batches(tmp_path)
    out, ref = tmp_path / "run", tmp_path / "ref"
    _run(tmp_path, "run", str(a), "--out", str(out), "-q")
    shutil.copytree(out, ref)
    cfg = load_config(None, ["embed.model=hashing", "update.recluster_below=0"])
    run_update([b], RunFolder(ref), cfg)

    def stop_after_two(self, stage, names):
        for name in names[:2]:
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            (stage / name).replace(self.root / name)
        raise KeyboardInterrupt

    monkeypatch.setattr(RunFolder, "_move_in", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        run_update([b], RunFolder(out), cfg)
    monkeypatch.undo()
    assert list(out.glob(A.TXN_PREFIX + "*"))  # committed but not moved in
    RunFolder(out)  # the next use rolls it forward
    assert not list(out.glob(A.TXN_PREFIX + "*"))
    for name in (A.CLUSTERS, A.ARTICLES):
        assert (out / name).read_bytes() == (ref / name).read_bytes()


def test_rebuild_maps_ids_by_overlap(updated):
    out, before, _ = updated
    res = CliRunner().invoke(app, ["update", "--rebuild", str(out.parent / "day3.jsonl"), "--out", str(out), *HASHING])
    assert res.exit_code == 1  # no such file: a clear error
    c = out.parent / "day3.jsonl"
    c.write_text(json.dumps({"id": "match-99", "text": "The football striker scored a goal in the league stadium. "
                             "The coach praised the penalty.", "date": "2017-03-12"}) + "\n")
    _run(out.parent, "update", "--rebuild", str(c), "--out", str(out))
    ch = json.loads((out / A.CHANGES).read_text())
    assert ch["rebuild"] is True and isinstance(ch["merged"], list) and isinstance(ch["split"], list)
    after = json.loads((out / A.CLUSTERS).read_text())
    old_ids = {t["id"] for t in before[A.CLUSTERS]["themes"]}
    assert old_ids <= {t["id"] for t in after["themes"]}  # clean topics: every old theme found again


def test_two_placement_updates_in_a_row(updated, tmp_path):
    """The placement state grows with each update, so the next update places against every earlier article."""
    from pipeline.cluster import PlacementState

    out, _, _ = updated
    state = PlacementState.from_bytes((out / A.CLUSTER_STATE).read_bytes())
    arts = [json.loads(x)["id"] for x in (out / A.ARTICLES).read_text().splitlines()]
    clusters = json.loads((out / A.CLUSTERS).read_text())
    assert state.ids == arts and state.theme_ids == [t["id"] for t in clusters["themes"]]
    assert state.knn_story.shape[0] == len(arts) == state.entities.shape[0] == len(state.days)
    row = {a: i for i, a in enumerate(arts)}
    for ti, t in enumerate(clusters["themes"]):
        assert all(state.theme[row[m["id"]]] == ti for m in t["articles"])
    rng = random.Random(3)
    c = tmp_path / "day3.jsonl"
    c.write_text("".join(json.dumps(_article("storm", i, rng, 11)) + "\n" for i in range(20, 24)))
    _run(tmp_path, "update", str(c), "--out", str(out), *PLACE)
    ids = _by_input(out)
    after = json.loads((out / A.CLUSTERS).read_text())
    theme_of = {m["id"]: t["id"] for t in after["themes"] for m in t["articles"]}
    storm_theme = max((t for t in clusters["themes"] if any(m["id"] == ids["storm-0"] for m in t["articles"])),
                      key=lambda t: t["size"])["id"]
    assert [theme_of.get(ids[f"storm-{i}"]) for i in range(20, 24)] == [storm_theme] * 4  # joined update 1's theme


def test_new_id_never_reuses():
    taken = {"theme-x"}
    assert U.new_id("theme-", "a", taken, current="theme-y") == "theme-y"
    gid = U.new_id("theme-", "a", taken, current="theme-x")
    assert gid.startswith("theme-") and gid != "theme-x"
    assert U.new_id("theme-", "a", taken | {gid}) != gid


def test_update_needs_a_finished_run(tmp_path):
    cfg = load_config(None, ["embed.model=hashing"])
    with pytest.raises(PipelineError, match="no finished run"):
        run_update([tmp_path], RunFolder(tmp_path / "nothing"), cfg)


def test_young_run_is_reclustered_with_ids_mapped(tmp_path):
    a, b, _ = _batches(tmp_path)
    out, one = tmp_path / "run", tmp_path / "one"
    _run(tmp_path, "run", str(a), "--out", str(out), "-q")
    before = json.loads((out / A.CLUSTERS).read_text())
    _run(tmp_path, "update", str(b), "--out", str(out))  # 38 articles < update.recluster_below
    ch = json.loads((out / A.CHANGES).read_text())
    assert ch["mode"] == "recluster"
    _run(tmp_path, "run", str(a), str(b), "--out", str(one), "-q")
    after, oneshot = (json.loads((p / A.CLUSTERS).read_text()) for p in (out, one))
    # the same partition as one run on all the articles...
    assert sorted(sorted(m["id"] for m in t["articles"]) for t in after["themes"]) == \
        sorted(sorted(m["id"] for m in t["articles"]) for t in oneshot["themes"])
    # ...with the earlier themes' ids carried over by member overlap
    old = {t["id"] for t in before["themes"]}
    assert old <= {t["id"] for t in after["themes"]}
    assert {g for g, st in ch["themes"].items() if st == "new"} == {t["id"] for t in after["themes"]} - old


def test_summary_stands_while_its_most_central_articles_do(monkeypatch):
    """A summary is chosen from a group's `summarize.max_articles` most central articles; an update that adds
    members outside them keeps it (with the new member list), one that changes them rewrites it."""
    import pipeline.updating as UP

    old_doc = {"themes": [{"id": "t", "label": "x", "articles": ["a", "b", "c"], "similarities": [0.9, 0.8, 0.7],
                           "summary": [{"article_id": "a", "start": 0, "end": 5, "text": "Hello"}], "stories": []}]}
    grown = {"themes": [{"id": "t", "label": "x", "size": 4, "stories": [],
                         "articles": [{"id": i, "similarity": s} for i, s in zip("abcd", (0.9, 0.8, 0.7, 0.6))]}]}
    solved = []

    def fake(groups, *a, **k):
        solved.extend(g["id"] for g in groups)
        return [{"id": g["id"], "summary": ["new"], "stories": []} for g in groups]

    monkeypatch.setattr(UP, "summarize_groups", fake)
    cfg = load_config(None, ["summarize.max_articles=2"])
    out = UP._resummarize(old_doc, grown, {"t"}, [], None, None, cfg)
    assert solved == [] and out[0]["summary"] == old_doc["themes"][0]["summary"]
    assert out[0]["articles"] == ["a", "b", "c", "d"] and out[0]["similarities"][-1] == 0.6
    grown["themes"][0]["articles"].insert(0, {"id": "e", "similarity": 0.95})  # a new most central article
    out = UP._resummarize(old_doc, grown, {"t"}, [], None, None, cfg)
    assert solved == ["t"] and out[0]["summary"] == ["new"]


def test_run_folder_of_an_older_version_without_a_new_key(updated, tmp_path):
    """A key added to the config since the run folder was made counts as its default, not as a difference."""
    out, _, _ = updated
    m = json.loads((out / A.MANIFEST).read_text())
    del m["config"]["summarize"]["max_articles"]
    (out / A.MANIFEST).write_text(json.dumps(m))
    c = tmp_path / "day3.jsonl"
    c.write_text(json.dumps(_article("match", 30, random.Random(1), 12)) + "\n")
    _run(tmp_path, "update", str(c), "--out", str(out), *PLACE)
    res = CliRunner().invoke(app, ["update", str(c), "--out", str(out), *HASHING, "--set", "summarize.max_articles=7"])
    assert res.exit_code == 1 and "summarize.max_articles" in res.output


# ------------------------------------------------------------------------------------ house text over the collection
FOOTERS = {"alpha.example": "Alpha Daily is read by families across the valley every single morning.",
           "beta.example": "Beta Wire stories are checked twice by our desk before they are sent out."}


def _outlet_records(outlet: str, topics: list[str], n: int, start: int, day0: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for k in range(n):
        i = start + k
        topic = topics[k % len(topics)]
        body = _article(topic, i, rng, day0 + k % 4)
        paras = body["text"].split(". ")
        text = ".\n\n".join([". ".join(paras[:2]), ". ".join(paras[2:])]).rstrip(".") + ".\n\n" + FOOTERS[outlet]
        out.append({**body, "id": f"{outlet[0]}{i}", "text": text, "source": outlet})
    return out


def _house_batches(tmp_path: Path) -> tuple[Path, Path]:
    # day 1: 6 articles of each outlet, too few for an outlet's repeats to count as house text (MIN_GROUP = 10)
    one = _outlet_records("alpha.example", ["quake", "vote"], 6, 0, 1, 1) + \
        _outlet_records("beta.example", ["match", "storm"], 6, 100, 1, 2)
    # day 2: 8 more of alpha only: alpha has 14 now, its footer is house text in all of them
    two = _outlet_records("alpha.example", ["quake", "vote"], 8, 6, 6, 3)
    a, b = tmp_path / "h1.jsonl", tmp_path / "h2.jsonl"
    a.write_text("".join(json.dumps(r) + "\n" for r in one))
    b.write_text("".join(json.dumps(r) + "\n" for r in two))
    return a, b


def _articles(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / A.ARTICLES).read_text().splitlines()]


def test_update_learns_house_text_over_the_whole_outlet(tmp_path):
    a, b = _house_batches(tmp_path)
    out = tmp_path / "run"
    _run(tmp_path, "run", str(a), "--out", str(out), "-q")
    before = {x["id"]: x for x in _articles(out)}
    footer_in = lambda art: any(FOOTERS["alpha.example"] in art["text"][s:e] for s, e in art["sentences"])  # noqa: E731
    old_alpha = [x for x in before.values() if x["source"] == "alpha.example"]
    assert old_alpha and all(footer_in(x) and not x["boilerplate"] for x in old_alpha)
    _run(tmp_path, "update", str(b), "--out", str(out), "-q")
    after = {x["id"]: x for x in _articles(out)}
    for x in old_alpha:
        y = after[x["id"]]
        assert y["text"] == x["text"]  # text and offsets never change, only the spans
        assert not footer_in(y)
        assert any(y["text"][s:e].strip() == FOOTERS["alpha.example"] for s, e in y["boilerplate"])
        assert y["sentences"] == [s for s in x["sentences"] if FOOTERS["alpha.example"] not in y["text"][s[0]:s[1]]]
    for x in before.values():  # beta got nothing new: its articles are as they were
        if x["source"] == "beta.example":
            assert after[x["id"]] == x
    changes = json.loads((out / A.CHANGES).read_text())
    assert changes["house_text"]["remarked"] == len(old_alpha) == len(changes["house_text"]["remarked_ids"])
    # the embedded sentences are those of the new spans: one row per lead sentence, none of them the footer
    rows = np.load(out / A.SENTENCE_ROWS)
    arts = _articles(out)
    cfg = load_config(None, [])
    lead = cfg.embed.lead_sentences
    want = [(r, j) for r, art in enumerate(arts) for j in range(len(art["sentences"][:lead] if lead else
                                                                   art["sentences"]))]
    assert [tuple(r) for r in rows.tolist()] == want


def test_streamed_equals_one_shot_on_a_multi_outlet_set(tmp_path):
    a, b = _house_batches(tmp_path)
    one, stream = tmp_path / "one", tmp_path / "stream"
    _run(tmp_path, "run", str(a), str(b), "--out", str(one), "-q")
    _run(tmp_path, "run", str(a), "--out", str(stream), "-q")
    _run(tmp_path, "update", str(b), "--out", str(stream), "-q")
    keys = ("id", "text", "date", "source", "sentences", "boilerplate")
    assert [{k: x[k] for k in keys} for x in _articles(stream)] == [{k: x[k] for k in keys} for x in _articles(one)]
    np.testing.assert_allclose(np.load(stream / A.ARTICLE_VECTORS), np.load(one / A.ARTICLE_VECTORS), atol=1e-6)
    part = lambda out: sorted(sorted(m["id"] for m in t["articles"])  # noqa: E731
                              for t in json.loads((out / A.CLUSTERS).read_text())["themes"])
    assert part(stream) == part(one)


def test_placement_relearns_an_outlet_once_it_has_grown_enough():
    from pipeline.ingest.update import outlet_key, outlets_to_relearn

    arts = [{"source": "a"}] * 100 + [{"source": None}] * 50 + [{"source": "a"}] * 5 + [{"source": None}] * 5
    n_old = 150
    assert outlets_to_relearn(arts, n_old, {}, None) == {"a", None}  # the exact rule: every outlet with news
    assert outlets_to_relearn(arts, n_old, {}, 0.1) == {None}  # a grew by 5 %, the unnamed group by 10 %
    assert outlets_to_relearn(arts, n_old, {outlet_key("a"): 95}, 0.1) == {"a", None}  # a: 105 >= 1.1 x 95
    assert outlets_to_relearn(arts, n_old, {outlet_key(None): 51}, 0.1) == set()


def test_top_rows_in_chunks_equals_a_full_sort():
    from pipeline.cluster.place import _top_rows

    rng = np.random.default_rng(0)
    q, x = rng.normal(size=(7, 16)).astype(np.float32), rng.normal(size=(50, 16)).astype(np.float32)
    full = np.argsort(-(q @ x.T), axis=1, kind="stable")
    for k, chunk in [(5, 8), (5, 3), (1, 50), (60, 7)]:
        np.testing.assert_array_equal(_top_rows(q, x, k, chunk=chunk), full[:, : min(k, 50)])


def test_summary_rows_cover_the_theme_of_a_changed_story():
    """A story can change while its theme does not (members moved between its stories); the theme is solved with its
    stories, so the summaries must see the theme's members too (an update crashed with a KeyError here)."""
    from pipeline.updating import _summary_rows

    def group(gid, ids):
        return {"id": gid, "articles": [{"id": i} for i in ids]}

    clusters = {"themes": [
        {**group("t1", ["a", "b", "c", "d"]), "stories": [group("s1", ["a", "b"]), group("s2", ["c", "d"])]},
        {**group("t2", ["e", "f"]), "stories": [group("s3", ["e", "f"])]},
    ]}
    row_of = {k: i for i, k in enumerate("abcdef")}
    assert _summary_rows(clusters, {"s1"}, None, row_of) == [0, 1, 2, 3]  # the whole theme t1, not only s1
    assert _summary_rows(clusters, {"t2"}, None, row_of) == [4, 5]
    assert _summary_rows(clusters, {"s2"}, 1, row_of) == [0, 2]  # each group's `cap` most central
    assert _summary_rows(clusters, set(), None, row_of) == []
