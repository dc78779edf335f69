"""Outlet boilerplate: marked as spans, kept in the text, left out of sentences; learned per outlet."""

from __future__ import annotations

import json
import random

import pytest

from pipeline.config import IngestConfig
from pipeline.ingest import InputFile, ingest
from pipeline.ingest.boilerplate import find_boilerplate, pattern_spans
from pipeline.ingest.build import source_of

WORDS = ("army bank river council vote market storm school court police hospital farm energy price rail port "
         "bridge budget strike minister union airport harvest flood election coach museum tax").split()
LEADS = ["The central bank", "Floods", "The football club", "Scientists"]


def sentence(rng: random.Random, n: int = 12) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


NAMES = ["Anna Hartley", "Omar Okafor", "Li Nguyen", "Maria Castillo", "James Brennan", "Priya Iyer"]


def article(i: int, rng: random.Random) -> str:
    """Three paragraphs of varied words (so no two articles are near duplicates), the lead opening with a name."""
    return "\n\n".join([f"{LEADS[i % 4]} {sentence(rng)} on day {i}.", f"The {sentence(rng)}.", f"A {sentence(rng)}."])


def outlet_text(i: int, rng: random.Random) -> tuple[str, list[str]]:
    """An article wrapped in one outlet's house text, and the house pieces it holds."""
    city = rng.choice(["LONDON", "PARIS", "NAIROBI", "TOKYO"])
    dateline = f"{city} (Harbor Wire) — "
    byline = f"By {rng.choice(NAMES)} | Harbor Wire"
    related = f"Related: {rng.choice(['Markets slide', 'Storm warning issued', 'Cup final tickets sold out'])}"
    footer = "Harbor Wire — independent journalism since 1921."
    body = article(i, rng)
    first, rest = body.split("\n\n", 1)
    text = f"{byline}\n\n{dateline}{first}\n\n{related}\n\n{rest}\n\n{footer}"
    return text, [byline, dateline.strip(), related, footer]


