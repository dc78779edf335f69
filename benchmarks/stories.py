"""Stories as events: ECB+ stories, a synthetic event stream calibrated on ECB+, and the "one story" check.

    SHARED_DATA=../shared/data .venv/bin/python benchmarks/stories.py [--seeds 0 1 2] [--no-ecbplus]

ECB+ (``../shared/data/ecbplus/articles.jsonl``, or ``$SHARED_DATA``): 43 topics of two look-alike events each;
stories are scored against ``label`` (the event), per input record, as ``benchmarks/compare_clustering.py`` does.
It also counts the themes our result shows as "one story" (a single story) that hold two or more gold events.

Synthetic stream (:func:`synthetic_events`): themes of 2-4 events each, articles with vectors, names and dates.
Vectors are a global, a theme, an event and a noise direction whose weights give ECB+'s mean cosine similarities
(same event 0.75, same topic other event 0.57, other topic 0.12: measured on the product's ECB+ vectors); each
article mentions ~30 names, drawn from its event's, its theme's and a large shared pool in proportions that give
ECB+'s mean entity cosine (same event ~0.39, same topic ~0.11, other ~0.01); both are printed beside ECB+'s when
ECB+ is present. ECB+ has no dates: an event's date is drawn within its theme's 120 days, its articles within
+-3 days of it (half-normal, 2-day scale); 10% of articles have no date. KMeans is given the true number of events.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Squared weights of the global, theme, event and noise directions (they sum to 1): ECB+'s mean cosines.
VECTOR_SHARES = (0.12, 0.45, 0.18, 0.25)
#: Shares of an article's name mentions drawn from its event's pool, its theme's pool, the shared pool.
NAME_SHARES = (0.45, 0.3, 0.25)
MENTIONS = 30


def _names(rng, k: int, prefix: str) -> list[str]:
    syl = ["ka", "lo", "mir", "ta", "ven", "sor", "dal", "en", "qui", "bar", "tel", "os", "run", "pe", "zan"]
    out = []
    for i in range(k):
        a = "".join(rng.choice(syl, size=2)).capitalize()
        b = "".join(rng.choice(syl, size=3)).capitalize()
        out.append(f"{a} {b}{prefix}{i}" if i % 3 else f"{a}{prefix}{i}")
    return out


def synthetic_events(n_themes: int = 40, dim: int = 384, seed: int = 0):
    """(vectors (n, dim) float32, texts, ISO dates or None, theme labels, event labels)."""
    rng = np.random.default_rng(seed)
    g2, t2, e2, z2 = VECTOR_SHARES
    glob = rng.normal(size=dim)
    glob /= np.linalg.norm(glob)
    shared_pool = _names(rng, 4000, "g")
    zipf = 1.0 / np.arange(1, len(shared_pool) + 1)
    zipf /= zipf.sum()
    vecs, texts, dates, themes, events = [], [], [], [], []
    ev = 0
    for t in range(n_themes):
        tc = rng.normal(size=dim)
        tc /= np.linalg.norm(tc)
        theme_pool = _names(rng, 15, f"t{t}x")
        start = int(rng.integers(0, 365))
        for _e in range(int(rng.integers(2, 5))):
            ec = rng.normal(size=dim)
            ec /= np.linalg.norm(ec)
            event_pool = _names(rng, 15, f"e{ev}x") + [str(int(rng.integers(10, 5000)))]
            day0 = start + int(rng.integers(0, 120))
            for _a in range(int(rng.integers(3, 21))):
                z = rng.normal(size=dim)
                jt, je = rng.uniform(0.5, 1.5, size=2)  # per-article spread, as ECB+'s (sd ~0.12 of the cosines)
                v = (np.sqrt(g2) * glob + np.sqrt(t2 * jt) * tc + np.sqrt(e2 * je) * ec
                     + np.sqrt(max(z2 + t2 * (1 - jt) + e2 * (1 - je), 0.02)) * z / np.sqrt(dim))
                vecs.append(v / np.linalg.norm(v))
                k_e, k_t, _k_g = rng.multinomial(MENTIONS, NAME_SHARES)
                names = ([event_pool[i] for i in rng.integers(0, len(event_pool), k_e)]
                         + [theme_pool[i] for i in rng.integers(0, len(theme_pool), k_t)]
                         + [shared_pool[i] for i in rng.choice(len(shared_pool), MENTIONS - k_e - k_t, p=zipf)])
                texts.append("officials said that " + ", then ".join(names) + ".")
                day = day0 + int(np.sign(rng.normal()) * min(3, round(abs(rng.normal(0, 2)))))
                dates.append(None if rng.random() < 0.1 else str(np.datetime64("2017-01-01") + day))
                themes.append(t)
                events.append(ev)
            ev += 1
    order = rng.permutation(len(vecs))
    return (np.asarray(vecs, dtype=np.float32)[order], [texts[i] for i in order], [dates[i] for i in order],
            np.asarray(themes)[order], np.asarray(events)[order])


def similarity_profile(x: np.ndarray, texts: list[str], theme, event) -> dict:
    """Mean vector and entity cosine for pairs of one event, of one theme but two events, of two themes."""
    from pipeline.cluster.entities import EntityVectors

    _ev, e = EntityVectors.fit(texts)
    theme, event = np.asarray(theme), np.asarray(event)
    c, s = x @ x.T, (e @ e.T).toarray()
    same_e = event[:, None] == event[None, :]
    same_t = theme[:, None] == theme[None, :]
    masks = {"event": same_e & ~np.eye(len(x), dtype=bool), "theme": same_t & ~same_e, "other": ~same_t}
    return {f"{kind} {name}": float(m[mask].mean()) for kind, m in (("cos", c), ("ent", s))
            for name, mask in masks.items()}


def ours(x, texts, ids, dates=None, **kw) -> tuple[list, list, dict]:
    from pipeline.cluster import cluster_articles

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cluster_articles(x, texts, ids, dates=dates, **kw)
    theme = {a["id"]: t["id"] for t in res["themes"] for a in t["articles"]}
    story = {a["id"]: s["id"] for t in res["themes"] for s in t["stories"] for a in s["articles"]}
    return [theme.get(i, f"-{i}") for i in ids], [story.get(i, f"-{i}") for i in ids], res


def one_story_two_events(res: dict, gold: dict) -> tuple[int, int]:
    """(themes shown as one story that hold two or more gold events, themes shown as one story)."""
    single = [t for t in res["themes"] if len(t["stories"]) == 1]
    return sum(len({gold[a["id"]] for a in t["articles"]}) >= 2 for t in single), len(single)


def _row(name: str, s: dict) -> str:
    return f"| {name} | {s['ari']:.3f} | {s['bcubed_f1']:.3f} | {s['n_clusters']:.0f} |"


def run_ecbplus() -> dict | None:
    from compare_clustering import DATA, cached_vectors, gold_labels, load

    from pipeline.evaluate import clustering_scores
    from pipeline.runner import content_text

    if not (DATA / "ecbplus" / "articles.jsonl").exists():
        print(f"{DATA}/ecbplus not found: ECB+ skipped.", file=sys.stderr)
        return None
    arts = load("ecbplus")
    x = cached_vectors("ecbplus", arts, "product")
    ids = [a["id"] for a in arts]
    texts = [content_text(a) for a in arts]
    th, st, res = ours(x, texts, ids, titles=[a.get("title") or "" for a in arts])
    gold_s, owner = gold_labels(arts, "label")
    gold_t, _ = gold_labels(arts, "topic")
    print("\n### ECB+ (971 articles from 982 records; 86 events in 43 topics)\n")
    print("| method | ARI | B-cubed F1 | clusters |\n|---|---|---|---|")
    print(_row("ours, stories vs events", clustering_scores(gold_s, [st[i] for i in owner])))
    print(_row("ours, themes vs topics", clustering_scores(gold_t, [th[i] for i in owner])))
    bad, single = one_story_two_events(res, {a["id"]: a["meta"]["label"] for a in arts})
    print(f"\nthemes shown as one story: {single}; of them holding two or more gold events: {bad}")
    return similarity_profile(x, [f"{a.get('title') or ''}\n{t}" for a, t in zip(arts, texts)],
                              [a["meta"]["topic"] for a in arts], [a["meta"]["label"] for a in arts])


def run_synthetic(seeds: list[int], ecb_profile: dict | None) -> None:
    from sklearn.cluster import KMeans

    from pipeline.evaluate import clustering_scores

    print("\n### Synthetic events (calibrated on ECB+)\n")
    print("| seed | articles | events | ours ARI | ours B-cubed F1 | ours, no dates ARI | KMeans true k ARI | "
          "KMeans B-cubed F1 |\n|---|---|---|---|---|---|---|---|")
    for seed in seeds:
        x, texts, dates, theme, event = synthetic_events(seed=seed)
        ids = [f"s{i:05d}" for i in range(len(x))]
        _th, st, _res = ours(x, texts, ids, dates)
        _th2, st2, _ = ours(x, texts, ids, None)
        k = len(set(event.tolist()))
        km = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(x).tolist()
        a, b, c = (clustering_scores(event.tolist(), p) for p in (st, st2, km))
        print(f"| {seed} | {len(x)} | {k} | {a['ari']:.3f} | {a['bcubed_f1']:.3f} | {b['ari']:.3f} | "
              f"{c['ari']:.3f} | {c['bcubed_f1']:.3f} |")
        if seed == seeds[0]:
            prof = similarity_profile(x, texts, theme, event)
            print("\nmean similarities (synthetic" + (" vs ECB+" if ecb_profile else "") + "): " + ", ".join(
                f"{k_} {v:.3f}" + (f" / {ecb_profile[k_]:.3f}" if ecb_profile else "") for k_, v in prof.items())
                  + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--no-ecbplus", action="store_true")
    args = ap.parse_args(argv)
    profile = None if args.no_ecbplus else run_ecbplus()
    run_synthetic(args.seeds, profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
