"""The ``onnx`` backends: the model's transformer exported once with ``torch.onnx.export`` into the cache folder
(``<cache_dir>/onnx/<name>-<weights sha>-v<n>/``), run by ONNX Runtime; tokenised with the model's
``tokenizer.json``, pooled and normalised in NumPy as the model's ``modules.json`` / ``1_Pooling`` say."""

from __future__ import annotations

import inspect
import os
import uuid
from pathlib import Path

import numpy as np

from pipeline.embed.encoder import _char_blocks, _length_batches
from pipeline.embed.int8 import RECIPE, Int8Recipe, int8_check, quantize_onnx
from pipeline.embed.models import EmbedError, _quiet_loading, _read_json, _Tokenizer

#: Padded tokens per ONNX batch (fewer texts than ``batch_size`` when they are long); see ``_OnnxImpl``.
ONNX_BATCH_TOKENS = 512
_EXPORT_VERSION = 3


def _export_dir(owner) -> Path:
    return owner.cache_dir / "onnx" / f"{owner._short}-{owner.fingerprint[:16]}-v{_EXPORT_VERSION}"


def export_onnx(path: Path, out: Path) -> None:
    """Export the transformer of a model folder to ONNX (inputs input_ids, attention_mask[, token_type_ids];
    output last_hidden_state), dynamic batch and sequence axes, atomically."""
    import torch
    from transformers import AutoModel

    try:
        with _quiet_loading():
            model = AutoModel.from_pretrained(str(path), attn_implementation="eager", local_files_only=True)
    except Exception as exc:  # noqa: BLE001
        raise EmbedError(f"cannot load {path} for ONNX export: {exc}") from exc
    model.eval()
    params = inspect.signature(model.forward).parameters
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if "token_type_ids" in params else [])

    class _Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *args):
            return self.m(**dict(zip(names, args))).last_hidden_state

    wrap = _Wrap(model).eval()  # eval on the wrapper: the exporter restores the wrapper's mode on the whole tree
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102], [101, 2023, 2003, 102, 0, 0]], dtype=torch.long)
    ids = ids.clamp(max=model.config.vocab_size - 1)
    args = (ids, (ids > 0).long(), torch.zeros_like(ids))[: len(names)]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        import warnings

        with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(wrap, args, str(tmp), input_names=names, output_names=["last_hidden_state"],
                              dynamic_axes={k: {0: "batch", 1: "seq"} for k in names + ["last_hidden_state"]},
                              opset_version=17, dynamo=False, do_constant_folding=True)
        _check_export(tmp, wrap, names, model.config.vocab_size)
        os.replace(tmp, out)
    except EmbedError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise EmbedError(f"ONNX export of {path} failed: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _check_export(path: Path, wrap, names: list[str], vocab: int) -> None:
    """The export must match torch on a batch of another shape with padding (a trace can bake shapes in)."""
    import onnxruntime as ort
    import torch

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(5, max(6, min(vocab, 1000)), (3, 13), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 3:] = 0
    args = (ids, mask, torch.zeros_like(ids))[: len(names)]
    with torch.no_grad():
        ref = wrap.eval()(*args).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: a.numpy() for n, a in zip(names, args)})[0]
    err = float(np.abs((got - ref) * mask.numpy()[:, :, None]).max())
    if not err < 1e-3:
        raise EmbedError(f"the ONNX export of {path.parent.name} does not match torch (max error {err:.3g}).")


def onnx_model_path(owner, quantized: bool, recipe: Int8Recipe = RECIPE) -> Path:
    """The exported (and, for int8, quantised with ``recipe``) model of ``owner``, made once into the cache
    folder."""
    d = _export_dir(owner)
    fp32 = d / "model.onnx"
    if not fp32.exists():
        export_onnx(owner.path, fp32)
    if not quantized:
        return fp32
    q = d / f"model.int8-{recipe.version}.onnx"
    if not q.exists():
        quantize_onnx(fp32, q, recipe)
    return q