def jsonl(rows: list[dict]) -> InputFile:
    return InputFile("feed.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())


def covered(article: dict, piece: str) -> bool:
    at = article["text"].find(piece)
    assert at >= 0, piece
    return any(a <= at and at + len(piece) <= b for a, b in article["boilerplate"])


@pytest.mark.parametrize("text,expected", [
    ("MOSCOW, February 7. /TASS/. Investigators have seized watches.", "MOSCOW, February 7. /TASS/. "),
    ("WASHINGTON (Reuters) - The Senate voted on Tuesday.", "WASHINGTON (Reuters) - "),
    ("KUALA LUMPUR, Feb 24 (Reuters) - Malaysia said on Friday.", "KUALA LUMPUR, Feb 24 (Reuters) - "),
    ("Washington (CNN)Vice President Mike Pence cast a vote.", "Washington (CNN)"),
    ("NEW YORK — Stocks rose on Monday.", "NEW YORK — "),
    ("INCHEON /Republic of Korea/, February 9. /TASS/. A tradition.", "INCHEON /Republic of Korea/, February 9. /TASS/. "),
])
def test_datelines_are_marked_up_to_the_lead(text, expected):
    spans = pattern_spans(text)
    assert [(a, b) for a, b, k in spans if k == "dateline"] == [(0, len(expected))]


@pytest.mark.parametrize("text", [
    "U.S. Attorney General Jeff Sessions said on Monday.",
    "International Olympic Committee (IOC) president Thomas Bach said the games would go ahead.",
    "NATO said on Monday it would send more troops.",
    "The UN (United Nations) said aid was arriving.",
    "President Donald Trump's choice of Betsy DeVos was confirmed.",
])
def test_sentences_that_open_like_datelines_are_not_marked(text):
    assert pattern_spans(text) == []


def test_conventional_house_text_in_paragraphs():
    text = ("By Jane Doe\n\nThe council approved the budget on Monday after a long debate.\n\n"
            "Read more: Council elections\n\n(Reporting by John Roe; Editing by Ann Poe)\n\n"
            "© 2024 Example Media. All rights reserved.")
    kinds = {text[a:b]: k for a, b, k in pattern_spans(text)}
    assert kinds == {"By Jane Doe": "byline", "Read more: Council elections": "prompt",
                     "(Reporting by John Roe; Editing by Ann Poe)": "credit",
                     "© 2024 Example Media. All rights reserved.": "copyright"}


def test_learned_house_text_of_an_outlet_is_marked_and_content_kept():
    rng = random.Random(0)
    rows, pieces = [], []
    for i in range(24):
        text, house = outlet_text(i, rng)
        rows.append({"id": f"h{i}", "title": f"Story {i}", "text": text, "source": "Harbor Wire"})
        pieces.append(house)
    articles, report = ingest([jsonl(rows)])
    assert report["unique"] == 24
    for art, house in zip(articles, pieces):
        for piece in house:
            assert covered(art, piece), (piece, art["boilerplate"])
        text = art["text"]
        sents = [text[a:b] for a, b in art["sentences"]]
        # the content is untouched: three body sentences, the lead starting after the dateline
        assert len(sents) == 3, sents
        assert sents[0].startswith(tuple(LEADS)), sents[0]
        for a, b in art["sentences"]:
            assert not any(x < b and a < y for x, y in art["boilerplate"])  # never overlaps house text
    bp = report["boilerplate"]
    assert bp["articles_marked"] == 24
    assert bp["by_source"]["Harbor Wire"]["marked"] == 24
    assert bp["by_kind"]["dateline"] == 24
    assert sum(bp["by_kind"].values()) == bp["spans"]


def test_ending_glued_to_the_last_sentence_is_learned_without_paragraphs():
    rng = random.Random(4)
    rows = []
    for i in range(30):
        w = [rng.choice(WORDS) for _ in range(24)]
        tail = ["Source:-Harbor Wire and news agencies", "Source:-News agencies"][i % 2]
        text = f"The {' '.join(w[:12])} said officials. A {' '.join(w[12:])} number {i} {tail}"
        rows.append({"id": str(i), "text": text, "url": f"https://www.harborwire.example/news/{i}"})
    articles, report = ingest([jsonl(rows)])
    assert report["boilerplate"]["by_source"]["harborwire.example"]["marked"] == 30
    for art in articles:
        last = art["text"][slice(*art["sentences"][-1])]
        assert "Source" not in last and last.endswith(f"number {art['sources'][0]['input_id']}"), last
        assert art["source"] == "harborwire.example"


def test_copies_of_one_story_are_not_house_text():
    rng = random.Random(1)
    story = "The mayor opened the new bridge across the river on Sunday morning.\n\nThousands of people walked over it."
    rows = [{"id": f"c{k}", "text": story, "source": "Daily"} for k in range(6)]
    rows += [{"id": f"n{k}", "text": story + f" Organisers counted {k + 1000} visitors.", "source": "Daily"}
             for k in range(4)]
    rows += [{"id": f"o{i}", "text": article(i, rng), "source": "Daily"} for i in range(12)]
    articles, report = ingest([jsonl(rows)])
    bridge = [a for a in articles if "bridge" in a["text"]]
    assert bridge and all(a["boilerplate"] == [] and len(a["sentences"]) >= 2 for a in bridge)


def test_a_story_template_is_never_emptied():
    # every text of this outlet is the same template up to its numbers: learned rules must not empty them
    rows = [{"id": str(i), "text": f"Shares of Acme rose {i} percent in early trading on day {i + 7} of the month "
             f"{i + 3}.", "source": "Ticker"} for i in range(20)]
    articles, report = ingest([jsonl(rows)])
    assert report["unique"] == 20 and report["rejected"] == 0
    assert all(a["sentences"] for a in articles)


def test_one_story_from_two_outlets_is_one_article():
    rng = random.Random(2)
    body = article(1, rng)
    rows = [{"id": "x", "text": f"LONDON (Harbor Wire) — {body}", "source": "Harbor Wire"},
            {"id": "y", "text": f"PARIS, March 3 /GWS/ - {body}\n\n© 2024 GWS. All rights reserved.", "source": "GWS"}]
    articles, report = ingest([jsonl(rows)])
    assert report["unique"] == 1 and report["duplicates"] == 1
    assert {s["input_id"] for s in articles[0]["sources"]} == {"x", "y"}


def test_boilerplate_can_be_switched_off():
    rng = random.Random(3)
    rows = [{"id": str(i), "text": outlet_text(i, rng)[0], "source": "Harbor Wire"} for i in range(12)]
    articles, report = ingest([jsonl(rows)], IngestConfig(boilerplate=False))
    assert all(a["boilerplate"] == [] for a in articles)
    assert report["boilerplate"]["spans"] == 0


def test_learning_needs_enough_articles_of_the_outlet():
    texts = ["Alpha happened today in the city centre. Follow Tiny Outlet for more."] * 1 + \
            [f"Story {i} about something else entirely, with details. Follow Tiny Outlet for more." for i in range(4)]
    spans = find_boilerplate(texts, ["Tiny"] * len(texts))
    assert all(s == [] for s in spans)  # five articles: too few to learn from


@pytest.mark.parametrize("outlet,url,expected", [
    ("Reuters", "https://www.reuters.com/x", "Reuters"),
    (None, "https://www.tass.com/politics/1", "tass.com"),
    (None, "http://europe.chinadaily.com.cn/a.htm", "europe.chinadaily.com.cn"),
    (None, "not a url", None),
    (None, "javascript:alert(1)", None),
    (None, "www.bbc.co.uk/news/x", "bbc.co.uk"),
    (None, None, None),
])
def test_source_is_the_outlet_else_the_url_host(outlet, url, expected):
    assert source_of(outlet, url) == expected


def test_new_records_join_earlier_articles_instead_of_repeating_them():
    from pipeline.ingest.update import ingest_more

    rng = random.Random(5)
    rows = [{"id": f"o{i}", "title": f"Old {i}", "text": outlet_text(i, rng)[0], "source": "Harbor Wire"}
            for i in range(20)]
    index: dict = {}
    old, _ = ingest([jsonl(rows)], index=index)
    assert index["minhash"].shape == (20, 128) and index["content"].shape == (20,)
    again = dict(rows[3], id="again")                                      # the same record once more
    body = old[5]["text"][slice(old[5]["sentences"][0][0], old[5]["sentences"][-1][1])]
    other_outlet = {"id": "copy", "text": f"PARIS, May 2 /GWS/ - {body}", "source": "GWS"}  # same story, other house
    edited = dict(rows[7], id="edited", text=rows[7]["text"].replace("on day 7", "on day seven"))  # a small edit
    fresh = {"id": "fresh", "title": "New", "text": outlet_text(99, rng)[0], "source": "Harbor Wire"}
    new, joined, report, new_index = ingest_more([InputFile("day2.jsonl", jsonl([again, other_outlet, edited, fresh])
                                                            .data)], old, index)
    assert [a["sources"][0]["input_id"] for a in new] == ["fresh"]
    assert set(joined) == {3, 5, 7}
    assert [s["input_id"] for s in joined[3]["sources"]] == ["o3", "again"]
    assert [s["input_id"] for s in joined[5]["sources"]] == ["o5", "copy"]
    assert {j["kind"] for j in report["joined_earlier"]} == {"exact", "near"}
    assert report["read"] == 4 and report["unique"] == 1 and report["duplicates"] == 3
    assert len(old[3]["sources"]) == 1  # the earlier article passed in is not mutated
    assert new_index["minhash"].shape == (1, 128)
    assert covered(new[0], "Harbor Wire — independent journalism since 1921.")  # house text learned with old ones
