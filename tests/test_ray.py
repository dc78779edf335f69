"""The Ray engine: same bytes as the local engine, shared vector cache, a killed actor retried, clear errors.

The tests that need Ray start a local Ray of 2 CPUs (once for the module) and are skipped when the ``ray`` extra is
not installed; the local-engine and error tests run everywhere.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline import artifacts as A
from pipeline import runner
from pipeline.artifacts import RunFolder
from pipeline.config import load_config
from pipeline.engines import EngineError, get_engine

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATA = ROOT.parent / "shared" / "data"


def _cfg(tmp: Path, engine: str, *extra: str, model: str = "hashing", cache: bool = False):
    """A config on ``engine``; without ``cache`` no vector or stage cache (each engine computes its own answer),
    with ``tmp`` as the cache folder either way (it also holds the model's ONNX export)."""
    return load_config(None, [f"engine={engine}", f"embed.model={model}", f"embed.cache_dir={tmp}",
                              f"embed.use_cache={str(cache).lower()}", "ray.num_cpus=2", *extra])


def _pipeline(inputs: list[Path], out: Path, cfg) -> RunFolder:
    run = RunFolder(out)
    runner.run_ingest(inputs, run, cfg)
    runner.run_embed(run, cfg)
    runner.run_cluster(run, cfg)
    runner.run_summarize(run, cfg)
    return run


def _answer(run: RunFolder) -> tuple[bytes, bytes]:
    """clusters.json and summaries.json as bytes, the run's timestamp blanked."""
    doc = json.loads(run.path(A.SUMMARIES).read_text(encoding="utf-8"))
    assert doc["run"]["created"]
    doc["run"]["created"] = None
    return run.path(A.CLUSTERS).read_bytes(), json.dumps(doc, sort_keys=True).encode()


def _synthetic_jsonl(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` articles of 5 sentences drawn from 12 topics' vocabularies (hashing vectors cluster them)."""
    rng = np.random.default_rng(seed)
    common = "the a of in on said officials week report people".split()
    topics = [[f"t{k}w{j}" for j in range(30)] for k in range(12)]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            words = topics[int(rng.integers(12))]
            sents = []
            for _ in range(5):
                ws = list(rng.choice(words, 7)) + list(rng.choice(common, 3)) + [f"n{i}x{len(sents)}"]
                rng.shuffle(ws)
                sents.append(" ".join(ws).capitalize() + ".")
            fh.write(json.dumps({"id": f"s{i}", "title": f"Story {i}", "text": " ".join(sents)}) + "\n")
    return path


# ------------------------------------------------------------------------------------------ without Ray


def test_local_engine_never_imports_ray(tmp_path):
    code = ("import sys; from pipeline.config import load_config; from pipeline.engines import get_engine; "
            "from pipeline import runner; e = get_engine(load_config(None, [])); "
            "assert e.name == 'local' and e.mapper is None and e.solver is None; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_ray_engine_without_ray_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(EngineError) as err:
        get_engine(_cfg(tmp_path, "ray"))
    msg = str(err.value)
    assert "pip install" in msg and "[ray]" in msg and "\n" not in msg

    from typer.testing import CliRunner

    from pipeline.cli import app

    res = CliRunner().invoke(app, ["run", str(SEEDS), "--out", str(tmp_path / "o"), "--engine", "ray",
                                   "--set", "embed.model=hashing"])
    assert res.exit_code == 1
    assert res.output.strip().splitlines()[-1].startswith("error: engine=ray needs Ray")
    assert "Traceback" not in res.output


def test_unreachable_ray_address_fails_fast_with_one_line(tmp_path):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray is already connected in this process (the engine reuses it)")
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineError) as err:
        get_engine(_cfg(tmp_path, "ray", f"ray.address=127.0.0.1:{port}"))
    assert str(err.value).startswith(f"cannot reach the Ray cluster at ray.address='127.0.0.1:{port}'")
    assert "\n" not in str(err.value)


def test_unknown_engine_is_a_config_error(tmp_path):
    from pipeline.config import ConfigError

    with pytest.raises(ConfigError, match="engine"):
        load_config(None, ["engine=spark"])


# ------------------------------------------------------------------------------------------ with Ray


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    from pipeline import engines

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    engines._ENGINES.clear()
    if started:
        ray.shutdown()


def test_same_bytes_as_local_on_seeds(ray_local, tmp_path):
    local = _pipeline([SEEDS], tmp_path / "local", _cfg(tmp_path / "c", "local"))
    ray = _pipeline([SEEDS], tmp_path / "ray", _cfg(tmp_path / "c", "ray", "ray.block_rows=32", "ray.batch_size=8"))
    assert _answer(ray) == _answer(local)
    assert get_engine(_cfg(tmp_path / "c", "ray", "ray.block_rows=32", "ray.batch_size=8")).stats["blocks"] > 2
    assert json.loads(ray.path(A.CLUSTERS).read_text())["themes"]  # a real answer, not two empty ones


def test_same_bytes_as_local_on_multiling(ray_local, tmp_path):
    path = DATA / "multiling2011" / "articles.jsonl"
    if not path.exists():
        pytest.skip("shared data not available")
    local = _pipeline([path], tmp_path / "local", _cfg(tmp_path / "c", "local"))
    ray = _pipeline([path], tmp_path / "ray", _cfg(tmp_path / "c", "ray", "ray.block_rows=500"))
    assert _answer(ray) == _answer(local)
    doc = json.loads(ray.path(A.SUMMARIES).read_text())
    assert len(doc["themes"]) >= 2 and all(t["summary"] for t in doc["themes"])


def test_micro_clusters_in_blocks_match_the_local_loop(ray_local, monkeypatch):
    """Above MAX_LEAVES articles the Lloyd passes are maps over blocks: as Ray tasks they give the same bits."""
    from pipeline.cluster import tree as C

    monkeypatch.setattr(C, "LEAF_BLOCK", 700)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 24)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    mapper = get_engine(load_config(None, ["engine=ray", "ray.num_cpus=2"])).mapper
    calls = []

    def counting(fn, items, *shared):
        calls.append(len(items))
        return mapper(fn, items, *shared)

    here = C._leaves(x, 400, 0)
    there = C._leaves(x, 400, 0, counting)
    assert calls == [5] * (C.LEAF_ITERATIONS + 1)  # 3000 rows in blocks of 700, every pass
    for a, b in zip(here, there):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert 300 < len(here[2]) <= 400 and here[2].sum() == 3000


def test_same_bytes_above_max_leaves(ray_local, tmp_path, monkeypatch):
    """The micro-cluster path of the whole cluster stage (MAX_LEAVES lowered so it runs on 600 articles; on the
    driver only, so the themes stay under 150 articles, where a story task's own tree is the same either way)."""
    from pipeline.cluster import tree as C

    monkeypatch.setattr(C, "MAX_LEAVES", 150)
    monkeypatch.setattr(C, "LEAF_BLOCK", 128)
    data = _synthetic_jsonl(tmp_path / "s.jsonl", 600)
    local = _pipeline([data], tmp_path / "local", _cfg(tmp_path / "c", "local"))
    ray = _pipeline([data], tmp_path / "ray", _cfg(tmp_path / "c", "ray"))
    assert _answer(ray) == _answer(local)
    assert json.loads(ray.path(A.CLUSTERS).read_text())["params"]["n_leaves"] == 150


def test_vector_cache_is_shared_between_engines(ray_local, tmp_path):
    from pipeline.embed import FakeEmbedder

    cache = tmp_path / "cache"
    r_cfg, l_cfg = _cfg(cache, "ray", cache=True), _cfg(cache, "local", cache=True)
    eng = get_engine(r_cfg)
    # ray first: every sentence computed by the actors, stored through the driver's cache
    run_r = RunFolder(tmp_path / "r")
    runner.run_ingest([SEEDS], run_r, r_cfg)
    emb = eng.embedder(r_cfg, base=FakeEmbedder(dim=256, cache_dir=cache))
    runner.run_embed(run_r, r_cfg, embedder=emb)
    assert emb.stats["n_cached"] == 0 and emb.stats["n_computed"] > 100
    n = emb.stats["n_computed"]
    # then local on the same cache: nothing left to compute, the same vectors
    run_l = RunFolder(tmp_path / "l")
    runner.run_ingest([SEEDS], run_l, l_cfg)
    local = FakeEmbedder(dim=256, cache_dir=cache)
    runner.run_embed(run_l, l_cfg, embedder=local)
    assert local.stats["n_cached"] == n and local.stats["n_computed"] == 0
    assert run_l.path(A.SENTENCE_VECTORS).read_bytes() == run_r.path(A.SENTENCE_VECTORS).read_bytes()
    # and ray again: all hits, no Ray job at all
    eng.stats = {}
    again = eng.embedder(r_cfg, base=FakeEmbedder(dim=256, cache_dir=cache))
    runner.run_embed(run_r, r_cfg, embedder=again)
    assert again.stats["n_computed"] == 0 and eng.stats == {}


def test_killed_actor_is_restarted_and_the_output_is_the_same(ray_local, tmp_path):
    data = _synthetic_jsonl(tmp_path / "s.jsonl", 1500, seed=1)
    local = _pipeline([data], tmp_path / "local", _cfg(tmp_path / "c", "local"))
    cfg = _cfg(tmp_path / "c", "ray", "ray.block_rows=250", "ray.batch_size=50")
    eng = get_engine(cfg)
    killed: list[int] = []

    def kill_first(batch: dict) -> None:
        if not killed:
            pid = int(batch["pid"][0])
            assert pid != os.getpid()
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    eng.on_batch = kill_first
    try:
        ray = _pipeline([data], tmp_path / "ray", cfg)
    finally:
        eng.on_batch = None
    assert killed and eng.stats["blocks"] >= 20
    # the killed actor was replaced: more processes served the pool than it has actors
    assert len(eng.stats["actor_pids"]) > eng.stats["actors"]
    assert ray.path(A.SENTENCE_VECTORS).read_bytes() == local.path(A.SENTENCE_VECTORS).read_bytes()
    assert _answer(ray) == _answer(local)


@pytest.mark.model
def test_same_bytes_with_the_real_model_on_seeds(ray_local, tmp_path):
    local = _pipeline([SEEDS], tmp_path / "local", _cfg(tmp_path / "c", "local", model="all-MiniLM-L6-v2"))
    ray = _pipeline([SEEDS], tmp_path / "ray", _cfg(tmp_path / "c", "ray", model="all-MiniLM-L6-v2"))
    assert ray.path(A.SENTENCE_VECTORS).read_bytes() == local.path(A.SENTENCE_VECTORS).read_bytes()
    assert _answer(ray) == _answer(local)
    doc = json.loads(ray.path(A.SUMMARIES).read_text())
    assert doc["run"]["model"].startswith("all-MiniLM-L6-v2@") and len(doc["themes"]) >= 2
