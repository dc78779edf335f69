"""A synthetic run folder's contents for the report: hundreds of themes without the model or the other stages.

``make_run(n_articles, n_themes)`` returns the inputs of :func:`pipeline.report.build_report`: ``summaries``
(valid against ``summaries.schema.json``), ``articles`` (as in ``articles.jsonl``, with sentence and boilerplate
spans), ``ingest_report``, article ``vectors`` and, with ``changes=True``, a ``changes.json``. Theme sizes fall off
like a power law (a few large themes, a long tail of small ones); each theme has a peak day, outlets, stories, a
cited summary; some articles have no title or no date. Everything is drawn from ``seed``, so the output is fixed.
Used by tests/test_report.py and benchmarks/bench_report.py.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import numpy as np

SUBJECTS = [
    "Brexit", "Article 50", "Syria", "Aleppo", "refugees", "Ukraine", "Donbass", "NATO", "election", "Le Pen",
    "Macron", "Merkel", "Trump", "travel ban", "healthcare", "Obamacare", "North Korea", "missile", "China",
    "trade", "oil prices", "OPEC", "earthquake", "flooding", "hurricane", "wildfire", "Olympics", "doping",
    "football", "tennis", "Champions League", "Turkey", "referendum", "Erdogan", "Iran", "sanctions", "Yemen",
    "cholera", "Venezuela", "protests", "Brazil", "corruption", "India", "monsoon", "Japan", "Abe", "Korea",
    "impeachment", "Mexico", "wall", "Canada", "pipeline", "climate", "Paris accord", "Tesla", "Apple", "Google",
    "privacy", "cyber attack", "ransomware", "Scotland", "independence", "Catalonia", "Spain", "Greece", "debt",
    "Italy", "banks", "Germany", "Russia", "Kremlin", "Crimea", "Putin", "Lavrov", "Afghanistan", "Taliban",
    "Iraq", "Mosul", "ISIS", "Libya", "migrants", "Mediterranean", "Egypt", "Sinai", "Israel", "Gaza",
]
WORDS = [
    "government", "minister", "officials", "talks", "report", "week", "country", "people", "security", "plan",
    "president", "party", "vote", "police", "city", "border", "forces", "deal", "court", "market", "prices",
    "company", "leaders", "state", "region", "crisis", "support", "law", "attack", "agreement", "capital",
    "economy", "growth", "workers", "schools", "hospital", "water", "power", "army", "rebels", "summit",
]
CITIES = ["LONDON", "MOSCOW", "WASHINGTON", "PARIS", "BERLIN", "BEIJING", "ANKARA", "DAMASCUS", "KIEV", "TOKYO"]


def _aid(seed: int, i: int) -> str:
    return "a" + hashlib.sha256(f"{seed}:{i}".encode()).hexdigest()[:16]


def _sizes(n: int, k: int, rng: np.random.Generator) -> list[int]:
    """k theme sizes >= 2 summing to n, falling off like rank^-0.9."""
    w = 1.0 / np.arange(1, k + 1) ** 0.9
    sizes = np.maximum(2, np.floor(w / w.sum() * n)).astype(int)
    while sizes.sum() > n:
        sizes[int(np.argmax(sizes))] -= 1
    sizes[0] += n - sizes.sum()
    return sorted((int(s) for s in sizes), reverse=True)


def make_run(n_articles: int = 1000, n_themes: int = 300, *, seed: int = 0, n_outlets: int = 9,
             days: int = 90, start: str = "2017-02-01", dim: int = 16, sentences: int = 6, words: int = 16,
             titleless: float = 0.05, undated: float = 0.03, unclustered: float = 0.02,
             changes: bool = False) -> dict:
    """The contents of a synthetic run folder (see the module docstring)."""
    rng = np.random.default_rng(seed)
    day0 = date.fromisoformat(start)
    outlets = [f"outlet{k}.example" for k in range(n_outlets)]
    n_unc = int(round(n_articles * unclustered))
    sizes = _sizes(n_articles - n_unc, n_themes, rng)
    theme_of = np.concatenate([np.full(s, t) for t, s in enumerate(sizes)] + [np.full(n_unc, -1)]).astype(int)
    peak = rng.integers(0, days, size=n_themes)
    centres = rng.normal(size=(n_themes + 1, dim))
    vectors = (centres[theme_of] + 0.35 * rng.normal(size=(n_articles, dim))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    labels = []
    for t in range(n_themes):
        a, b = SUBJECTS[t % len(SUBJECTS)], SUBJECTS[(t * 7 + 3 + t // len(SUBJECTS)) % len(SUBJECTS)]
        labels.append(f"{a} · {b}" + (f" · {WORDS[t % len(WORDS)]} {t}" if t >= len(SUBJECTS) else ""))
    word_ix = rng.integers(0, len(WORDS), size=(n_articles, sentences, words))
    out_ix = rng.integers(0, n_outlets, size=n_articles)
    day_off = np.clip(np.round(rng.normal(0, 4, size=n_articles)), -days, days).astype(int)
    no_title = rng.random(n_articles) < titleless
    no_date = rng.random(n_articles) < undated

    articles = []
    for i in range(n_articles):
        t = int(theme_of[i])
        subject = labels[t].split(" · ")[0] if t >= 0 else "misc"
        outlet = outlets[out_ix[i]]
        dateline = f"{CITIES[i % len(CITIES)]}, Feb 7 ({outlet.split('.')[0].upper()}) - "
        text, spans = dateline, []
        for s in range(sentences):
            body = " ".join(WORDS[j] for j in word_ix[i, s])
            sent = f"The {subject} {body} {i}." if s == 0 else f"{body.capitalize()} on {subject}."
            spans.append([len(text), len(text) + len(sent)])
            text += sent + " "
        footer = f"Copyright {outlet} 2017. Read more at {outlet}."
        bp = [[0, len(dateline)], [len(text), len(text) + len(footer)]]
        text += footer
        d = None if no_date[i] else (day0 + timedelta(days=int(np.clip(peak[t] + day_off[i], 0, days - 1))))\
            .isoformat() if t >= 0 else (day0 + timedelta(days=int(i % days))).isoformat()
        articles.append({
            "id": _aid(seed, i), "title": "" if no_title[i] else f"{subject}: {WORDS[i % len(WORDS)]} report {i}",
            "text": text, "caption": None, "date": d, "source": outlet, "url": f"https://www.{outlet}/news/{i}",
            "sentences": spans, "sources": [{"path": "synthetic.jsonl", "index": i, "input_id": str(i)}],
            "meta": {}, "warnings": [], "boilerplate": bp,
        })

    def item(a: dict, k: int = 0, carry: bool = True) -> dict:
        s, t = a["sentences"][k]
        out = {"article_id": a["id"], "start": s, "end": t, "text": a["text"][s:t]}
        if carry:
            out.update(source=a["source"], date=a["date"])
        return out

    def group(gid: str, label: str, members: list[dict], kws: list[str]) -> dict:
        return {"id": gid, "label": label, "keywords": kws, "size": len(members),
                "articles": [a["id"] for a in members], "similarities": [round(0.9 - 0.001 * k, 4)
                                                                         for k in range(len(members))],
                "summary": [item(a, 0, carry=k % 2 == 0) for k, a in enumerate(members[:3])]}

    themes, pos = [], 0
    for t, size in enumerate(sizes):
        members = articles[pos:pos + size]
        pos += size
        kws = [w.lower() for w in labels[t].split(" · ")] + [WORDS[(t + j) % len(WORDS)] for j in range(4)]
        theme = group(f"theme-{t:05d}", labels[t], members, kws)
        n_st = 1 if size < 4 else int(rng.integers(1, 5))
        cuts = np.linspace(0, size, n_st + 1).astype(int)
        stories = [group(f"story-{t:05d}-{k}", f"{labels[t]} story {k}", members[cuts[k]:cuts[k + 1]], kws[:3])
                   for k in range(n_st) if cuts[k + 1] > cuts[k]]
        if len(stories) == 1:
            stories[0]["summary"] = theme["summary"]
        if size >= 6:  # a single-article story, as a long stream has
            last = stories[-1]
            lone = members[-1]
            last["articles"].remove(lone["id"])
            last["similarities"].pop()
            last["size"] -= 1
            stories.append(group(f"story-{t:05d}-x", f"{labels[t]} lone", [lone], kws[:3]))
        theme["stories"] = stories
        themes.append(theme)
    summaries = {
        "themes": themes,
        "unclustered": [a["id"] for a in articles[pos:]],
        "articles": {a["id"]: {"title": a["title"], "date": a["date"], "sources": a["sources"], "url": a["url"],
                               "source": a["source"]} for a in articles},
        "run": {"version": "0.1.0", "config": {"report": {"max_articles_per_theme": 50}},
                "model": "all-MiniLM-L6-v2@9c307c7fe9e0:onnx-int8-v3:256", "grouping": "clusters",
                "created": "2017-05-01T12:00:00+00:00"},
    }
    run = {"summaries": summaries, "articles": articles, "vectors": vectors, "changes": None,
           "ingest_report": {"read": n_articles + 3, "unique": n_articles, "duplicates": 2, "rejected": 1,
                             "rejections": [{"source": {"path": "inputs/bad.jsonl", "index": 4, "input_id": None},
                                             "reason": "JSONL line is not JSON"}]}}
    if changes:
        new_ids = [a["id"] for t in themes[:3] for a in articles if a["id"] in set(t["articles"][-2:])]
        new_ids += [themes[-1]["articles"][0]]
        run["changes"] = {
            "since": "2017-04-20T06:00:00+00:00", "new_articles": sorted(new_ids),
            "themes": {t["id"]: "new" if k == len(themes) - 1 else "grown" if k < 3 else "unchanged"
                       for k, t in enumerate(themes)},
            "stories": {s["id"]: "unchanged" for t in themes for s in t["stories"]},
        }
    return run
