"""Tests of the sentence splitter's news guards (``pipeline.text.split_sentences``): titles, datelines, glued dates,
URLs and headlines that run into the lead. Cases are the ones found in MultiLing, ECB+ and news2017."""

from __future__ import annotations

import pytest

from pipeline.text import TITLES, lead_start, split_sentences


def sents(text: str) -> list[str]:
    spans = split_sentences(text)
    assert all(text[a:b] == text[a:b].strip() and b > a for a, b in spans)
    assert spans == sorted(spans) and all(b1 <= a2 for (_a1, b1), (a2, _b2) in zip(spans, spans[1:]))
    return [text[a:b] for a, b in spans]


def test_army_spc_is_one_sentence():  # the example (MultiLing, Abu Ghraib)
    t = ("A United States Army court martial found Army Spc. Charles Graner guilty of abusing prisoners at Iraq's "
         "Abu Ghraib prison. He was sentenced to ten years.")
    assert sents(t) == [t[: t.index(" He ")], "He was sentenced to ten years."]


@pytest.mark.parametrize("title", ["Spc.", "Sgt.", "Gen.", "Lt. Col.", "Rep.", "Sen.", "Gov.", "St.", "Mr.", "Dr.",
                                   "Staff Sgt.", "Maj. Gen.", "Prof.", "Capt."])
def test_titles_and_ranks_never_end_a_sentence(title):
    t = f"The board heard {title} Ivan Frederick on Monday. It adjourned."
    assert sents(t) == [f"The board heard {title} Ivan Frederick on Monday.", "It adjourned."]
    t = f"{title} Ivan Frederick spoke to the board. It adjourned."
    assert sents(t) == [f"{title} Ivan Frederick spoke to the board.", "It adjourned."]


def test_number_abbreviation_only_before_a_number():
    assert sents("He lives at No. 10 Downing Street. It is old.") == ["He lives at No. 10 Downing Street.", "It is old."]
    assert {"Spc", "Sgt", "Gen", "Lt", "Col", "Rep", "Sen", "Gov", "St"} <= set(TITLES)


def test_glued_date_is_outside_the_span():  # the example (MultiLing, tsunami)
    t = ("Countries affected by the 2004 Indian Ocean tsunami\n\nTuesday, January 18, 2005Through a telethon, "
         "Romanians have raised 15 billion lei.")
    assert sents(t) == ["Countries affected by the 2004 Indian Ocean tsunami",
                        "Through a telethon, Romanians have raised 15 billion lei."]


@pytest.mark.parametrize("prefix", [
    "WASHINGTON (AP) -- ",
    "WASHINGTON (AP) — ",
    "Washington (CNN)",
    "KUALA LUMPUR, Feb 24 (Reuters) - ",
    "Qayyarah, Iraq - ",
    "TEXAS, US – ",
    "MOSCOW _ ",
    "Saturday, March 26, 2005 ",
])
def test_dateline_is_outside_the_span(prefix):
    body = "The Senate passed the bill on Friday after a long debate."
    assert sents(prefix + body + " It now goes to the House.") == [body, "It now goes to the House."]
    assert lead_start(prefix + body) == len(prefix)
    # after a title line and a date line, as MultiLing prints its articles
    t = f"Senate passes the bill\n\nJanuary 15, 2005\n\n{prefix}{body}"
    assert sents(t) == ["Senate passes the bill", "January 15, 2005", body]


@pytest.mark.parametrize("text", [
    "The Amur International Rail Bridge - known in China as the Tongjiang bridge - is nearly finished.",
    "Arnold Schwarzenegger - who claims to speak for millions - said no.",
    "Bush said that on January 15, 2005 Congress would act on the bill.",
    "The European Union (EU) - the bloc of 28 states - met on Monday.",
])
def test_ordinary_openings_are_not_datelines(text):
    assert sents(text) == [text]
    assert lead_start(text) == 0


def test_dateline_is_only_removed_near_the_start():
    body = "Qayyarah, Iraq - Six months after the offensive began, the town is quiet."
    t = "\n\n".join(["First paragraph here.", "Second one.", "Third one.", "Fourth one.", body])
    assert sents(t)[-1] == body


def test_ecb_spaced_url_and_dated_headline_split_from_the_lead():
    t = ("http: / / articles. latimes. com / 2013 / may / 03 / local / la - me - 0504 - lohan - rehab - 20130504 "
         "Lindsay Lohan checks into Betty Ford Center May 03, 2013 After skipping out on entering a Newport Beach "
         "rehabilitation facility, Lindsay Lohan has checked into the Betty Ford Center. Lohan was there before.")
    assert sents(t) == [
        "Lindsay Lohan checks into Betty Ford Center",
        "After skipping out on entering a Newport Beach rehabilitation facility, Lindsay Lohan has checked into the "
        "Betty Ford Center.",
        "Lohan was there before.",
    ]
    t = ("http: / / newsok. com / oklahoma - man - pleads / article / 3742740 Oklahoma man pleads not guilty in "
         "deaths of Arkansas woman Published: January 3, 2013 An Oklahoma man has pleaded not guilty to murder.")
    assert sents(t) == ["Oklahoma man pleads not guilty in deaths of Arkansas woman",
                        "An Oklahoma man has pleaded not guilty to murder."]
    t = ("http: / / www. people. com / people / article / 0,, 20697025, 00. html Lindsay Lohan Checks Into Rehab "
         "Lindsay Lohan has checked into the Betty Ford Center, her lawyer said.")
    assert not any("http" in s or " / " in s for s in sents(t))


def test_undated_ecb_headline_split_from_the_lead():
    t = ("http: / / www. nbcnews. com / id / 3742740 Okla. man guilty of killing pregnant girlfriend An Oklahoma man "
         "was found guilty Thursday of killing his pregnant girlfriend and her unborn child.")
    assert sents(t) == ["Okla. man guilty of killing pregnant girlfriend",
                        "An Oklahoma man was found guilty Thursday of killing his pregnant girlfriend and her unborn "
                        "child."]
    # a title-case phrase inside an ordinary lead sentence is not a headline
    t = "Police in Athens said The Guardian had reported the fire on Monday night after the strike."
    assert sents(t) == [t]


def test_spans_are_offsets_into_the_original_text():
    t = "  WASHINGTON (AP) -- Gen. Mark Milley spoke.\n\nHe left.  "
    spans = split_sentences(t)
    assert [t[a:b] for a, b in spans] == ["Gen. Mark Milley spoke.", "He left."]