class _OnnxImpl:
    def __init__(self, owner, quantized: bool, recipe: Int8Recipe = RECIPE):
        import onnxruntime as ort

        self.owner = owner
        self.tok = _Tokenizer(owner.spec)
        path = onnx_model_path(owner, quantized, recipe)
        so = ort.SessionOptions()
        # data-parallel: ``threads`` batches run at once on one session, one thread each. Small batches of
        # ~512 padded tokens on 1 thread each beat one big batch on all threads by 1.9x on 2 cores (median
        # of interleaved runs, int8): the per-op threading overhead goes and the activations stay in cache.
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.log_severity_level = 3
        # no busy-waiting between ops: 1.26x faster (median) when the cores are shared, as they are here and on CI
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a truncated export: redo it once
            for f in path.parent.glob("model*.onnx"):
                f.unlink(missing_ok=True)
            path = onnx_model_path(owner, quantized, recipe)
            try:
                self.sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            except Exception as exc2:  # noqa: BLE001
                raise EmbedError(f"cannot load the ONNX export {path}: {exc2}") from exc
        self.inputs = [i.name for i in self.sess.get_inputs()]
        self.dim = int(self.sess.get_outputs()[0].shape[-1]) if isinstance(
            self.sess.get_outputs()[0].shape[-1], int) else int(
            (_read_json(owner.path / "config.json") or {}).get("hidden_size", 0))
        self.pooling = owner.spec.pooling
        # int8: one text per run. Dynamic quantisation scales activations per run, so in a batch a text's vector
        # would depend on its neighbours (cosine down to 0.992 between the same text alone and in a batch);
        # alone it is a function of the text only (so cache hits and fresh vectors agree), no padding at all,
        # closer to fp32 (mean cosine 0.9934 vs 0.9928) and only ~6% slower (median of interleaved runs).
        self.quantized = quantized
        self.recipe = recipe
        self.path = path
        self.tag = f"onnx-int8-v{_EXPORT_VERSION}-{recipe.version}" if quantized else f"onnx-v{_EXPORT_VERSION}"

    def lengths(self, texts: list[str]) -> np.ndarray:
        return self.tok.lengths(texts)

    def check(self) -> dict:
        """The int8 probe check of this (quantised) model against its float32 export on this CPU (cached)."""
        fp32 = _OnnxImpl(self.owner, quantized=False)

        def run(impl):
            return lambda texts: impl.encode(list(texts), lambda n: None)[0]

        return int8_check(self.path.parent, run(fp32), run(self), self.recipe)

    def _pool(self, h: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = mask[:, :, None].astype(np.float32)
        if self.pooling == "cls":
            return h[:, 0]
        if self.pooling == "max":
            return np.where(m > 0, h, -1e9).max(axis=1)
        if self.pooling == "lasttoken":
            last = mask.sum(axis=1) - 1
            return h[np.arange(len(h)), last]
        s = (h * m).sum(axis=1)
        n = np.maximum(m.sum(axis=1), 1e-9)
        return s / (np.sqrt(n) if self.pooling == "mean_sqrt_len" else n)

    def _run(self, encs, lengths: np.ndarray, idx: np.ndarray) -> np.ndarray:
        width = int(lengths[idx].max())
        ids = np.full((len(idx), width), self.tok.pad_id, dtype=np.int64)
        mask = np.zeros((len(idx), width), dtype=np.int64)
        types = np.zeros((len(idx), width), dtype=np.int64)
        for r, i in enumerate(idx):
            e = encs[i]
            n = len(e.ids)
            ids[r, :n] = e.ids
            mask[r, :n] = 1
            types[r, :n] = e.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        h = self.sess.run(None, {k: feed[k] for k in self.inputs})[0]
        return self._pool(h, mask)

    def encode(self, texts: list[str], tick) -> tuple[np.ndarray, int]:
        from concurrent.futures import ThreadPoolExecutor

        out = np.zeros((len(texts), self.dim), np.float32)
        n_tokens = 0
        with ThreadPoolExecutor(max_workers=self.owner.threads) as pool:
            for block in _char_blocks(texts):  # bounded memory: tokenise a block at a time, longest texts first
                encs = self.tok([texts[i] for i in block])
                lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
                n_tokens += int(lengths.sum())

                def job(idx, encs=encs, lengths=lengths, block=block):
                    out[block[idx]] = self._run(encs, lengths, idx)
                    tick(len(idx))

                batches = _length_batches(lengths, 1 if self.quantized else self.owner.batch_size,
                                          max_tokens=ONNX_BATCH_TOKENS)
                for f in [pool.submit(job, idx) for idx in batches]:
                    f.result()
        return out, n_tokens
