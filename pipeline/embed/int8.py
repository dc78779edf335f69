"""int8 quantisation of an ONNX export."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from pipeline.embed.models import EmbedError


def quantize_onnx(src: Path, out: Path) -> None:
    """Dynamic int8 quantisation of the weights of ``src`` (MatMul/Gemm), atomically."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp.onnx")
    root = logging.getLogger()
    level = root.level
    try:
        root.setLevel(logging.ERROR)  # quantize_dynamic logs a "consider pre-processing" warning on the root logger
        # per-channel weight scales: mean cosine to fp32 0.992 instead of 0.960 per-tensor, at the same speed;
        # MatMulConstBOnly: only weight matmuls (QK^T and AV stay fp32)
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gemm"], extra_options={"MatMulConstBOnly": True})
        os.replace(tmp, out)
    except Exception as exc:  # noqa: BLE001
        raise EmbedError(f"int8 quantisation of {src} failed: {exc}") from exc
    finally:
        root.setLevel(level)
        tmp.unlink(missing_ok=True)
