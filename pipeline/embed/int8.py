"""int8 quantisation of an ONNX export, and the check that it holds on this CPU.

Dynamic u8s8 quantisation (uint8 activations x int8 weights) runs on x86 through ``VPMADDUBSW``, which adds two
u8*s8 products into an int16 and saturates; CPUs with AVX512-VNNI / AVX-VNNI use ``VPDPBUSD`` (int32, no
saturation). ONNX Runtime's quantisation documentation therefore recommends 7-bit weights (``reduce_range=True``)
on x86 CPUs without VNNI: two products of a u8 and a 7-bit weight cannot overflow int16. So the same int8 model
gives other vectors on an AVX2-only AMD EPYC than on an AVX-512 VNNI Xeon (issue 11: mean cosine 0.990 there).

The recipe (``RECIPE``) is therefore: 7-bit weights, per-channel scales, only weight matmuls, and the matmuls
whose quantisation costs most kept in float32 (found by measurement, ``benchmarks/int8_recipes.py``: no single
node matters much, the FFN down-projections of all layers together do). Its version is part of the model id.

Whatever the recipe, it is *checked* on this CPU before use: a fixed probe set of news sentences
(``probe_sentences.txt``) is embedded by the float32 and the int8 model, and the cosines must reach
``MIN_MEAN_COSINE`` on average and ``MIN_MIN_COSINE`` for the worst sentence. The result is cached per (export,
recipe, CPU flags) beside the export, so it runs once per machine. ``backend="auto"`` uses int8 only when the
check passes, else float32; an explicit ``onnx-int8`` whose check fails is an error naming the figures.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import re
import uuid
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from pipeline.embed.models import EmbedError, _read_json


@dataclass(frozen=True)
class Int8Recipe:
    """How ``quantize_dynamic`` is called. ``keep_fp32``: regexes over node names left in float32."""

    name: str
    weight_type: str = "QInt8"  # QInt8 | QUInt8
    per_channel: bool = True
    reduce_range: bool = True
    keep_fp32: tuple[str, ...] = field(default_factory=tuple)

    @property
    def version(self) -> str:
        """Short, stable id of the recipe (part of the model id and of the file names)."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return f"{self.name}-{hashlib.sha256(blob).hexdigest()[:6]}"


#: The recipes compared by ``benchmarks/int8_recipes.py``; ``RECIPE`` is the one the backend uses.
RECIPES = {
    r.name: r
    for r in (
        Int8Recipe("s8-pc", reduce_range=False),  # the pre-issue-11 recipe: saturates without VNNI
        Int8Recipe("s8-pc-r7"),
        Int8Recipe("u8-pc", weight_type="QUInt8", reduce_range=False),
        Int8Recipe("s8-pc-r7-l0ffn", keep_fp32=(r"layer\.0/output/dense/",)),
        Int8Recipe("s8-pc-ffn", reduce_range=False, keep_fp32=(r"layer\.\d+/output/dense/",)),
        Int8Recipe("s8-pc-r7-ffn", keep_fp32=(r"layer\.\d+/output/dense/",)),
    )
}
RECIPE = RECIPES["s8-pc-r7-ffn"]

#: Bounds of the probe check, set from measurement (``benchmarks/int8_recipes.py``, docs/notes/embed.md): the
#: recipe gives mean 0.9961 / min 0.9931 both natively (AVX-512 VNNI) and on an emulated Haswell (AVX2, no VNNI),
#: while the pre-issue recipe gives 0.9938 / 0.9882 natively and 0.9909 / 0.9835 on the Haswell path and fails.
MIN_MEAN_COSINE = 0.995
MIN_MIN_COSINE = 0.99
_CHECK_VERSION = 1


