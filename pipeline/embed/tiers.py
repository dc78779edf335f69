"""Two tiers of vectors, each made by the model that is cheapest for what reads it.

- **Article vectors** (themes, stories, updates): the transformer (MiniLM) embeds each article's *passage* -- its
  title and content sentences (house text left out) as one text, cut at ``embed.article_tokens`` tokens (160).
  One text per article: the model sees the lead in context, and the tokens embedded are bounded per article.
- **Sentence vectors** (the summariser's relevance and redundancy): the static model distilled from the same
  transformer (``embed.sentence_model: static``, model2vec), for every content sentence at a small cost.

Measured on ECB+ and MultiLing against the lead-weighted mean of MiniLM sentence vectors (docs/notes/embed.md,
``benchmarks/bench_embed.py --quality``): the same or better themes and stories with a third of the transformer
tokens on news2017, and the same or better MultiLing ROUGE-2.

``EmbedderPair`` holds both and stands in for one embedder wherever the stages pass one around: ``encode`` and
``dim`` are the sentence tier's (what the summariser and the updates fetch), ``articles`` embeds passages, and its
``model_id`` names both models, so a run folder embedded with other tiers is recognised as such.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Characters of an article kept for its passage before tokenising (the tokenizer cuts at ``article_tokens``;
#: news runs ~4.5 characters a token, so 8 per token leaves room and keeps tokenising huge articles cheap).
CHARS_PER_TOKEN_BOUND = 8


def passage_text(article: dict, max_tokens: int) -> str:
    """An article's passage: its title, then its content sentences in order (no house text), cut at whole
    sentences once ``max_tokens * CHARS_PER_TOKEN_BOUND`` characters are reached (the model cuts at ``max_tokens``
    tokens)."""
    text = article["text"]
    title = (article.get("title") or "").strip()
    parts = [title] if title else []
    budget = max_tokens * CHARS_PER_TOKEN_BOUND
    used = len(title)
    for s, e in article["sentences"]:
        if used >= budget:
            break
        parts.append(text[s:e])
        used += e - s + 1
    return "\n".join(parts)


class EmbedderPair:
    """The article tier (``articles``: a transformer cut at the passage length) and the sentence tier
    (``sentences``) as one embedder: ``encode``/``dim``/``tokenize_lengths`` are the sentence tier's."""

    def __init__(self, articles, sentences, article_tokens: int):
        self.articles = articles
        self.sentences = sentences
        self.article_tokens = int(article_tokens)
        self.dim = int(sentences.dim)
        self.article_dim = int(articles.dim)
        self.model_id = f"{articles.model_id}+{sentences.model_id}"
        info = dict(getattr(articles, "backend_info", {}) or {})
        s_used = (getattr(sentences, "backend_info", {}) or {}).get("used", "?")
        info["sentences"] = {"model": sentences.model_id, "used": s_used}
        self.backend_info = info

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.sentences.encode(texts)

    def encode_passages(self, articles: Sequence[dict]) -> np.ndarray:
        texts = [passage_text(a, self.article_tokens) for a in articles]
        out = np.zeros((len(texts), self.article_dim), np.float32)
        keep = [i for i, t in enumerate(texts) if t.strip()]
        if keep:
            out[keep] = self.articles.encode([texts[i] for i in keep])
        return out

    def tokenize_lengths(self, texts: Sequence[str]) -> np.ndarray:
        return self.sentences.tokenize_lengths(texts)

    def passage_tokens(self, articles: Sequence[dict]) -> int:
        """Transformer tokens the article tier embeds for these articles (each passage cut at its limit)."""
        texts = [t for t in (passage_text(a, self.article_tokens) for a in articles) if t.strip()]
        if not texts:
            return 0
        return int(np.minimum(self.articles.tokenize_lengths(texts), self.article_tokens).sum())

    @property
    def stats(self) -> dict:
        a = dict(getattr(self.articles, "stats", {}) or {})
        s = dict(getattr(self.sentences, "stats", {}) or {})
        out = {f"sentences_{k}": v for k, v in s.items()}
        out.update({f"articles_{k}": v for k, v in a.items()})
        for k in ("n_texts", "n_cached", "n_computed", "n_tokens", "seconds"):
            out[k] = a.get(k, 0) + s.get(k, 0)
        return out

    def __repr__(self) -> str:
        return f"EmbedderPair(articles={self.articles!r}, sentences={self.sentences!r})"
