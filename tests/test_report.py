"""report.html: self-contained, escaped, every theme shown, loads cleanly in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
EVIL_TITLE = 'Evil <img src=x onerror="document.title=\'pwned\'">'
EVIL_TEXT = (
    "A perfectly normal opening sentence about the ceasefire talks in Gaza and Hamas leaders. "
    "<script>document.title='pwned'</script> The second sentence has <img src=x onerror=\"document.title='pwned'\"> "
    "markup and a <b>bold</b> claim about Hamas and the Gaza ceasefire. "
    "A third sentence mentions Egypt, Qatar and the United States brokering the Gaza ceasefire with Hamas."
)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    inputs = root / "inputs"
    shutil.copytree(SEEDS, inputs)
    (inputs / "evil.jsonl").write_text(json.dumps({"id": "evil", "title": EVIL_TITLE, "text": EVIL_TEXT}) + "\n")
    out = root / "out"
    res = CliRunner().invoke(app, ["run", str(inputs), "--out", str(out), "--set", "embed.model=hashing"])
    assert res.exit_code == 0, res.output
    return out


def test_page_is_self_contained_and_escaped(run_dir):
    page = (run_dir / "report.html").read_text()
    # No network assets.
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<link" not in page
    # The only script is ours; the article's markup is shown as text.
    assert page.count("<script") == 1
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "<img" not in page
    assert "onerror=&quot;" in page
    assert "<b>bold</b>" not in page and "&lt;b&gt;bold&lt;/b&gt;" in page


def test_page_shows_every_theme_with_linked_citations(run_dir):
    page = (run_dir / "report.html").read_text()
    doc = json.loads((run_dir / "summaries.json").read_text())
    report = json.loads((run_dir / "ingest_report.json").read_text())
    assert f"<b>{report['read']}</b><span>articles read</span>" in page
    assert f"<b>{len(doc['themes'])}</b><span>themes</span>" in page
    import html

    for theme in doc["themes"]:
        assert f'id="{theme["id"]}"' in page
        assert html.escape(theme["label"]) in page
        for s in theme["summary"]:
            anchor = f'c-{s["article_id"]}-{s["start"]}-{s["end"]}'
            assert f'href="#{anchor}"' in page and f'id="{anchor}"' in page
    assert page.count("<circle") == len(doc["articles"])


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
def test_page_in_headless_chromium(run_dir, tmp_path):
    exe = _chromium()
    if exe is None:
        pytest.skip("Chromium is not installed")
    url = (run_dir / "report.html").resolve().as_uri()
    profile = tmp_path / "profile"
    dom = subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
         "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    console_errors = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert console_errors == []
    doc = json.loads((run_dir / "summaries.json").read_text())
    for theme in doc["themes"]:
        assert f'id="{theme["id"]}"' in dom.stdout
    assert "<title>News themes</title>" in dom.stdout  # the injected script did not run
    shot = tmp_path / "report.png"
    res = subprocess.run(
        [exe, *FLAGS, f"--user-data-dir={profile}", "--window-size=1200,2000", f"--screenshot={shot}", url],
        capture_output=True, text=True, timeout=120,
    )
    assert res.returncode == 0 and shot.exists() and shot.stat().st_size > 20_000


def test_single_article_stories_are_folded_and_the_title_kept():
    from pipeline.report import build_report

    arts = [{"id": f"a{i}", "title": f"Headline {i}", "text": f"Sentence number {i} about the talks."} for i in range(5)]
    story = lambda ids, label: {"id": f"s-{label}", "label": label, "articles": ids, "summary": []}  # noqa: E731
    doc = {"themes": [{"id": "theme-x", "label": "talks · summit", "keywords": ["talks"],
                       "articles": [a["id"] for a in arts], "summary": [],
                       "stories": [story(["a0", "a1", "a2"], "summit talks"), story(["a3"], "lone one"),
                                   story(["a4"], "lone two")]}],
           "articles": {a["id"]: {"title": a["title"], "date": None, "sources": []} for a in arts}, "run": {}}
    page = build_report(doc, arts, {"read": 5}, None, title="My desk", max_articles=4)
    assert "<title>My desk</title>" in page and "<h1>My desk</h1>" in page
    assert "Stories (1 + 2 single-article)" in page and "2 single-article stories" in page
    assert "<h4>summit talks" in page and "<h4>lone one" not in page
    assert '<li><a href="#art-a3">Headline 3</a></li>' in page  # on the page: linked
    assert "<li>Headline 4</li>" in page  # beyond max_articles: listed, not linked
