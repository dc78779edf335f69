"""Cluster stage on synthetic vectors: determinism, accounting, overrides, id stability, labels, edge cases, scale."""

from __future__ import annotations

import json
import tracemalloc
import warnings

import numpy as np
import pytest

from pipeline import PipelineError
from pipeline.cluster import ClusterError, _select_keywords, cluster_articles, label_words

TOPICS = [
    ("iraq isis coalition baghdad nato airstrike militants mosul", "iraqi forces"),
    ("gaza hamas ceasefire israel hostages egypt qatar truce", "gaza strip"),
    ("earthquake magnitude tsunami chile santiago rescue quake", "death toll"),
    ("olympic torch relay beijing protesters games athletes", "human rights"),
    ("climate emissions bali carbon conference warming nations", "climate change"),
]


def make(n_per=(12, 10, 8, 6, 5), dim=64, spread=0.35, seed=0, prefix="a"):
    """Well-separated blobs on the unit sphere with topical texts; ids in arrival order."""
    rng = np.random.default_rng(seed)
    centers = np.linalg.qr(rng.normal(size=(dim, len(TOPICS))))[0].T  # orthonormal centres
    vecs, texts, ids, gold = [], [], [], []
    for t, n in enumerate(n_per):
        words, phrase = TOPICS[t]
        w = words.split()
        for j in range(n):
            v = centers[t] + spread * rng.normal(size=dim) / np.sqrt(dim)
            vecs.append(v / np.linalg.norm(v))
            pick = rng.choice(len(w), size=6, replace=True)
            texts.append(f"The {phrase} said {' '.join(w[i] for i in pick)} on Monday. {phrase} again {w[j % len(w)]}.")
            gold.append(t)
    order = rng.permutation(len(vecs))
    vecs = np.asarray(vecs, dtype=np.float32)[order]
    texts = [texts[i] for i in order]
    gold = [gold[i] for i in order]
    ids = [f"{prefix}{i:04d}" for i in range(len(vecs))]
    return vecs, texts, ids, gold


def assignment(res):
    out = {}
    for t in res["themes"]:
        for a in t["articles"]:
            assert a["id"] not in out
            out[a["id"]] = t["id"]
    for i in res["unclustered"]:
        assert i not in out
        out[i] = None
    return out


def test_recovers_blobs_and_accounts_for_every_article():
    x, texts, ids, gold = make()
    res = cluster_articles(x, texts, ids)
    a = assignment(res)
    assert sorted(a) == sorted(ids)
    assert len(res["themes"]) == 5
    for t in res["themes"]:
        assert len({gold[ids.index(m["id"])] for m in t["articles"]}) == 1
        assert t["size"] == len(t["articles"])
        sims = [m["similarity"] for m in t["articles"]]
        assert sims == sorted(sims, reverse=True)
        story_members = [m["id"] for s in t["stories"] for m in s["articles"]]
        assert sorted(story_members) == sorted(m["id"] for m in t["articles"])
    sizes = [t["size"] for t in res["themes"]]
    assert sizes == sorted(sizes, reverse=True)
    json.dumps(res)  # JSON-ready


