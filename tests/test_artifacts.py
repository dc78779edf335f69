"""The run folder: atomic writes with a readable mode, and transactions that are all or nothing."""

from __future__ import annotations

import json
import os
import stat

import pytest

from pipeline.artifacts import FILE_MODE, TXN_COMMIT, RunFolder


def test_artifacts_are_readable_by_others_like_any_file(tmp_path):
    rf = RunFolder(tmp_path / "run")
    for p in (rf.write_json("a.json", {"x": 1}), rf.write_text("r.html", "<p>"), rf.write_jsonl("l.jsonl", [{}])):
        assert stat.S_IMODE(p.stat().st_mode) == FILE_MODE
    mask = os.umask(0)
    os.umask(mask)
    assert FILE_MODE == 0o666 & ~mask  # what open() gives, not mkstemp's private 0600


def test_a_transaction_is_invisible_until_it_ends(tmp_path):
    rf = RunFolder(tmp_path / "run")
    rf.write_json("a.json", {"v": 1})
    with rf.transaction() as tx:
        tx.write_json("a.json", {"v": 2})
        tx.write_json("sub/b.json", {"v": 2})
        assert tx.read_json("a.json") == {"v": 2}  # the transaction sees its own writes
        assert rf.read_json("a.json") == {"v": 1} and not rf.exists("sub/b.json")
    assert rf.read_json("a.json") == {"v": 2} and rf.read_json("sub/b.json") == {"v": 2}
    assert not list((tmp_path / "run").glob(".txn-*"))


def test_a_failed_transaction_changes_nothing(tmp_path):
    rf = RunFolder(tmp_path / "run")
    rf.write_json("a.json", {"v": 1})
    with pytest.raises(RuntimeError), rf.transaction() as tx:
        tx.write_json("a.json", {"v": 2})
        raise RuntimeError("stopped")
    assert rf.read_json("a.json") == {"v": 1}
    assert not list((tmp_path / "run").glob(".txn-*"))


def test_an_interrupted_transaction_is_undone_before_and_finished_after_its_commit(tmp_path):
    root = tmp_path / "run"
    rf = RunFolder(root)
    rf.write_json("a.json", {"v": 1})
    # killed while staging: no commit file
    stage = root / ".txn-dead1"
    (stage / "sub").mkdir(parents=True)
    (stage / "a.json").write_text(json.dumps({"v": 9}))
    assert RunFolder(root).recover() == [] and not stage.exists()  # the constructor already cleaned it
    assert rf.read_json("a.json") == {"v": 1}
    # killed while moving, after the commit point: one file moved, one not yet
    stage = root / ".txn-dead2"
    stage.mkdir()
    (stage / "b.json").write_text(json.dumps({"v": 3}))
    (stage / TXN_COMMIT).write_text(json.dumps({"files": ["a.json", "b.json"]}))
    os.replace(stage / "b.json", root / "b.json")
    (stage / "a.json").write_text(json.dumps({"v": 3}))
    RunFolder(root)
    assert rf.read_json("a.json") == {"v": 3} and rf.read_json("b.json") == {"v": 3}
    assert not stage.exists()
