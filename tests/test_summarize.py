"""Tests of the summarisation algorithm (hand-made sentences and random vectors; no model)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import PipelineError
from pipeline.summarize import DEFAULTS, Candidate, SummarizeError, summarize_group, summarize_group_details

TOPIC = [
    "The earthquake struck off the coast of Sumatra on Sunday, killing thousands of people in the region.",
    "Rescue teams from several countries arrived in Aceh province to search for survivors of the earthquake.",
    "The United Nations said the death toll from the earthquake could rise above one hundred thousand.",
    "Aid agencies warned that clean water and food were running short in the coastal towns of Aceh.",
    "Japan pledged five hundred million dollars in aid to the countries hit by the earthquake and tsunami.",
    "The tsunami waves reached the coasts of Thailand, Sri Lanka and India within hours of the earthquake.",
    "Officials in Sri Lanka said entire fishing villages had been destroyed by the tsunami waves.",
    "The World Health Organization warned of disease outbreaks in camps for people displaced by the tsunami.",
]


def make_group(n_articles=4, per_article=6, seed=0, date=True):
    """Articles that share the topic sentences (with small variations) and random-ish vectors."""
    rng = np.random.default_rng(seed)
    cands, texts = [], []
    for a in range(n_articles):
        sents = [f"Saturday, January {a + 1}, 2005"]
        for k in range(per_article):
            base = TOPIC[(a + k) % len(TOPIC)]
            sents.append(base if k % 2 == 0 else base.replace("The ", f"Reports say the {a} ", 1))
        text = ""
        for k, s in enumerate(sents):
            start = len(text)
            text += s + "\n\n"
            cands.append(
                Candidate(f"art{a}", start, start + len(s), s, k, len(sents), f"2005-01-{10 - a:02d}" if date else None)
            )
            texts.append(s)
    topic_dir = rng.normal(size=16)
    vecs = []
    for s in texts:
        k = TOPIC.index(s) if s in TOPIC else -1
        v = rng.normal(size=16) + (2.0 * topic_dir if k >= 0 else 0)
        vecs.append(v)
    vecs = np.array(vecs, dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return cands, vecs


def n_words(cands, idx):
    return sum(len(cands[i].text.split()) for i in idx)


def reading_key(c):
    return (c.date is None, c.date or "", c.article_id, c.position)


def test_budget_respected_and_reading_order():
    cands, vecs = make_group()
    for words in (20, 40, 60, 100, 250):
        idx = summarize_group(cands, vecs, words=words)
        assert idx, words
        assert n_words(cands, idx) <= words
        keys = [reading_key(cands[i]) for i in idx]
        assert keys == sorted(keys)
        assert len(set(idx)) == len(idx)


def test_reading_order_uses_article_date_then_position():
    cands, vecs = make_group()
    idx = summarize_group(cands, vecs, words=250)
    dates = [cands[i].date for i in idx]
    assert dates == sorted(dates)
    # art3 has the earliest date (2005-01-07), so it comes first when chosen
    assert cands[idx[0]].date == min(dates)


def test_at_least_one_sentence_when_budget_too_small():
    cands, vecs = make_group()
    idx = summarize_group(cands, vecs, words=3)
    assert len(idx) == 1
    assert len(cands[idx[0]].text.split()) >= 8


def test_sentences_count():
    cands, vecs = make_group()
    for k in (1, 2, 3):
        idx = summarize_group(cands, vecs, sentences=k)
        assert 1 <= len(idx) <= k
    assert len(summarize_group(cands, vecs, sentences=3, words=None)) == 3


def test_empty_input():
    assert summarize_group([], np.zeros((0, 8), dtype=np.float32)) == []


def test_nothing_usable_returns_empty():
    c = [Candidate("a", 0, 9, "Too short", 0, 1), Candidate("a", 10, 20, "By John Smith", 1, 2)]
    assert summarize_group(c, np.eye(2, dtype=np.float32)) == []


def test_captions_bylines_fragments_datelines_never_chosen():
    cands, vecs = make_group(n_articles=3)
    extra = [
        ("By John Smith and Jane Doe, Staff Writers of the Daily Planet newspaper", False),
        ("Reporting by Jane Doe in Jakarta; editing by John Smith and the whole team", False),
        ("The earthquake struck off the coast of Sumatra, killing thousands, photo shows", True),
        ("Earthquake survivors", False),
        ("Is the earthquake the largest ever recorded in the region by the experts?", False),
        ("Photo: rescue teams from several countries arrived in Aceh province to search", False),
    ]
    start = 10_000
    for k, (t, cap) in enumerate(extra):
        cands.append(Candidate("artX", start, start + len(t), t, k, len(extra), "2005-01-01", is_caption=cap))
        start += len(t) + 2
    # give the junk the most central vectors of all
    centre = vecs.mean(axis=0)
    centre /= np.linalg.norm(centre)
    vecs = np.vstack([vecs, np.repeat(centre[None], len(extra), axis=0)])
    bad = set(range(len(cands) - len(extra), len(cands)))
    for words in (30, 100, 250):
        for solver in ("auto", "greedy"):
            idx = summarize_group(cands, vecs, words=words, solver=solver)
            assert not bad & set(idx)
            assert all(not cands[i].text.startswith("Saturday") for i in idx)


def test_dateline_prefix_does_not_block_a_sentence():
    t = "JAKARTA (Reuters) - The earthquake struck off the coast of Sumatra on Sunday, killing thousands of people."
    c = [Candidate("a", 0, len(t), t, 0, 1, "2005-01-01")]
    assert summarize_group(c, np.ones((1, 4), dtype=np.float32) / 2) == [0]


def test_deterministic():
    cands, vecs = make_group(n_articles=5, seed=3)
    first = summarize_group(cands, vecs, words=80)
    for _ in range(3):
        assert summarize_group(cands, vecs, words=80) == first
    # the result does not depend on the order of the candidates
    perm = np.random.default_rng(1).permutation(len(cands))
    shuffled = [cands[i] for i in perm]
    idx = summarize_group(shuffled, vecs[perm], words=80)
    assert sorted(perm[i] for i in idx) == sorted(first)


def test_identical_sentences_from_two_articles_never_both_chosen():
    s = "The earthquake struck off the coast of Sumatra on Sunday, killing thousands of people in the region."
    o = "Japan pledged five hundred million dollars in aid to the countries hit by the earthquake and tsunami."
    cands = [
        Candidate("a", 0, len(s), s, 0, 2, "2005-01-01"),
        Candidate("a", 200, 200 + len(o), o, 1, 2, "2005-01-01"),
        Candidate("b", 0, len(s), s, 0, 2, "2005-01-02"),
        Candidate("b", 200, 200 + len(o), o, 1, 2, "2005-01-02"),
    ]
    rng = np.random.default_rng(0)
    v1, v2 = rng.normal(size=8), rng.normal(size=8)
    vecs = np.array([v1, v2, v1, v2], dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    for solver in ("auto", "greedy"):
        idx = summarize_group(cands, vecs, words=250, solver=solver)
        texts = [cands[i].text for i in idx]
        assert len(texts) == len(set(texts)) == 2
    # near-duplicates (cosine above the threshold, different wording) are not both chosen either
    s2 = s.replace("Sunday", "Sunday morning")
    cands[2] = Candidate("b", 0, len(s2), s2, 0, 2, "2005-01-02")
    idx = summarize_group(cands, vecs, words=250)
    assert not {0, 2} <= set(idx)


def test_article_weights_accepted():
    cands, vecs = make_group()
    idx = summarize_group(cands, vecs, words=60, article_weights={"art0": 3.0, "art1": 0.1})
    assert idx and n_words(cands, idx) <= 60


def test_single_article_group():
    cands, vecs = make_group(n_articles=1, per_article=8)
    idx = summarize_group(cands, vecs, words=50)
    assert idx and n_words(cands, idx) <= 50


@pytest.mark.parametrize(
    "kwargs, word",
    [
        ({"words": 0}, "words"),
        ({"words": -3}, "words"),
        ({"words": 2.5}, "words"),
        ({"words": None, "sentences": None}, "sentences"),
        ({"sentences": 0}, "sentences"),
        ({"redundancy": 1.5}, "redundancy"),
        ({"min_words": 10, "max_words": 5}, "max_words"),
        ({"solver": "cplex"}, "solver"),
        ({"position_weight": -1.0}, "position_weight"),
        ({"no_such_param": 1}, "no_such_param"),
        ({"article_weights": {"art0": -1.0}}, "article_weights"),
    ],
)
def test_invalid_params_raise(kwargs, word):
    cands, vecs = make_group(n_articles=2)
    with pytest.raises(SummarizeError, match=word) as err:
        summarize_group(cands, vecs, **kwargs)
    assert isinstance(err.value, PipelineError)


def test_vector_shape_mismatch_raises():
    cands, vecs = make_group(n_articles=2)
    with pytest.raises(SummarizeError, match="vectors"):
        summarize_group(cands, vecs[:-1])


def test_large_group_is_pruned_and_stays_within_budget():
    rng = np.random.default_rng(7)
    vocab = [f"w{k}" for k in range(300)]
    cands = []
    for a in range(40):
        for k in range(50):
            words = rng.choice(vocab, size=int(rng.integers(9, 30)))
            t = "The " + " ".join(words) + "."
            cands.append(Candidate(f"a{a:02d}", 0, len(t), t, k, 50, "2020-01-01"))
    vecs = rng.normal(size=(len(cands), 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    assert len(cands) == 2000
    res = summarize_group_details(cands, vecs, words=100)
    assert res.n_usable == 2000 and res.n_considered == DEFAULTS["max_candidates"] < 2000
    assert res.solver in ("ilp", "greedy")
    assert res.indices and n_words(cands, res.indices) <= 100
    # the greedy fallback alone also works at this size
    res = summarize_group_details(cands, vecs, words=100, solver="greedy", max_candidates=2000)
    assert res.solver == "greedy" and res.indices and n_words(cands, res.indices) <= 100


def test_filters_and_dateline_helpers():
    from pipeline.summarize import content_start, is_usable

    t = "WASHINGTON (Reuters) - The Senate passed the bill on Friday after a long debate."
    assert t[content_start(t) :].startswith("The Senate")
    t2 = "Meadow Lake, Saskatchewan – The council said it had donated the money by accident."
    assert t2[content_start(t2) :].startswith("The council")
    assert content_start("The U.S. military said on Monday it had struck targets in Iraq.") == 0

    def cand(text, **kw):
        return Candidate("a", 0, len(text), text, 1, 3, **kw)

    ok = "The council approved the donation during a meeting by three votes to two."
    assert is_usable(cand(ok))
    assert not is_usable(cand(ok, is_caption=True))
    assert not is_usable(cand("By John Smith, Associated Press Writer based in the capital city."))
    assert not is_usable(cand("(Reporting by Jane Doe; Editing by John Smith and Peter Graff.)"))
    assert not is_usable(cand("Saturday, January 8, 2005"))
    assert not is_usable(cand("The second part is composed of a section calling for a shared vision:"))
    assert not is_usable(cand("Will the council ever get its ten thousand dollars back from the Red Cross?"))
    assert not is_usable(cand(" ".join(["word"] * 70) + "."))
    lead = "He went on to say that the roadmap was a pivotal first step toward an agreement."
    assert is_usable(cand(lead)) and not is_usable(cand(lead), dangling="drop")


def test_no_output_on_stdout(capfd):
    cands, vecs = make_group(n_articles=6, seed=5)
    summarize_group(cands, vecs, words=120)
    out, _ = capfd.readouterr()
    assert out == ""


def test_zero_time_limit_still_returns_a_valid_summary():
    cands, vecs = make_group(n_articles=6, seed=2)
    res = summarize_group_details(cands, vecs, words=60, time_limit=0.0)
    assert res.solver in ("ilp", "greedy") and res.indices and n_words(cands, res.indices) <= 60


def test_duc_style_underscore_dateline():
    from pipeline.summarize import content_start

    t = "UNITED NATIONS (AP) _ The Security Council voted on Friday to extend the mission."
    assert t[content_start(t) :].startswith("The Security")
    t = "MOSCOW _ Russia's parliament approved the budget on Wednesday after months of talks."
    assert t[content_start(t) :].startswith("Russia's")