def make_nested(n_themes=10, n_stories=2, per=8, dim=64, theme_spread=0.5, story_spread=0.25, seed=0):
    """Themes of ``n_stories`` tight sub-blobs (stories of ``per`` articles) each; (vectors, theme, story)."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, n_themes * (n_stories + 1))))[0].T
    vecs, gold_t, gold_s = [], [], []
    for t in range(n_themes):
        for s in range(n_stories):
            c = basis[t] + theme_spread * basis[n_themes + t * n_stories + s]
            for _ in range(per):
                v = c + story_spread * rng.normal(size=dim) / np.sqrt(dim)
                vecs.append(v / np.linalg.norm(v))
                gold_t.append(t)
                gold_s.append((t, s))
    order = rng.permutation(len(vecs))
    return np.asarray(vecs, np.float32)[order], [gold_t[i] for i in order], [gold_s[i] for i in order]


def test_small_stories_inside_themes_are_found():
    # 160 articles: the theme tree shares 15 neighbours, more than a story of 8 holds; the story tree uses fewer
    x, gold_t, gold_s = make_nested()
    ids = [f"a{i:04d}" for i in range(len(x))]
    texts = [f"theme{t} story{s[1]} report" for t, s in zip(gold_t, gold_s)]
    res = cluster_articles(x, texts, ids)
    assert res["params"]["shared_neighbours"] == 15 and res["params"]["story_smoothing_neighbours"] == 5
    row = {a: i for i, a in enumerate(ids)}
    assert len(res["themes"]) == 10
    n_stories = 0
    for t in res["themes"]:
        members = {a["id"] for a in t["articles"]}
        assert len({gold_t[row[a]] for a in members}) == 1
        for s in t["stories"]:
            assert {a["id"] for a in s["articles"]} <= members  # nested
            assert len({gold_s[row[a["id"]]] for a in s["articles"]}) == 1
            n_stories += 1
    assert n_stories == 20


def test_deterministic():
    x, texts, ids, _ = make()
    a = json.dumps(cluster_articles(x, texts, ids), sort_keys=True)
    b = json.dumps(cluster_articles(x.copy(), list(texts), list(ids)), sort_keys=True)
    assert a == b


def test_deterministic_with_micro_clusters(monkeypatch):
    import pipeline.cluster.keywords as kw
    import pipeline.cluster.tree as tree

    monkeypatch.setattr(tree, "MAX_LEAVES", 20)
    monkeypatch.setattr(kw, "KEYWORD_SAMPLE", 30)  # keywords from the most central articles only
    x, texts, ids, gold = make(n_per=(30, 25, 20, 15, 10))
    a = json.dumps(cluster_articles(x, texts, ids), sort_keys=True)
    b = json.dumps(cluster_articles(x, texts, ids), sort_keys=True)
    assert a == b
    res = json.loads(a)
    assert res["params"]["n_leaves"] <= 20
    assert len(res["themes"]) == 5
    for t in res["themes"]:
        assert len({gold[ids.index(m["id"])] for m in t["articles"]}) == 1
        assert t["keywords"] and all(s["keywords"] for s in t["stories"])


def test_n_themes_override():
    x, texts, ids, _ = make()
    for k in (1, 2, 3, 5, 7):
        res = cluster_articles(x, texts, ids, n_themes=k)
        assert len(res["themes"]) == k
        assert res["params"]["chosen_by"].startswith("n_themes")
        assert sorted(assignment(res)) == sorted(ids)


def test_threshold_override():
    x, texts, ids, _ = make()
    loose = cluster_articles(x, texts, ids, threshold=-1.0)
    assert len(loose["themes"]) == 1 and loose["themes"][0]["size"] == len(ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tight = cluster_articles(x, texts, ids, threshold=1.0)
    # only articles with identical neighbour lists and vectors can still meet a threshold of 1
    assert len(tight["unclustered"]) > len(ids) / 2 and tight["params"]["theme_threshold"] == 1.0
    assert loose["params"]["theme_threshold"] == -1.0
    with pytest.raises(ClusterError, match="similarity in"):
        cluster_articles(x, texts, ids, threshold=1.5)


def test_story_threshold_override():
    x, texts, ids, _ = make()
    res = cluster_articles(x, texts, ids, story_threshold=2.5)
    # (almost) every article its own story: only coinciding neighbour-averaged vectors can share one
    assert sum(len(t["stories"]) for t in res["themes"]) >= 0.8 * sum(t["size"] for t in res["themes"])
    assert res["params"]["story_threshold"] == 2.5
    res = cluster_articles(x, texts, ids, story_threshold=-2.0)
    for t in res["themes"]:
        assert len(t["stories"]) == 1


def test_ids_stable_when_input_grows():
    x, texts, ids, gold = make(seed=1)
    x2, texts2, _, _ = make(seed=2)
    first = cluster_articles(x, texts, ids)
    grown_x = np.vstack([x, x2[:3]])
    grown_ids = ids + ["z1", "z2", "z3"]
    grown_texts = texts + texts2[:3]
    for prev in (None, first):
        second = cluster_articles(grown_x, grown_texts, grown_ids, previous=prev)
        a, b = assignment(first), assignment(second)
        old_ids = {t["id"] for t in first["themes"]}
        assert old_ids <= {t["id"] for t in second["themes"]}
        for i in ids:
            assert a[i] == b[i]


def test_previous_keeps_ids_even_when_anchor_changes():
    x, texts, ids, _ = make(seed=3)
    first = cluster_articles(x, texts, ids)
    # same articles, reversed arrival order: content-derived ids would change, previous keeps them
    r = slice(None, None, -1)
    second = cluster_articles(x[r], texts[r], ids[r], previous=first)
    assert {t["id"] for t in first["themes"]} == {t["id"] for t in second["themes"]}
    assert assignment(first) == assignment(second)
    for t1 in first["themes"]:
        t2 = next(t for t in second["themes"] if t["id"] == t1["id"])
        assert {s["id"] for s in t1["stories"]} == {s["id"] for s in t2["stories"]}


def test_labels_unique_short_and_keywords_deduplicated():
    x, texts, ids, _ = make()
    res = cluster_articles(x, texts, ids)
    labels = [t["label"] for t in res["themes"]]
    assert len({lab.lower() for lab in labels}) == len(labels)
    for t in res["themes"]:
        assert 2 <= len(label_words(t["label"])) <= 6, t["label"]
        assert 1 <= len(t["keywords"]) <= 10
        for s in t["stories"]:
            assert 2 <= len(label_words(s["label"])) <= 6, s["label"]
    # same texts everywhere: labels still unique
    same = ["gaza ceasefire talks resume in cairo"] * len(ids)
    res = cluster_articles(x, same, ids)
    labels = [t["label"] for t in res["themes"]]
    assert len(set(labels)) == len(labels)
    assert all(2 <= len(label_words(lab)) <= 6 for lab in labels)


def test_select_keywords_merges_near_duplicates():
    terms = ["iraqi forces", "iraqi force", "gaza", "gaza strip", "iraq", "isis coalition", "isis"]
    scores = [1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.55]
    got = _select_keywords(terms, scores, 10)
    assert got == ["iraqi forces", "gaza strip", "iraq", "isis coalition"]


def test_degenerate_inputs():
    with pytest.warns(UserWarning):
        res = cluster_articles(np.zeros((0, 8), np.float32), [], [])
    assert res["themes"] == [] and res["unclustered"] == []
    v = np.eye(8, dtype=np.float32)[:1]
    with pytest.warns(UserWarning):
        res = cluster_articles(v, ["one"], ["x"])
    assert res["unclustered"] == ["x"]
    v = np.eye(8, dtype=np.float32)[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cluster_articles(v, ["one", "two"], ["x", "y"])
    assert sorted(assignment(res)) == ["x", "y"]
    same = np.tile(np.eye(8, dtype=np.float32)[:1], (6, 1))
    res = cluster_articles(same, ["the the"] * 6, list("abcdef"))  # identical vectors, only stop words
    assert len(res["themes"]) == 1 and res["themes"][0]["size"] == 6
    assert 2 <= len(label_words(res["themes"][0]["label"])) <= 6


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"n_themes": 0}, "n_themes=0"),
        ({"n_themes": 2.5}, "n_themes=2.5"),
        ({"threshold": 1.5}, "threshold=1.5"),
        ({"threshold": float("nan")}, "threshold=nan"),
        ({"story_threshold": -3}, "story_threshold=-3"),
        ({"story_threshold": 3.5}, "story_threshold=3.5"),
        ({"min_size": 0}, "min_size=0"),
        ({"n_keywords": 0}, "n_keywords=0"),
        ({"n_themes": 2, "threshold": 0.5}, "n_themes=2"),
        ({"previous": {"nope": 1}}, "previous"),
    ],
)
def test_invalid_parameters(kw, name):
    x, texts, ids, _ = make()
    with pytest.raises(ClusterError, match=name.replace("(", r"\(")) as e:
        cluster_articles(x, texts, ids, **kw)
    assert isinstance(e.value, PipelineError)


def test_invalid_inputs():
    x, texts, ids, _ = make()
    with pytest.raises(ClusterError, match="len\\(texts\\)"):
        cluster_articles(x, texts[:-1], ids)
    with pytest.raises(ClusterError, match="ids should be unique"):
        cluster_articles(x, texts, [ids[0]] * len(ids))
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ClusterError, match="finite"):
        cluster_articles(bad, texts, ids)


def test_20k_articles_no_dense_n_by_n():
    n, dim = 20_000, 32
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(40, dim))
    lab = rng.integers(0, 40, size=n)
    x = (centers[lab] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    texts = [f"topic{k} word{k} event" for k in lab]
    ids = [f"id{i:06d}" for i in range(n)]
    tracemalloc.start()
    res = cluster_articles(x, texts, ids)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < n * n * 4 / 10, peak  # well under one float32 n x n matrix (1.6 GB)
    assert sum(t["size"] for t in res["themes"]) + len(res["unclustered"]) == n


def test_stories_finer_than_micro_clusters(monkeypatch):
    # above MAX_LEAVES the trees start from micro-clusters; stories must still be found inside each theme
    import pipeline.cluster as C

    x, gold_t, gold_s = make_nested()
    monkeypatch.setattr(C.tree, "MAX_LEAVES", 20)  # 160 articles in 20 micro-clusters, as wide as a story of 8
    ids = [f"a{i:04d}" for i in range(len(x))]
    res = cluster_articles(x, ["report"] * len(x), ids)
    assert res["params"]["n_leaves"] <= 20
    row = {a: i for i, a in enumerate(ids)}
    assert len(res["themes"]) == 10
    stories = [s for t in res["themes"] for s in t["stories"]]
    pure = [len({gold_s[row[a["id"]]] for a in s["articles"]}) == 1 for s in stories]
    assert sum(pure) >= 18 and len(stories) <= 24, [s["size"] for s in stories]


def test_neighbour_search_on_micro_clusters_matches_exact(monkeypatch):
    import pipeline.cluster as C

    x, _t, _s = make_nested()
    exact = C._knn(x, 15, np.arange(len(x)), x.astype(np.float64))
    monkeypatch.setattr(C.tree, "MAX_LEAVES", 40)  # micro-clusters of ~4 articles: fewer than k in each
    leaf, sums, _sizes = C._leaves(x, 40, 0)
    approx = C._knn(x, 15, leaf, sums)
    assert approx.shape == exact.shape
    assert all(len(set(r)) == 15 for r in approx)  # k distinct neighbours, never padded
    overlap = np.mean([len(set(a) & set(b)) / 15 for a, b in zip(approx, exact)])
    assert overlap >= 0.9, overlap


def test_shared_neighbour_similarity():
    import pipeline.cluster as C

    idx = np.array([[0, 1, 2], [0, 1, 3], [2, 4, 5], [3, 4, 6], [4, 5, 6], [4, 5, 6], [4, 5, 6]])
    v = C._snn(idx)
    assert v.shape == (7, 7)
    g = (v @ v.T).toarray()
    assert np.allclose(np.diag(g), 1.0)
    assert g[0, 1] == pytest.approx(2 / 3) and g[0, 4] == 0.0 and g[4, 5] == pytest.approx(1.0)


def test_theme_of_stories_larger_than_the_neighbour_list(monkeypatch):
    # 3 stories of 20 articles per theme: an article's 15 neighbours all sit in its own story, so the stories of a
    # theme share no neighbour; the cosine share of the theme similarity still joins them into their theme
    import pipeline.cluster as C

    x, gold_t, _ = make_nested(n_themes=10, n_stories=3, per=20, theme_spread=0.7, story_spread=0.5)
    ids = [f"a{i:04d}" for i in range(len(x))]

    def n_pure_themes():
        res = cluster_articles(x, ["report"] * len(x), ids)
        row = {a: i for i, a in enumerate(ids)}
        return [len({gold_t[row[a["id"]]] for a in t["articles"]}) == 1 and t["size"] == 60 for t in res["themes"]]

    assert n_pure_themes() == [True] * 10
    monkeypatch.setattr(C.core, "SNN_WEIGHT", 1.0)  # shared neighbours alone: the themes fall apart into stories
    assert len(n_pure_themes()) == 30


# --------------------------------------------------------------------------------------------- stories and placement

PLACES = ["Santiago", "Haiti", "Sumatra", "Kabul", "Lagos", "Oslo", "Lima", "Quito", "Hanoi", "Dakar", "Perth",
          "Bergen", "Tunis", "Minsk", "Riga", "Sofia", "Cusco", "Leeds", "Malmo", "Porto"]


def make_events(n_themes=6, n_stories=2, per=10, seed=1):
    """Themes of look-alike events: the stories of one theme share their vectors' direction (theme_spread small),
    and differ in their places, numbers and dates, as ECB+'s look-alike events do. (vectors, texts, dates, theme,
    story)."""
    x, gold_t, gold_s = make_nested(n_themes=n_themes, n_stories=n_stories, per=per, theme_spread=0.15,
                                    story_spread=0.3, seed=seed)
    rng = np.random.default_rng(seed)
    texts, dates = [], []
    for t, (_, s) in zip(gold_t, gold_s):
        place_ = PLACES[(t * n_stories + s) % len(PLACES)]
        count = 10 * (t * n_stories + s) + 7
        other = PLACES[n_themes * n_stories + rng.integers(len(PLACES) - n_themes * n_stories)]  # no event's place
        mayor = f"Ana Vel{t * n_stories + s}"
        texts.append(f"Officials in {place_} said {count} people were hurt in {place_}. Mayor {mayor} of {place_} "
                     f"visited with {count} rescuers. A reporter from {other} was there.")
        day = 1 + 40 * s + int(rng.integers(0, 4))
        dates.append(f"2017-{1 + day // 28:02d}-{1 + day % 28:02d}")
    return x, texts, dates, gold_t, gold_s


def test_stories_use_entities_and_dates():
    # the vectors alone cannot tell the look-alike events apart; their places, numbers and dates can
    x, texts, dates, gold_t, gold_s = make_events()
    ids = [f"a{i:04d}" for i in range(len(x))]
    row = {a: i for i, a in enumerate(ids)}

    def purity(res):
        stories = [s for t in res["themes"] for s in t["stories"]]
        return sum(len({gold_s[row[a["id"]]] for a in s["articles"]}) == 1 for s in stories), len(stories)

    with_ents = cluster_articles(x, texts, ids, dates=dates)
    blank = cluster_articles(x, ["report"] * len(x), ids)
    assert len(with_ents["themes"]) == 6
    pure, n_stories = purity(with_ents)
    assert pure == n_stories == 12, (pure, n_stories)
    assert purity(blank)[1] < 12  # without names and dates, the events of a theme merge
    assert with_ents["params"]["dated_articles"] == len(x)


def test_keywords_exclude_outlet_names():
    x, texts, ids, _gold = make()
    texts = [f"Reuters Daily reports: {t} Reuters Daily" for t in texts]
    res = cluster_articles(x, texts, ids, exclude_terms=["Reuters Daily"])
    words = {w.lower() for t in res["themes"] for k in t["keywords"] + [t["label"]] for w in k.split()}
    assert not words & {"reuters", "daily"}, words


def test_place_new_articles_by_the_build_rule():
    from pipeline.cluster import PlacementState, place

    x, texts, dates, gold_t, gold_s = make_events(per=12)
    n = len(x)
    held = np.arange(n) % 6 == 0  # one article in six arrives later
    ids = [f"a{i:04d}" for i in range(n)]
    keep = np.flatnonzero(~held)
    res, state = cluster_articles(x[keep], [texts[i] for i in keep], [ids[i] for i in keep],
                                  dates=[dates[i] for i in keep], return_state=True)
    assert len(res["themes"]) == 6
    theme_of = {a["id"]: t["id"] for t in res["themes"] for a in t["articles"]}
    story_of = {a["id"]: s["id"] for t in res["themes"] for s in t["stories"] for a in s["articles"]}
    new = np.flatnonzero(held)
    rng = np.random.default_rng(5)
    noise = rng.normal(size=(1, x.shape[1])).astype(np.float32)  # belongs to no theme
    vecs = np.concatenate([x[new], noise])
    new_texts = [texts[i] for i in new] + ["Nothing to see."]
    new_dates = [dates[i] for i in new] + [None]
    # a round trip through the saved bytes changes nothing
    state2 = PlacementState.from_bytes(state.to_bytes())
    got = place(vecs, new_texts, new_dates, state2, x[keep])
    assert got == place(vecs, new_texts, new_dates, state, x[keep])
    assert got[-1]["theme"] is None  # the noise vector is less like any theme than its members: unplaced
    right_theme = right_story = 0
    for i, g in zip(new, got[:-1]):
        sib = [ids[j] for j in keep if gold_s[j] == gold_s[i]]
        right_theme += g["theme"] == theme_of[sib[0]]
        right_story += g["story"] == story_of[sib[0]]
    # a held-out article is below its theme's floor (less like it than every member) about 1 time in |theme| + 1
    assert right_theme >= len(new) - 2 and right_story >= right_theme - 1, (right_theme, right_story, len(new))
    # an article with its story's names but far from its dates and numbers no longer fits the story; months away
    # it still fits the theme (the theme date term is 0.0025 at 6 months), years away it does not
    i = int(new[0])
    far = place(x[[i]], ["Nothing in common."], ["2017-08-01"], state, x[keep])[0]
    assert far["theme"] == got[0]["theme"] and far["story_similarity"] < got[0]["story_similarity"]
    years = place(x[[i]], [new_texts[0]], ["2027-02-01"], state, x[keep])[0]
    assert years["theme"] is None and years["theme_similarity"] < got[0]["theme_similarity"] - 0.9


def test_place_rejects_mismatched_inputs():
    from pipeline.cluster import place

    x, texts, ids, _ = make()
    _res, state = cluster_articles(x, texts, ids, return_state=True)
    with pytest.raises(ClusterError, match="vectors"):
        place(x[:2], texts[:2], None, state, x[:-1])
    with pytest.raises(ClusterError, match="new_texts"):
        place(x[:2], texts[:1], None, state, x)
    assert place(x[:0], [], None, state, x) == []


def test_entities_names_places_numbers():
    from pipeline.cluster import exclude_words, extract_entities

    text = ("Police said 3 people died in Santa Rosa.\nThe White House said 1,200 were hurt on Monday. "
            "Officials met U.S. President Bush of the Bank of England in 2010, Reuters Daily reported.")
    got = extract_entities(text, exclude_words(["Reuters Daily"]))
    assert got == ["santa rosa", "white house", "u.s president bush", "bank of england", "1200", "2010"], got
    # a sentence's single opening capital ("Police", "Officials"), weekdays, one-digit numbers: not entities


def test_story_time_kernel_and_neutral_dates():
    from pipeline.cluster.stories import TIME_WIDTH_DAYS, parse_days, time_features

    days = parse_days(["2017-02-01", "2017-02-01T12:00:00Z", "2017-02-08", "2017-03-15", None, "not a date"], 6)
    assert np.isnan(days[4]) and np.isnan(days[5]) and days[1] - days[0] == pytest.approx(0.5)
    f = time_features(days)
    k = (f @ f.T).toarray()
    # the features' dot products follow the Gaussian bump exp(-dt^2 / (2 w^2)) closely; undated rows are 0
    for i, j in ((0, 1), (0, 2), (0, 3), (2, 3)):
        want = np.exp(-((days[i] - days[j]) ** 2) / (2 * TIME_WIDTH_DAYS ** 2))
        assert k[i, j] == pytest.approx(want, abs=0.02), (i, j, k[i, j], want)
    assert not k[4].any() and not k[5].any()


def test_theme_date_term_splits_look_alike_news_years_apart():
    """One blob of near-identical texts, half dated 2004-05 and half 2011-12: two themes with dates (the theme date
    term, 0.01 * (dt / 365 d)^2 = 0.49 at 7 years, outweighs their look-alike text), one theme without dates or with
    the term off; themes a few months long stay whole."""
    x, texts, ids, gold = make(n_per=(16, 10, 8, 6, 5))
    rng = np.random.default_rng(3)
    blob = [i for i, g in enumerate(gold) if g == 0]
    early = set(blob[::2])
    dates = []
    for i, g in enumerate(gold):
        day = int(rng.integers(0, 120))  # every group spreads over four months
        year = 2004 if i in early else 2011
        dates.append(f"{year + day // 365}-{1 + (day % 365) // 31:02d}-{1 + day % 28:02d}")
    res, state = cluster_articles(x, texts, ids, dates=dates, return_state=True)
    dated = assignment(res)
    undated = assignment(cluster_articles(x, texts, ids))
    off = assignment(cluster_articles(x, texts, ids, dates=dates, theme_date_horizon=None))
    assert off == undated  # the term off: dates change no theme
    for got in (undated, dated):  # the other blobs are whole and pure either way
        for g in range(1, 5):
            rows = [ids[i] for i in range(len(ids)) if gold[i] == g]
            assert len({got[r] for r in rows}) == 1 and got[rows[0]] is not None
    assert len({undated[ids[i]] for i in blob}) == 1  # without dates the look-alike blob is one theme
    theme_early = {dated[ids[i]] for i in early}
    theme_late = {dated[ids[i]] for i in blob if i not in early}
    assert len(theme_early) == len(theme_late) == 1 and theme_early != theme_late and None not in theme_early
    # an update places a look-alike article by the same rule: into the theme of its own years
    from pipeline.cluster import place

    i = blob[0]
    got = place(x[[i, i]], [texts[i]] * 2, ["2005-02-01", "2012-02-01"], state, x)
    assert [g["theme"] for g in got] == [theme_early.pop(), theme_late.pop()], got


def test_theme_date_term_is_exact_and_neutral_when_undated():
    from pipeline.cluster.dates import date_parts, group_date_term, pair_penalty
    from pipeline.cluster.stories import parse_days

    days = parse_days(["2004-12-26", "2005-01-10", None, "2010-01-12", "2010-03-18", "bad date"], 6)
    parts = date_parts(days, 365.0)
    term = sum(w * (f @ f.T) for f, w in parts)
    dt = days[:, None] - days[None, :]
    want = np.where(np.isfinite(dt), -pair_penalty(np.nan_to_num(dt), 365.0), 0.0)
    np.testing.assert_allclose(term, want, atol=1e-9)
    assert want[0, 3] == pytest.approx(-0.01 * (1843 / 365) ** 2) and want[0, 1] > -0.0001  # 5 years; 15 days
    assert not term[2].any() and not term[5].any()  # an undated article: no term with anyone
    # the group sums give the mean over a group (what the tree, polish and placement use)
    got = group_date_term(days[:2], days[2:], np.array([0, 0, 1, -1]), 2, 365.0)
    np.testing.assert_allclose(got, [[want[0, 3], want[0, 4]], [want[1, 3], want[1, 4]]], atol=1e-9)
    assert not date_parts(days, None) and not date_parts(np.full(3, np.nan), 365.0)
    assert not group_date_term(days[:2], days[2:], np.array([0, 0, 1, -1]), 2, None).any()


def test_cluster_state_v2_loads_without_the_date_term():
    from pipeline.cluster import PlacementState, place

    x, texts, dates, _gt, _gs = make_events(per=6)
    ids = [f"a{i:04d}" for i in range(len(x))]
    _res, state = cluster_articles(x, texts, ids, dates=dates, return_state=True)
    assert state.params["theme_date_horizon"] == 365.0
    state.params = {k: v for k, v in state.params.items() if k != "theme_date_horizon"} | {"version": 2}
    old = PlacementState.from_bytes(state.to_bytes())  # built before the date term: placed without it
    assert old.params["theme_date_horizon"] is None and old.params["version"] == 3
    near = place(x[:1], texts[:1], [dates[0]], old, x)[0]
    far = place(x[:1], texts[:1], ["2030-01-01"], old, x)[0]
    assert near["theme"] == far["theme"] and near["theme_similarity"] == far["theme_similarity"]
    state.params["version"] = 1
    with pytest.raises(ClusterError, match="version 1"):
        PlacementState.from_bytes(state.to_bytes())


def test_silhouette_curve_and_standard_error_match_sklearn():
    from sklearn.metrics import silhouette_samples

    from pipeline.cluster.cuts import _silhouette_basis, _silhouettes
    from pipeline.cluster.tree import _cut, _upgma

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 16))
    x = np.repeat(centres, 12, axis=0) + 0.6 * rng.normal(size=(72, 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    leaf, sizes = np.arange(72), np.ones(72)
    merges = _upgma(x.astype(np.float64), sizes)
    grid = np.array([0.2, 0.4, 0.6])
    sil, se = _silhouettes(_silhouette_basis(x, x.astype(np.float64), leaf, 0), sizes=sizes, merges=merges, grid=grid,
                           with_se=True)
    for t, s, e in zip(grid, sil, se):
        g = _cut(merges, 72, t)
        if g.max() == 0:
            assert s == -1.0
            continue
        want = silhouette_samples(x, g, metric="cosine")
        assert s == pytest.approx(want.mean(), abs=1e-9)
        assert e == pytest.approx(want.std() / np.sqrt(72), abs=1e-9)


def test_theme_cut_is_the_coarsest_within_one_standard_error(monkeypatch):
    import pipeline.cluster.core as core

    x, texts, ids, _ = make()
    grid = np.round(np.arange(0.01, 1.0, 0.01), 4)

    def curve(gap):  # a coarse peak at 0.30 and a finer one, `gap` higher, at 0.60; standard error 0.005
        def fake(basis, *, sizes, merges, grid, with_se=False):
            sil = np.full(len(grid), 0.1)
            sil[np.isclose(grid, 0.30)] = 0.480
            sil[np.isclose(grid, 0.60)] = 0.480 + gap
            return (sil, np.full(len(grid), 0.005)) if with_se else sil
        return fake

    def threshold(gap, one_se=True):
        monkeypatch.setattr(core, "_silhouettes", curve(gap))
        monkeypatch.setattr(core, "THEME_ONE_SE", one_se)
        return cluster_articles(x, texts, ids)["params"]

    near = threshold(0.002)  # within one standard error: the coarser peak
    assert near["theme_threshold"] == 0.30 and "within one standard error (0.0050)" in near["chosen_by"]
    assert threshold(0.02)["theme_threshold"] == 0.60  # clearly better: the finer peak
    assert threshold(0.002, one_se=False)["theme_threshold"] == 0.60  # the plain best
