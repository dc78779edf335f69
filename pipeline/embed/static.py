"""The fast tier: a static embedding model (model2vec) distilled locally from a sentence-transformers model.

``embed.model: static`` distils the packaged all-MiniLM-L6-v2 (``static:<model or path>``: another local model)
once into ``<cache_dir>/static/<name>-<weights sha>-v<n>/`` with ``model2vec.distill`` (offline: it reads the
local folder), then embeds a text as the mean of its tokens' static vectors: no transformer at run time. The
folder is written to a temporary name and renamed, so an interrupted distillation is redone, never half-read.
See docs/notes/embed.md for its speed and quality against MiniLM.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.embed.encoder import _CachedEncoder
from pipeline.embed.models import DEFAULT_MODEL, EmbedError, _quiet_loading, model_fingerprint, resolve_model

#: ``embed.model`` value (or prefix, ``static:<model>``) selecting the static tier.
STATIC_MODEL = "static"
#: PCA dimensions of the distilled vectors (model2vec's default; 384 -> 256 keeps 0.99 of the variance).
STATIC_DIMS = 256
_STATIC_VERSION = 1


def is_static(model: str) -> bool:
    return model == STATIC_MODEL or model.startswith(STATIC_MODEL + ":")


def distilled_path(source: Path, cache_dir: Path, fingerprint: str, pca_dims: int = STATIC_DIMS) -> Path:
    """The distilled model of ``source``, made once into ``cache_dir`` (atomically)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", source.resolve().name) or "model"
    out = cache_dir / "static" / f"{name}-{fingerprint[:16]}-d{pca_dims}-v{_STATIC_VERSION}"
    if (out / "config.json").exists():
        return out
    try:
        from model2vec.distill import distill
    except ImportError as exc:  # pragma: no cover - a pinned dependency
        raise EmbedError("embed.model=static needs the model2vec package (pip install model2vec).") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        with _quiet_loading():
            model = distill(model_name=str(source), pca_dims=pca_dims)
        model.save_pretrained(str(tmp))
        try:
            os.replace(tmp, out)
        except OSError:  # another process finished first: keep its copy
            if not (out / "config.json").exists():
                raise
    except EmbedError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise EmbedError(f"distilling a static model from {source} failed: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


class StaticEmbedder(_CachedEncoder):
    """Static (model2vec) vectors distilled from ``source``, cached like ``Embedder``'s.

    Parameters
    ----------
    source : the sentence-transformers model to distil (default: the packaged all-MiniLM-L6-v2).
    cache_dir, use_cache, batch_size, progress : as for ``Embedder``.
    """

    def __init__(self, source: str | os.PathLike = DEFAULT_MODEL, *, cache_dir=None, use_cache: bool = True,
                 batch_size: int = 64, progress: bool = False, pca_dims: int = STATIC_DIMS, **_ignored):
        self._setup_cache(cache_dir, use_cache, batch_size, progress)
        self.source = resolve_model(source)
        self.fingerprint = model_fingerprint(self.source)
        self.path = distilled_path(self.source, self.cache_dir, self.fingerprint, pca_dims)
        from model2vec import StaticModel

        try:
            self.model = StaticModel.from_pretrained(str(self.path), normalize=True)
        except Exception as exc:  # noqa: BLE001 - a damaged folder: distil again once
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = distilled_path(self.source, self.cache_dir, self.fingerprint, pca_dims)
            try:
                self.model = StaticModel.from_pretrained(str(self.path), normalize=True)
            except Exception as exc2:  # noqa: BLE001
                raise EmbedError(f"cannot load the static model {self.path}: {exc2}") from exc
        self.dim = int(self.model.dim)
        self.backend = "static"
        self.backend_info = {"requested": "static", "used": "static", "note": f"model2vec distilled from "
                             f"{Path(str(source)).name}, {self.dim} dims"}
        short = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(str(source)).name) or "model"
        self.model_id = f"static-{short}@{self.fingerprint[:12]}:m2v-d{pca_dims}-v{_STATIC_VERSION}"

    def tokenize_lengths(self, texts: Sequence[str]) -> np.ndarray:
        return np.array([len(ids) for ids in self.model.tokenize(list(texts))], dtype=np.int64)

    def _compute(self, texts: list[str], tick) -> tuple[np.ndarray, int]:
        # the tokens are counted as ``encode`` tokenises (tokenising twice was ~45% of the time)
        model, counted = self.model, [0]
        tokenize = model.tokenize

        def counting(sentences):
            ids = tokenize(sentences)
            counted[0] += sum(len(i) for i in ids)
            return ids

        model.tokenize = counting  # an instance attribute over the method, for this call only
        try:
            out = np.asarray(model.encode(texts, batch_size=1024, use_multiprocessing=False), dtype=np.float32)
        finally:
            del model.tokenize
        tick(len(texts))
        return out, counted[0]

    def __repr__(self) -> str:
        return f"StaticEmbedder({self.model_id!r}, dim={self.dim})"
