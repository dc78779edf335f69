"""Ingest: formats, boilerplate, sentences, duplicates, ids, bad input, conservation."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import IngestConfig
from pipeline.ingest import (
    IngestError,
    InputFile,
    ParsedInputs,
    build_articles,
    decode,
    expand_inputs,
    ingest,
    parse_file,
    parse_seed_block,
)

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_TITLES = {
    "Iraq Collaborates With NATO to Fight ISIS",
    "Netanyahu Offers Hamas Leaders Gaza Exit but Demands Group Disarm",
    "Israeli Strikes Kill 14 in Gaza and Destroy Heavy Equipment Needed to Clear Rubble",
    "Israeli Army Reaches Outskirts of Litani River in Southern Lebanon",
    "Global Coalition Expands Cooperation with Iraq",
    "Middle East Must Emerge from Turbulence with Peace and Horizon of Hope, UN Chief Says",
    "Iraqi Army Launches 4th Phase of Iraqi Heroes Operation",
    "Egypt Hosts Hamas in New Gaza Ceasefire Push, Looting Halts Aid",
}

WIRE = (
    "Israeli strikes on the Gaza Strip killed at least 14 Palestinians on Monday, mostly women and children, "
    "and destroyed bulldozers that were needed to clear rubble, local health officials said. "
    "A municipality in the Jabaliya area of northern Gaza said a strike on its parking garage destroyed nine "
    "bulldozers provided by aid groups. The strikes also destroyed a water tanker and a mobile generator. "
    "There was no immediate comment from the Israeli military on the strikes in the north of the territory."
)
OTHER = (
    "The Iraqi forces launched on Saturday the fourth phase of their battle against terrorist organisations in "
    "Diyala governorate. Deputy chief of staff Lieutenant General Abdul Amir al-Shammari announced the launch. "
    "He said the operation covers more than 17,000 square kilometres with the Land Forces Command."
)


def files_from(paths) -> list[InputFile]:
    found, _ = expand_inputs(paths)
    return [InputFile(str(p), p.read_bytes()) for p in found]


def run_bytes(*named: tuple[str, bytes], cfg: IngestConfig | None = None):
    return ingest([InputFile(n, d) for n, d in named], cfg)


def jsonl(*rows) -> bytes:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows).encode("utf-8")


def assert_conserved(report):
    assert report["read"] == report["unique"] + report["duplicates"] + report["rejected"]


# ---------------------------------------------------------------------------------------------------------------
# Golden test on the seeds
# ---------------------------------------------------------------------------------------------------------------
def test_seeds_golden():
    articles, report = ingest(files_from([SEEDS]))
    assert report["read"] == 10
    assert report["unique"] == 8
    assert report["duplicates"] == 2
    assert report["rejected"] == 0
    assert {a["title"] for a in articles} == SEED_TITLES
    nato = next(a for a in articles if a["title"].startswith("Iraq Collaborates"))
    assert len(nato["sources"]) == 3
    assert sorted(Path(s["path"]).name[:3] for s in nato["sources"]) == ["000", "001", "002"]
    assert nato["caption"].startswith("Five ISIS terrorists died")
    for a in articles:
        lines = a["text"].split("\n")
        assert "TT" not in lines and "20" not in lines
        assert a["title"] not in a["text"], a["title"]
        assert a["caption"] and a["caption"] not in a["text"]
        assert all(len(ln.split()) > 3 for ln in lines if ln), "a short boilerplate line is left"
        for s, e in a["sentences"]:
            assert 0 <= s < e <= len(a["text"])
            assert a["text"][s:e] == a["text"][s:e].strip()
    # body paragraphs keep their order
    assert nato["text"].startswith("Iraqi Foreign Minister Fuad Hussein assured Monday")
    assert nato["text"].rstrip().endswith("supported by Iraqi air forces and coalition warplanes.")


def test_seed_block_parser_handles_missing_stray_lines():
    block = "Headline Here\n\nCaption text (Reuters)\nCaption text (Reuters)\n\nHeadline Here\n\nBody one. Two.\n\nBody three."
    title, caption, body, _ = parse_seed_block(block)
    assert (title, caption, body) == ("Headline Here", "Caption text (Reuters)", ["Body one. Two.", "Body three."])


def test_ids_are_content_derived_and_order_independent():
    fs = files_from([SEEDS])
    a1, _ = ingest(fs)
    a2, _ = ingest(list(reversed(fs)))
    assert sorted(a["id"] for a in a1) == sorted(a["id"] for a in a2)
    a3, _ = ingest(files_from([SEEDS]))
    assert [a["id"] for a in a1] == [a["id"] for a in a3]


def test_sentence_spans_handle_abbreviations():
    text = ("The U.S. military said Gen. Mark Milley met Dr. Allawi on Oct. 7, 2023 in Baghdad. "
            "Officials gave no details.")
    arts, _ = run_bytes(("a.jsonl", jsonl({"id": "1", "title": "t", "text": text})))
    sents = [arts[0]["text"][s:e] for s, e in arts[0]["sentences"]]
    assert sents == ["The U.S. military said Gen. Mark Milley met Dr. Allawi on Oct. 7, 2023 in Baghdad.",
                     "Officials gave no details."]


# ---------------------------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------------------------
def test_jsonl_fields_and_extra_fields_carried():
    data = jsonl({"id": "x1", "title": "T", "text": WIRE, "date": "2025-04-01", "source": "AP", "url": "http://u",
                  "label": "gaza", "nested": {"k": [1, 2]}})
    arts, report = run_bytes(("in.jsonl", data))
    a = arts[0]
    assert (a["title"], a["date"], a["source"], a["url"]) == ("T", "2025-04-01", "AP", "http://u")
    assert a["meta"] == {"label": "gaza", "nested": {"k": [1, 2]}}
    assert a["sources"] == [{"path": "in.jsonl", "index": 1, "input_id": "x1"}]


def test_csv_defaults_fit_news2017_columns_and_extra_columns_kept():
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["article_id", "publish_date", "article_source_link", "title", "subtitle", "text"])
    w.writerow(["1", "2017/2/7", "http://x", "DeVos confirmed", "sub", WIRE])
    w.writerow(["2", "2017/2/8", "http://y", "Other", "", OTHER])
    arts, report = run_bytes(("n.csv", buf.getvalue().encode()))
    assert report["unique"] == 2
    assert arts[0]["date"] == "2017-02-07" and arts[0]["url"] == "http://x" and arts[0]["meta"] == {"subtitle": "sub"}
    assert arts[0]["sources"][0]["input_id"] == "1"


def test_csv_column_mapping_configurable():
    data = b"key,headline,body\nk1,H,\"" + WIRE.encode() + b"\"\n"
    cfg = IngestConfig.model_validate({"csv_columns": {"id": "key", "title": "headline", "text": "body", "date": None,
                                                       "url": None}})
    arts, _ = run_bytes(("c.csv", data), cfg=cfg)
    assert arts[0]["title"] == "H" and arts[0]["sources"][0]["input_id"] == "k1"


@pytest.mark.parametrize("name", ["a.txt.gz", "a.jsonl.gz", "a.csv.gz"])
def test_gzip_of_each_format(name):
    if name.startswith("a.txt"):
        raw = ("Headline\n\n" + WIRE + "\n").encode()
    elif name.startswith("a.jsonl"):
        raw = jsonl({"id": "1", "title": "Headline", "text": WIRE})
    else:
        raw = ("article_id,title,text\n1,Headline,\"" + WIRE + "\"\n").encode()
    arts, report = run_bytes((name, gzip.compress(raw)))
    assert report["unique"] == 1 and arts[0]["title"] == "Headline"


def test_folder_mixing_formats(tmp_path):
    (tmp_path / "one.txt").write_text("Headline A\n\n" + WIRE + "\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "two.jsonl").write_text(json.dumps({"id": "2", "title": "B", "text": OTHER}) + "\n")
    (tmp_path / "notes.md").write_text("not an input")
    files, skipped = expand_inputs([tmp_path])
    assert [f.name for f in files] == ["one.txt", "two.jsonl"]
    assert skipped == [{"path": str(tmp_path / "notes.md"), "reason": "unsupported file type"}]
    arts, report = ingest([InputFile(str(f), f.read_bytes()) for f in files], skipped=skipped)
    assert report["unique"] == 2 and report["skipped_files"] == skipped


# ---------------------------------------------------------------------------------------------------------------
# Duplicates
# ---------------------------------------------------------------------------------------------------------------
def test_exact_and_near_duplicates_collapse_with_all_sources():
    edited = WIRE.replace("on Monday", "on Monday morning").replace("local health officials said", "officials said")
    data = jsonl(
        {"id": "1", "title": "A", "text": WIRE},
        {"id": "2", "title": "A copy", "text": "  " + WIRE.upper() + "  "},  # exact after normalisation
        {"id": "3", "title": "A edited", "text": edited},  # near duplicate
        {"id": "4", "title": "B", "text": OTHER},
    )
    arts, report = run_bytes(("d.jsonl", data))
    assert report["unique"] == 2 and report["duplicates"] == 2
    gaza = next(a for a in arts if "Jabaliya" in a["text"])
    assert sorted(s["input_id"] for s in gaza["sources"]) == ["1", "2", "3"]
    kinds = report["duplicate_groups"][0]["kinds"]
    assert sorted(kinds) == ["exact", "near"]
    assert_conserved(report)


def test_per_text_steps_give_the_same_articles_on_any_number_of_workers(monkeypatch):
    """Signatures, house text and sentences are made in forked workers on large inputs: the articles, report and
    dedupe index are those of the plain loop."""
    from pipeline import forkmap

    edited = WIRE.replace("on Monday", "on Monday morning").replace("local health officials said", "officials said")
    rows = [{"id": str(i), "title": f"T{i}", "source": f"outlet{i % 2}",
             "text": f"CAIRO (Reuters) - {t}\n\nReporting by Staff {i % 2}; Editing by Desk"}
            for i, t in enumerate([WIRE, edited, OTHER, WIRE.upper()] * 3 + [OTHER.replace("Saturday", "Sunday")])]
    files = files_from([SEEDS]) + [InputFile("d.jsonl", jsonl(*rows))]
    results = []
    monkeypatch.setattr(forkmap, "MIN_ITEMS", 1)
    for n in (1, 2, 3):
        monkeypatch.setattr(forkmap, "workers", lambda n=n: n)
        index: dict = {}
        arts, report = ingest(files, index=index)
        results.append((json.dumps(arts, sort_keys=True), json.dumps(report, sort_keys=True),
                        index["minhash"].tobytes(), index["content"].tobytes()))
    assert results[0] == results[1] == results[2]
    assert report["unique"] < report["read"] and report["boilerplate"]["spans"] > 0


def test_near_duplicate_threshold_is_respected():
    half = WIRE.split(". ")[0] + ". " + OTHER
    arts, report = run_bytes(("d.jsonl", jsonl({"id": "1", "text": WIRE}, {"id": "2", "text": half})))
    assert report["unique"] == 2


# ---------------------------------------------------------------------------------------------------------------
# Bad input: each is rejected with a reason or accepted with a warning; nothing is lost
# ---------------------------------------------------------------------------------------------------------------
def test_empty_file_rejected_but_others_kept():
    arts, report = run_bytes(("empty.txt", b""), ("ok.jsonl", jsonl({"id": "1", "text": WIRE})))
    assert report["unique"] == 1
    assert report["rejections"] == [{"source": {"path": "empty.txt", "index": None, "input_id": None},
                                     "reason": "empty file"}]
    assert_conserved(report)


def test_only_bad_input_raises_one_line_error():
    with pytest.raises(IngestError, match=r"no usable article in 1 input file\(s\): 1 rejected \(empty file\)"):
        run_bytes(("empty.txt", b"   \n\n"))


def test_empty_folder(tmp_path):
    with pytest.raises(IngestError, match="holds no .txt, .jsonl, .json, .csv"):
        expand_inputs([tmp_path])


def test_missing_path(tmp_path):
    with pytest.raises(IngestError, match="input not found"):
        expand_inputs([tmp_path / "nope"])


def test_binary_file_rejected():
    blob = bytes(range(256)) * 40
    _, report = run_bytes(("img.txt", blob), ("ok.jsonl", jsonl({"id": "1", "text": WIRE})))
    assert report["rejections"][0]["reason"].startswith("binary file")
    assert_conserved(report)


def test_corrupt_gzip_rejected():
    _, report = run_bytes(("x.jsonl.gz", b"\x1f\x8b\x08garbage"), ("ok.jsonl", jsonl({"id": "1", "text": WIRE})))
    assert report["rejections"][0]["reason"].startswith("corrupt gzip data")


def test_cp1252_file_decoded_and_recorded():
    text = "Headline\n\nThe minister\u2019s caf\u00e9 speech \u2014 in full \u2013 was praised by everyone present today."
    arts, report = run_bytes(("w.txt", text.encode("cp1252")))
    assert "\u2019s caf\u00e9" in arts[0]["text"]
    assert any("decoded as Windows-1252" in w for w in report["warnings"])
    assert any("Windows-1252" in w for w in arts[0]["warnings"])


def test_latin1_fallback():
    text, warning = decode(b"caf\xe9 \x81 bar")  # 0x81 is undefined in cp1252
    assert text == "caf\u00e9 \x81 bar" and "Latin-1" in warning


def test_malformed_jsonl_lines():
    data = jsonl({"id": "1", "text": WIRE}, "{not json", "[1, 2]", {"id": "4", "title": "no text"},
                 {"id": "5", "text": ""}, {"id": "6", "text": 7})
    arts, report = run_bytes(("m.jsonl", data))
    reasons = [r["reason"] for r in report["rejections"]]
    assert report["unique"] == 1 and len(reasons) == 5
    assert reasons[0].startswith("line 2 is not valid JSON")
    assert reasons[1] == "line 3 is a JSON list, not an object"
    assert reasons[2] == "line 4 has no 'text' field"
    assert reasons[3] == "line 5 has an empty or non-string 'text'"
    assert_conserved(report)


def test_csv_without_text_column():
    _, report = run_bytes(("bad.csv", b"a,b\n1,2\n"), ("ok.jsonl", jsonl({"id": "1", "text": WIRE})))
    assert report["rejections"][0]["reason"].startswith("CSV (comma-separated) has no 'text' column (columns: a, b)")


def test_article_with_no_sentence_rejected():
    _, report = run_bytes(("s.jsonl", jsonl({"id": "1", "text": WIRE}, {"id": "2", "text": "\u0001\u0002\u0003"})))
    assert report["rejections"][0]["reason"] == "no sentence in the text"
    assert report["rejections"][0]["source"]["input_id"] == "2"


def test_same_id_on_two_texts_kept_and_recorded():
    arts, report = run_bytes(("i.jsonl", jsonl({"id": "7", "text": WIRE}, {"id": "7", "text": OTHER})))
    assert report["unique"] == 2
    assert any("input id '7'" in w for w in report["warnings"])
    assert len({a["id"] for a in arts}) == 2


def test_huge_single_line_file_is_cut_with_warning(tmp_path):
    line = ("word " * 11 + "end. ") * (50 * 1024 * 1024 // 60 + 1)
    assert len(line) > 50 * 1024 * 1024
    arts, report = run_bytes(("huge.txt", line.encode()))
    a = arts[0]
    assert a["title"] == ""
    assert len(a["text"]) <= IngestConfig().max_article_chars
    assert any("text cut from" in w for w in a["warnings"])
    assert any("kept as body" in w for w in a["warnings"])


def test_file_over_size_limit_rejected():
    cfg = IngestConfig(max_file_mb=0.001)
    _, report = run_bytes(("big.jsonl", jsonl({"id": "1", "text": WIRE * 10})), ("ok.txt", b"H\n\n" + OTHER.encode()),
                          cfg=cfg)
    assert "over ingest.max_file_mb" in report["rejections"][0]["reason"]


# ---------------------------------------------------------------------------------------------------------------
# Property: never crashes, always conserves
# ---------------------------------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.text(max_size=400), min_size=1, max_size=8), st.binary(max_size=600))
def test_ingest_never_crashes_and_conserves(texts, blob):
    cfg = IngestConfig()
    parsed = ParsedInputs()
    data = jsonl(*({"id": str(i), "text": t} for i, t in enumerate(texts)))
    for f in (InputFile("p.jsonl", data), InputFile("r.txt", blob), InputFile("s.txt", "\n\n\n".join(texts).encode())):
        one = parse_file(f, cfg)
        parsed.records += one.records
        parsed.rejections += one.rejections
    articles, report = build_articles(parsed, cfg)
    assert_conserved(report)
    assert report["read"] >= len(texts)
    for a in articles:
        for s, e in a["sentences"]:
            assert 0 <= s < e <= len(a["text"])


def test_json_array_files_are_read_like_json_lines():
    items = [{"id": "1", "title": "A", "text": "First article text here. It has two sentences."},
             {"id": "2", "text": "Second article with its own words entirely. Another sentence."}, "not an object"]
    for doc in (items, {"articles": items}):
        articles, report = ingest([InputFile("feed.json", json.dumps(doc).encode())])
        assert report["unique"] == 2 and report["rejected"] == 1
        assert report["rejections"][0]["reason"] == "item 2 is a JSON str, not an object"
        assert [a["sources"][0]["index"] for a in articles] == [0, 1]
    articles, report = ingest([InputFile("bad.json", b'{"title": 3}'), InputFile("ok.json", json.dumps(items).encode())])
    assert "without an article list" in report["rejections"][0]["reason"]


def test_semicolon_and_tab_separated_csv():
    for sep, name in ((";", "feed.csv"), ("\t", "feed.tsv")):
        data = sep.join(["article_id", "title", "text"]) + "\n" + sep.join(["7", "T", "Body text, with a comma. Two."])
        articles, report = ingest([InputFile(name, data.encode())])
        assert report["unique"] == 1, report
        assert articles[0]["text"] == "Body text, with a comma. Two." and articles[0]["sources"][0]["input_id"] == "7"
    _, report = ingest([InputFile("other.csv", b"a;b\n1;2\n"), InputFile("ok.csv", b"text\nSome text here. More.\n")])
    assert report["rejections"][0]["reason"].startswith("CSV (semicolon-separated) has no 'text' column (columns: a, b)")


def test_date_line_becomes_the_date_when_the_record_has_none(tmp_path):
    import json

    from pipeline.ingest import InputFile, ingest

    recs = [{"id": "a", "text": "Saturday, January 8, 2005\n\nU.S. citizens donating in 2005 to help tsunami victims may "
                                "write off their donations on their 2004 tax returns."},
            {"id": "b", "date": "2017-03-01", "text": "Friday, December 31, 2004\n\nAmericans gave millions of "
                                                      "dollars to the relief effort in the first week."},
            {"id": "c", "text": "Officials said the bridge would reopen next week after the repairs end in March."}]
    data = "".join(json.dumps(r) + "\n" for r in recs).encode()
    arts, _ = ingest([InputFile("x.jsonl", data)])
    date = {a["sources"][0]["input_id"]: a["date"] for a in arts}
    assert date == {"a": "2005-01-08", "b": "2017-03-01", "c": None}  # the record's own date wins
    a = next(x for x in arts if x["sources"][0]["input_id"] == "a")
    assert not a["text"][a["sentences"][0][0]:].startswith("Saturday")  # and the line is not content
