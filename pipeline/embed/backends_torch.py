"""The ``torch`` backend: sentence-transformers itself (the float32 reference)."""

from __future__ import annotations

import numpy as np

from pipeline.embed.models import EmbedError, _quiet_loading, _Tokenizer


class _TorchImpl:
    tag = "torch"

    def __init__(self, owner):
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(owner.threads)
        try:
            with _quiet_loading():
                self.model = SentenceTransformer(str(owner.path), device="cpu", local_files_only=True)
        except Exception as exc:  # noqa: BLE001
            raise EmbedError(f"cannot load embedding model {owner.model_name!r} from {owner.path}: {exc}") from exc
        self.model.max_seq_length = owner.spec.max_seq_length
        self.owner = owner
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self._tok = None
        if (owner.path / "tokenizer.json").exists():
            self._tok = _Tokenizer(owner.spec)

    def lengths(self, texts: list[str]) -> np.ndarray:
        if self._tok is not None:
            return self._tok.lengths(texts)
        out = np.zeros(len(texts), dtype=np.int64)
        for a in range(0, len(texts), 16_384):
            tk = self.model.tokenizer(texts[a : a + 16_384], truncation=True,
                                      max_length=self.owner.spec.max_seq_length)
            out[a : a + 16_384] = [len(x) for x in tk["input_ids"]]
        return out

    def encode(self, texts: list[str], tick) -> tuple[np.ndarray, int]:
        import torch

        lengths = self.lengths(texts)
        out = np.zeros((len(texts), self.dim), np.float32)
        bs = self.owner.batch_size
        order = np.argsort(-lengths, kind="stable")
        step = bs * 8
        with torch.inference_mode():
            for a in range(0, len(order), step):
                idx = order[a : a + step]
                v = self.model.encode([texts[i] for i in idx], batch_size=bs, convert_to_numpy=True,
                                      normalize_embeddings=True, show_progress_bar=False)
                out[idx] = v
                tick(len(idx))
        return out, int(lengths.sum())