def cpu_flags() -> str:
    """The instruction-set extensions that pick ONNX Runtime's int8 kernels, as the CPU reports them (CPUID,
    through NumPy's runtime dispatch, so an emulated CPU reports its own), e.g. ``"x86_64 AVX2 AVX512F
    AVX512VNNI"``."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:  # pragma: no cover - numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as feats
    machine = platform.machine() or "unknown"
    keep = re.compile(r"^(AVX|AMX|VNNI|ASIMD|NEON|SVE|DOTPROD|I8MM)")
    on = sorted(k for k, v in feats.items() if v and keep.match(k))
    return " ".join([machine, *on])


def probe_sentences() -> list[str]:
    """The fixed probe set (news sentences and headlines from seeds/), one per line of ``probe_sentences.txt``."""
    text = resources.files("pipeline.embed").joinpath("probe_sentences.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def quantize_onnx(src: Path, out: Path, recipe: Int8Recipe = RECIPE) -> None:
    """Dynamic int8 quantisation of the weight matmuls of ``src`` with ``recipe``, atomically."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp.onnx")
    root = logging.getLogger()
    level = root.level
    try:
        exclude = []
        if recipe.keep_fp32:
            pats = [re.compile(p) for p in recipe.keep_fp32]
            exclude = [n.name for n in onnx.load(str(src), load_external_data=False).graph.node
                       if n.op_type in ("MatMul", "Gemm") and any(p.search(n.name) for p in pats)]
        root.setLevel(logging.ERROR)  # quantize_dynamic logs a "consider pre-processing" warning on the root logger
        # MatMulConstBOnly: only weight matmuls (QK^T and AV stay fp32)
        quantize_dynamic(str(src), str(tmp), weight_type=getattr(QuantType, recipe.weight_type),
                         per_channel=recipe.per_channel, reduce_range=recipe.reduce_range,
                         op_types_to_quantize=["MatMul", "Gemm"], nodes_to_exclude=exclude,
                         extra_options={"MatMulConstBOnly": True})
        os.replace(tmp, out)
    except Exception as exc:  # noqa: BLE001
        raise EmbedError(f"int8 quantisation of {src} failed: {exc}") from exc
    finally:
        root.setLevel(level)
        tmp.unlink(missing_ok=True)


def cosine_figures(ref: np.ndarray, got: np.ndarray) -> dict:
    """Mean, 1st percentile and min of the row-wise cosine between two sets of vectors."""
    a = ref / np.maximum(np.linalg.norm(ref, axis=1, keepdims=True), 1e-12)
    b = got / np.maximum(np.linalg.norm(got, axis=1, keepdims=True), 1e-12)
    cos = (a * b).sum(1)
    return {"n": int(len(cos)), "mean": round(float(cos.mean()), 5), "p01": round(float(np.quantile(cos, 0.01)), 5),
            "min": round(float(cos.min()), 5)}


def passes(fig: dict) -> bool:
    return fig["mean"] >= MIN_MEAN_COSINE and fig["min"] >= MIN_MIN_COSINE


def check_path(export_dir: Path, recipe: Int8Recipe, flags: str) -> Path:
    key = hashlib.sha256(f"{recipe.version}\0{flags}\0{_CHECK_VERSION}".encode()).hexdigest()[:12]
    return export_dir / f"int8-check-{recipe.version}-{key}.json"


def int8_check(export_dir: Path, embed_fp32, embed_int8, recipe: Int8Recipe = RECIPE) -> dict:
    """The probe check of ``recipe`` on this CPU, cached in ``export_dir``.

    ``embed_fp32`` / ``embed_int8``: functions texts -> (n, dim) vectors. Returns ``{"recipe", "cpu", "n",
    "mean", "p01", "min", "bounds", "passed"}``.
    """
    flags = cpu_flags()
    path = check_path(export_dir, recipe, flags)
    fig = _read_json(path)
    if not (isinstance(fig, dict) and fig.get("cpu") == flags and fig.get("recipe") == recipe.version):
        texts = probe_sentences()
        fig = {"recipe": recipe.version, "cpu": flags,
               **cosine_figures(np.asarray(embed_fp32(texts)), np.asarray(embed_int8(texts)))}
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_text(json.dumps(fig, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:  # a read-only cache: the check is redone next time
            tmp.unlink(missing_ok=True)
    # the figures are cached, the verdict is not: it follows the bounds of this version of the code
    return {**fig, "bounds": {"mean": MIN_MEAN_COSINE, "min": MIN_MIN_COSINE}, "passed": passes(fig)}


def describe(check: dict) -> str:
    """One line for the stage output: ``int8 check on <cpu>: mean cosine 0.998, min 0.991 (bounds ...)``."""
    return (f"int8 check ({check['recipe']}) on {check['cpu']}: mean cosine {check['mean']:.4f}, min "
            f"{check['min']:.4f} over {check['n']} probe sentences (needs >= {check['bounds']['mean']} / "
            f">= {check['bounds']['min']})")
