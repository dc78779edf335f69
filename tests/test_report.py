"""report.html: self-contained and escaped, light at scale, searchable and filterable, tested in headless Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from synthetic_run import make_run
from typer.testing import CliRunner

from pipeline import PipelineError
from pipeline.artifacts import RunFolder
from pipeline.cli import app
from pipeline.config import load_config
from pipeline.report import ReportError, build_report, fallback_title, palette
from pipeline.report.charts import axis, day_number, peak
from pipeline.runner import run_report

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
EVIL_TITLE = 'Evil <img src=x onerror="document.title=\'pwned\'">'
EVIL_TEXT = (
    "A perfectly normal opening sentence about the ceasefire talks in Gaza and Hamas leaders. "
    "<script>document.title='pwned'</script> The second sentence has <img src=x onerror=\"document.title='pwned'\"> "
    "markup and a <b>bold</b> claim about Hamas and the Gaza ceasefire. "
    "A third sentence mentions Egypt, Qatar and the United States brokering the Gaza ceasefire with Hamas. "
    "</script><script>document.title='pwned'</script> closes nothing."
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    inputs = root / "inputs"
    shutil.copytree(SEEDS, inputs)
    (inputs / "evil.jsonl").write_text(json.dumps({"id": "evil", "title": EVIL_TITLE, "text": EVIL_TEXT,
                                                   "url": "javascript:alert(1)"}) + "\n")
    out = root / "out"
    res = CliRunner().invoke(app, ["run", str(inputs), "--out", str(out), "--set", "embed.model=hashing"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def synth():
    return make_run(600, 120, changes=True)


def page_of(run: dict, **kw) -> str:
    kw.setdefault("changes", run["changes"])
    return build_report(run["summaries"], run["articles"], run["ingest_report"], run["vectors"], **kw)


def data_of(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def header_of(page: str) -> str:
    return re.search(r"<header>(.*?)</header>", page, re.S).group(1)


# ---------------------------------------------------------------------------------------------------------------
def test_page_is_self_contained_and_escaped(run_dir):
    page = (run_dir / "report.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing loaded from the network
    assert "<link" not in page and "@import" not in page and "url(" not in page
    # Two scripts, both ours: the data (JSON) and the code. No article text can close them.
    assert page.count("<script") == 2 and page.count("</script") == 2
    assert "<img" not in page and "<b>bold</b>" not in page and "<script>document" not in page
    data = data_of(page)
    evil = next(a for a in data["arts"] if a[1] == EVIL_TITLE)
    assert "<script>document.title='pwned'</script>" in evil[7][0][1]  # the text, intact, as data
    assert evil[4] == ""  # a javascript: URL never becomes a link
    assert "\\u003cimg src=x onerror=" in page  # the title, as JSON data


def test_page_shows_every_theme_with_linked_citations(run_dir):
    page = (run_dir / "report.html").read_text()
    doc = json.loads((run_dir / "summaries.json").read_text())
    report = json.loads((run_dir / "ingest_report.json").read_text())
    data = data_of(page)
    rows = {a[0]: a for a in data["arts"]}
    assert f"<b>{report['read']}</b><span>articles read</span>" in page
    assert f"<b>{len(doc['themes'])}</b><span>themes</span>" in page
    for theme in doc["themes"]:
        assert f'id="{theme["id"]}"' in page and html.escape(theme["label"]) in page
        for s in theme["summary"]:
            assert f'href="#c-{s["article_id"]}-{s["start"]}-{s["end"]}"' in page
            row = rows[s["article_id"]]  # the cited article is listed, with its text and the span to mark
            assert [s["start"], s["end"]] in row[8] and row[7][0][0] == 0
            text = "".join(p[1] for p in row[7])
            assert text[s["start"]:s["end"]] == s["text"]
    dots = len(re.findall(r"<circle ", page))
    assert dots == len(doc["articles"])


def test_search_index_holds_labels_keywords_and_listed_titles(synth):
    page = page_of(synth, max_articles=5)
    data = data_of(page)
    themes = sorted(synth["summaries"]["themes"], key=lambda t: (-len(t["articles"]), t["id"]))
    titles = {a["id"]: a["title"] for a in synth["articles"]}
    for t, d in zip(themes, data["themes"]):
        assert d["id"] == t["id"] and d["n"] == len(t["articles"])
        assert t["label"] in d["s"] and all(k in d["s"] for k in t["keywords"])
        listed = [data["arts"][r][0] for r in d["r"]]
        cited = {s["article_id"] for g in [t, *t["stories"]] for s in g["summary"]}
        assert listed[:5] == t["articles"][:5] and cited <= set(listed)  # most central first, cited always
        assert set(listed) == set(t["articles"][:5]) | cited
        for r in d["r"]:
            if titles[data["arts"][r][0]]:
                assert data["arts"][r][1] == titles[data["arts"][r][0]]
        # every member's day and outlet are there for the filters, not only the listed ones
        assert len(d["d"]) == len(d["o"]) == len(t["articles"])
        more = len(t["articles"]) - len(listed)
        if more:
            assert f"… and {more:,} more" in page
    outlets = sorted({a["source"] for a in synth["articles"]})
    assert sorted(data["outlets"]) == outlets


def test_header_has_no_path_or_hash_and_provenance_is_in_details(synth):
    page = page_of(synth, provenance={"run_folder": "/srv/someone/runs/out", "versions": {"numpy": "2.1.0"},
                                      "inputs": ["/data/in.jsonl"]})
    head = re.sub(r"<[^>]+>", "", header_of(page))
    assert "/" not in head and not re.search(r"[0-9a-f]{8,}", head)
    assert "600 articles · 9 outlets · 2017-02-01 – " in head
    about = re.search(r'<details class="prov" id="about">(.*?)</details>', page, re.S).group(1)
    assert "all-MiniLM-L6-v2@9c307c7fe9e0" in about and "/srv/someone/runs/out" in about
    assert "numpy 2.1.0" in about and "/data/in.jsonl" in about
    assert page.count("9c307c7fe9e0") == 1 and page.count("/srv/someone") == 1


def test_titleless_articles_show_their_first_words_never_the_id():
    text = "MOSCOW, February 7. /TASS/. Russia and Turkey agreed on a new round of talks in Astana next week. More."
    art = {"id": "a0000000000000001", "title": "", "text": text, "sentences": [[28, 96], [97, 102]],
           "boilerplate": [[0, 27]]}
    assert fallback_title(art, words=6) == "Russia and Turkey agreed on a…"
    assert fallback_title({**art, "sentences": []}).startswith("Russia and Turkey")  # boilerplate cut away
    assert fallback_title({"id": "x", "text": ""}) == "(untitled article)"

    run = make_run(40, 6, titleless=0.5)
    page = page_of(run)
    data = data_of(page)
    untitled = [a for a in run["articles"] if not a["title"]]
    assert untitled
    rows = {r[0]: r for r in data["arts"]}
    for a in untitled:
        if a["id"] in rows:
            row = rows[a["id"]]
            assert row[1] == fallback_title(a) and row[1].startswith("The ") and a["id"] not in row[1]
            assert row[5] & 2  # shown in italics as a stand-in
    for t in run["summaries"]["themes"]:  # summary citations name no id either
        for s in t["summary"]:
            assert f'title="{s["article_id"]}"' not in page


def test_changes_mark_new_and_grown_themes_and_new_articles(synth):
    page = page_of(synth)
    data = data_of(page)
    ch = synth["changes"]
    assert '<input type="checkbox" id="newonly"> new since 2017-04-20 06:00 UTC' in page
    assert f"{len(ch['new_articles'])} new articles since 2017-04-20 06:00 UTC · 1 new theme · 3 grown themes" in page
    by_id = {d["id"]: d for d in data["themes"]}
    for tid, status in ch["themes"].items():
        assert by_id[tid]["c"] == status
        card = re.search(rf'<details class="theme" id="{tid}".*?</summary>', page, re.S).group(0)
        assert ('<span class="badge new">new</span>' in card) == (status == "new")
        assert ('<span class="badge grown">grown +2</span>' in card) == (status == "grown")
    flagged = {a[0] for a in data["arts"] if a[5] & 1}
    listed = {a[0] for a in data["arts"]}
    assert flagged == set(ch["new_articles"]) & listed
    plain = page_of(synth, changes=None)
    assert 'id="newonly"' not in plain and '<span class="badge' not in plain and data_of(plain)["since"] is None


def test_malformed_changes_are_one_clear_error(synth):
    rebuilt = {**synth["changes"], "themes": {t: "changed" for t in synth["changes"]["themes"]}}
    assert page_of(synth, changes=rebuilt).count('<span class="badge grown">changed</span>') == 120
    for bad, msg in ((["x"], "JSON object"), ({"new_articles": "a1"}, "'new_articles'"),
                     ({"themes": {"t": "bigger"}}, "'themes' should map ids")):
        with pytest.raises(ReportError, match=msg):
            page_of(synth, changes=bad)


def test_stale_summaries_name_the_stage_to_rerun(run_dir, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(run_dir, out)
    rf = RunFolder(out)
    cfg = load_config(None, ["embed.model=hashing"])
    articles = rf.read_jsonl("articles.jsonl")
    extra = {**articles[0], "id": "a00000000000000ff", "text": articles[0]["text"] + " Another sentence here."}
    rf.write_jsonl("articles.jsonl", [*articles, extra])  # as a new ingest would
    with pytest.raises(PipelineError) as err:
        run_report(rf, cfg)
    msg = str(err.value)
    assert "\n" not in msg and "is stale (1 article of articles.jsonl not in the summaries)" in msg
    assert f"re-run `pipeline embed --out {out}`" in msg
    res = CliRunner().invoke(app, ["report", "--out", str(out)])
    assert res.exit_code == 1 and "is stale" in res.output and "Traceback" not in res.output

    rf.write_jsonl("articles.jsonl", articles[1:])  # an article the summaries cite is gone, index unchanged
    with pytest.raises(PipelineError, match="summarised article no longer in articles.jsonl"):
        run_report(rf, cfg)
    with pytest.raises(ReportError):  # the library function refuses too
        build_report(rf.read_json("summaries.json"), articles[1:])


def test_run_report_reads_changes_json(run_dir, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(run_dir, out)
    rf = RunFolder(out)
    doc = rf.read_json("summaries.json")
    first = doc["themes"][0]
    rf.write_json("changes.json", {"since": "2024-05-01T08:00:00Z", "new_articles": first["articles"][:1],
                                   "themes": {first["id"]: "grown"}, "stories": {}})
    run_report(rf, load_config(None, ["embed.model=hashing"]))
    page = rf.path("report.html").read_text()
    assert "1 new article since 2024-05-01 08:00 UTC · 0 new themes · 1 grown theme" in page
    assert '<span class="badge grown">grown +1</span>' in page
    assert "/" not in re.sub(r"<[^>]+>", "", header_of(page))


def test_same_input_same_bytes(synth):
    assert page_of(synth) == page_of(synth)


def test_text_budget_keeps_cited_excerpts_and_says_what_is_left_out(synth):
    full = data_of(page_of(synth))
    assert all(a[7] and a[7][0][0] == 0 for a in full["arts"])  # 600 short articles: everything fits
    small = data_of(page_of(synth, max_text_chars=0))
    cited = {s["article_id"]: s for t in synth["summaries"]["themes"] for g in [t, *t["stories"]]
             for s in g["summary"]}
    by_id = {a["id"]: a for a in synth["articles"]}
    for a in small["arts"]:
        if a[0] in cited:  # at least the cited sentences, never the whole text
            s = cited[a[0]]
            seg = next(p for p in a[7] if p[0] <= s["start"] and s["end"] <= p[0] + len(p[1]))
            assert seg[1][s["start"] - seg[0]:s["end"] - seg[0]] == s["text"]
            assert sum(len(p[1]) for p in a[7]) < len(by_id[a[0]]["text"])
        else:
            assert a[7] == 0 and a[8] == [] and a[10] == len(by_id[a[0]]["text"])


def test_summary_items_carry_outlet_and_date_with_fallback(synth):
    page = page_of(synth)
    t = synth["summaries"]["themes"][0]
    arts = {a["id"]: a for a in synth["articles"]}
    for k, s in enumerate(t["summary"]):
        a = arts[s["article_id"]]
        assert ("source" in s) == (k % 2 == 0)  # the fixture drops them on every other item
        assert re.search(rf'href="#c-{s["article_id"]}-{s["start"]}-{s["end"]}" title="[^"]*">'
                         rf'{re.escape(a["source"])} · {a["date"]}</a>', page)


def test_a_story_never_repeats_the_theme_summary(synth):
    page = page_of(synth)
    seen = 0
    for t in synth["summaries"]["themes"]:
        card = re.search(rf'<details class="theme" id="{t["id"]}".*?</details>', page, re.S).group(0)
        theme_summary = re.search(r'<ol class="summary">.*?</ol>', card).group(0)
        assert card.count(theme_summary) == 1
        same = [st for st in t["stories"] if st["summary"] == t["summary"]]
        seen += len(same)
        if len(t["stories"]) == 1:
            assert "One story" in card and "its summary is the theme's summary above" in card
        elif same:
            assert "Same summary as the theme." in card
    assert seen > 0


def test_boilerplate_spans_travel_with_the_text(synth):
    data = data_of(page_of(synth))
    by_id = {a["id"]: a for a in synth["articles"]}
    for row in data["arts"][:50]:
        assert row[9] == by_id[row[0]]["boilerplate"]
        text = row[7][0][1]
        assert text[row[9][0][0]:row[9][0][1]].endswith(") - ")  # the dateline, greyed out by the script


def test_timeline_peak_and_shared_axis():
    days = [day_number(d) for d in ["2017-03-29"] * 5 + ["2017-03-30"] * 2 + ["2017-03-28"] * 3 + ["2017-02-01"]]
    assert peak(days, min(days), max(days), "day") == ("2017-03-29", 5)
    assert peak(days, min(days), max(days), "week") == ("2017-03-29", 7)  # weeks counted from the first day
    run = make_run(300, 20)
    page = page_of(run)
    t = sorted(run["summaries"]["themes"], key=lambda t: (-len(t["articles"]), t["id"]))[0]
    dates = sorted(a["date"] for a in run["articles"] if a["id"] in set(t["articles"]) and a["date"])
    per_day = Counter(dates)
    n = max(per_day.values())
    first = min(d for d in per_day if per_day[d] == n)
    card = re.search(rf'<details class="theme" id="{t["id"]}".*?</summary>', page, re.S).group(0)
    assert f"peak {first} ({n})" in card and f"{dates[0]} – {dates[-1]}" in card
    # a stray old date does not squeeze the shared axis
    spread = [day_number("2017-02-01") + k % 60 for k in range(400)] + [day_number("2015-01-01")]
    lo, hi = axis(spread)
    assert (lo, hi) == (day_number("2017-02-01"), day_number("2017-02-01") + 59)


def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB (0-255) -> CIELAB (D65)."""
    c = rgb / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    f = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(f > 0.008856, np.cbrt(f), 7.787 * f + 16 / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def test_palette_does_not_repeat_visibly():
    cols = palette(600)
    assert len(set(cols)) == 600
    lab = _lab(np.array([[int(c[k:k + 2], 16) for k in (1, 3, 5)] for c in cols], dtype=float))
    gap_min = {g: np.linalg.norm(lab[g:] - lab[:-g], axis=1).min() for g in (1, 2, 3, 5, 8, 13, 21, 34, 55, 89,
                                                                            144, 233)}
    # themes next to each other in size order differ clearly (CIELAB distance, 2.3 = just noticeable) ...
    assert gap_min[1] > 50 and gap_min[2] > 30 and gap_min[3] > 20
    # ... and where the golden-angle hue comes back (Fibonacci gaps) lightness or saturation differ
    assert min(gap_min.values()) > 5, gap_min
    assert page_of(make_run(200, 60)).count("background:#") >= 60


def test_map_labels_the_largest_themes_only_and_legend_is_collapsed(synth):
    page = page_of(synth)
    labels = re.findall(r'<text x="[^"]+" y="[^"]+" text-anchor="\w+" fill="[^"]+">([^<]+)</text>', page)
    assert 1 <= len(labels) <= 10
    themes = sorted(synth["summaries"]["themes"], key=lambda t: (-len(t["articles"]), t["id"]))
    assert labels[0] == html.escape(themes[0]["label"])
    assert '<details class="legend"><summary>Colours of the 120 themes</summary>' in page
    assert len(re.findall(r"<circle ", page)) == 600


# ---------------------------------------------------------------------------------------------------------------
def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Appended to a copy of the page: measures overflow, runs a search, opens cards and a citation, writes the result
# into <pre id="test-result"> for --dump-dom to return.
PROBE = """
<script>
window.addEventListener("load", function () {
  var W = document.documentElement.clientWidth, out = {width: W};
  function clipped(x) {
    for (var p = x.parentElement; p && p !== document.body; p = p.parentElement) {
      var o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll" || o === "hidden") return true;
    }
    return false;
  }
  function overflow() {
    var bad = [];
    if (document.documentElement.scrollWidth > W) bad.push("document " + document.documentElement.scrollWidth);
    document.querySelectorAll("body *").forEach(function (x) {
      var r = x.getBoundingClientRect();
      if (r.width > 0 && r.right > W + 1 && !clipped(x)) bad.push(x.tagName + "." + x.className + " " + Math.round(r.right));
    });
    return bad.slice(0, 8);
  }
  out.legendOpen = document.querySelector("details.legend").open;
  out.visibleBefore = document.querySelectorAll("details.theme:not([hidden])").length;
  out.overflowClosed = overflow();
  var cards = document.querySelectorAll("details.theme");
  for (var k = 0; k < Math.min(3, cards.length); k++) cards[k].open = true;
  var cite = cards[0].querySelector("a.cite");
  cite.click();
  var mark = document.querySelector("mark.flash");
  out.citeHref = cite.getAttribute("href");
  out.markId = mark ? mark.id : null;
  out.rows = cards[0].querySelectorAll("ol.rows > li").length;
  document.querySelector("details.legend").open = true;
  document.getElementById("about").open = true;
  document.querySelectorAll("details.art").forEach(function (d) { d.open = true; });
  out.overflowOpen = overflow();
  var q = document.getElementById("q");
  q.value = "%QUERY%";
  q.dispatchEvent(new Event("change"));
  out.visible = Array.prototype.map.call(document.querySelectorAll("details.theme:not([hidden])"),
                                         function (c) { return c.id; });
  out.count = document.getElementById("count").textContent;
  function visible() {
    return Array.prototype.map.call(document.querySelectorAll("details.theme:not([hidden])"), function (c) { return c.id; });
  }
  q.value = "";
  var nw = document.getElementById("newonly"), os = document.getElementById("outlet");
  if (nw) { nw.checked = true; nw.dispatchEvent(new Event("change")); out.newOnly = visible(); nw.checked = false; }
  if (os) {
    os.value = "0";
    var fr = document.getElementById("from"), to = document.getElementById("to");
    fr.value = fr.min; to.value = fr.min;
    os.dispatchEvent(new Event("change"));
    out.outletFirstDay = visible();
    out.rowsShown = cards[0].querySelectorAll("ol.rows > li:not([hidden])").length;
  }
  out.title = document.title;
  var pre = document.createElement("pre");
  pre.id = "test-result";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


# Chromium will not make a window narrower than 500 px, so a phone's width is an iframe of the page (srcdoc:
# same origin, so its result can be read back).
FRAME = """<!DOCTYPE html><html><body style="margin:0"><iframe id="f" style="width:%dpx;height:1000px;border:0"
srcdoc="%s"></iframe><script>
document.getElementById("f").addEventListener("load", function () {
  var r = this.contentDocument.getElementById("test-result"), pre = document.createElement("pre");
  pre.id = "test-result";
  pre.textContent = r ? r.textContent : "{}";
  document.body.appendChild(pre);
});
</script></body></html>"""


def _dump(exe: str, url: str, profile: Path, window: int = 1400) -> tuple[dict, str]:
    res = subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={window},1000", "--virtual-time-budget=4000",
         "--enable-logging=stderr", "--v=0", "--dump-dom", url],
        capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    m = re.search(r'<pre id="test-result">(.*?)</pre>', res.stdout, re.S)
    assert m, res.stderr[-2000:]
    errors = [ln for ln in res.stderr.splitlines() if "Uncaught" in ln or ("CONSOLE" in ln and "ERROR" in ln)]
    return json.loads(html.unescape(m.group(1))), "\n".join(errors)


def _probe_at(exe: str, page: str, query: str, width: int, tmp: Path) -> tuple[dict, str]:
    """Load the page with PROBE in a ``width``-pixel viewport; the probe's findings and any console errors."""
    probed = page.replace("</body>", PROBE.replace("%QUERY%", query) + "</body>")
    frame = tmp / f"frame{width}.html"
    frame.write_text(FRAME % (width, html.escape(probed, quote=True)))
    return _dump(exe, frame.as_uri(), tmp / f"profile{width}", window=max(width + 40, 600))


def _norm(s: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFD", s.lower()) if not unicodedata.combining(c))


@pytest.mark.browser
def test_hundreds_of_themes_in_headless_chromium(tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("Chromium is not installed")
    t0 = time.perf_counter()
    run = make_run(2000, 320, changes=True)
    page = page_of(run)
    data = data_of(page)
    query = "brexit"
    expected = {d["id"] for d in data["themes"]
                if query in _norm(d["s"]) or any(query in _norm(data["arts"][r][1]) for r in d["r"])}
    assert 0 < len(expected) < 320
    new_only = {d["id"] for d in data["themes"] if d["c"] in ("new", "grown") or d["nn"] > 0}
    first_day = {d["id"] for d in data["themes"] if any(o == 0 and day == 0 for o, day in zip(d["o"], d["d"]))}
    assert 0 < len(new_only) < 20 and 0 < len(first_day) < 320
    rows_first_day = sum(1 for r in data["themes"][0]["r"] if data["arts"][r][2] == 0 and data["arts"][r][3] == 0)
    (tmp_path / "report.html").write_text(page)
    for width in (1400, 420):
        out, errors = _probe_at(exe, page, query, width, tmp_path)
        assert errors == ""
        assert width - 40 < out["width"] <= width
        assert out["legendOpen"] is False
        assert out["visibleBefore"] == 321  # 320 themes and the unclustered
        assert out["overflowClosed"] == [] and out["overflowOpen"] == [], out
        assert out["markId"] is not None and "#" + out["markId"] == out["citeHref"]
        assert out["rows"] >= 50
        assert set(out["visible"]) == expected
        assert out["count"].startswith(f"{len(expected)} of 320 themes")
        assert set(out["newOnly"]) == new_only
        assert set(out["outletFirstDay"]) == first_day
        assert out["rowsShown"] == rows_first_day  # the open card lists only the matching articles
        shot = tmp_path / f"report-{width}.png"
        res = subprocess.run([exe, *FLAGS, f"--user-data-dir={tmp_path / f'profile{width}'}",
                              f"--window-size={width},1600", f"--screenshot={shot}", (tmp_path / "report.html").as_uri()],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and shot.stat().st_size > 20_000
    # the search also comes from the URL (shareable): report.html?q=...
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE.replace("%QUERY%", query) + "</body>"))
    out, _ = _dump(exe, probe.as_uri() + "?q=" + query, tmp_path / "profile-q")
    assert out["visibleBefore"] == len(expected)
    assert time.perf_counter() - t0 < 60


@pytest.mark.browser
def test_seed_report_in_headless_chromium(run_dir, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("Chromium is not installed")
    page = (run_dir / "report.html").read_text()
    out, errors = _probe_at(exe, page, "gaza", 420, tmp_path)
    assert errors == ""
    assert out["title"] == "News themes"  # no injected markup ran, even with every article open
    assert out["overflowOpen"] == [] and out["markId"] is not None


def test_many_stories_and_single_article_stories_are_folded():
    arts = [{"id": f"a{i:016x}", "title": f"Headline {i}", "text": f"Sentence number {i} about the summit talks.",
             "sentences": [[0, 40]], "sources": []} for i in range(24)]
    ids = [a["id"] for a in arts]
    story = lambda k, members: {"id": f"s-{k}", "label": f"story {k}", "keywords": [], "articles": members,  # noqa: E731
                                "summary": []}
    stories = [story(k, ids[2 * k:2 * k + 2]) for k in range(10)] + [story(10, ids[20:21]), story(11, ids[21:22])]
    doc = {"themes": [{"id": "theme-x", "label": "talks · summit", "keywords": ["talks"], "articles": ids,
                       "summary": [{"article_id": ids[0], "start": 0, "end": 40, "text": arts[0]["text"][:40]}],
                       "stories": stories}],
           "unclustered": [], "articles": {a["id"]: {"title": a["title"], "date": None, "sources": []} for a in arts},
           "run": {}}
    page = build_report(doc, arts, {"read": 24}, None, title="My desk", max_articles=21)
    assert "<title>My desk</title>" in page and "<h1>My desk</h1>" in page
    assert "Stories (10 + 2 single-article)" in page and "2 single-article stories" in page
    assert '<details class="story more"><summary>2 more stories</summary>' in page
    assert page.index("<h4>story 7 ") < page.index("2 more stories") < page.index("<h4>story 8 ")
    assert f'<li><a href="#art-{ids[20]}">Headline 20</a></li>' in page  # listed: linked
    assert "<li>Headline 21</li>" in page  # beyond max_articles: named, not linked
    assert "No article vectors in this run folder: map not drawn." in page


def test_a_run_without_themes_dates_or_outlets_still_renders():
    art = {"id": "a0000000000000001", "title": "", "text": "Only one short article about nothing much at all.",
           "sentences": [[0, 50]], "sources": [{"path": "x.txt", "index": 0, "input_id": None}]}
    doc = {"themes": [], "unclustered": [art["id"]], "run": {},
           "articles": {art["id"]: {"title": "", "date": None, "url": None, "source": None, "sources": art["sources"]}}}
    page = build_report(doc, [art], {}, np.ones((1, 4), dtype=np.float32))
    assert "1 article · 0 themes" in page
    assert 'id="from"' not in page and 'id="outlet"' not in page and '<option value="recent">' not in page
    data = data_of(page)
    assert data["day0"] is None and data["outlets"] == []
    assert data["themes"][0]["u"] == 1 and data["arts"][0][1] == "Only one short article about nothing much at all."
    assert page.count("<circle ") == 1
    with pytest.raises(ValueError, match="max_articles=0 should be >= 1"):
        build_report(doc, [art], max_articles=0)
