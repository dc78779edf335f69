"""summaries.json -> one self-contained HTML page that reads well for ten articles or a hundred thousand.

The page is built from two halves:

* HTML written here: the header, the filter bar, the map, the collapsed theme cards (label, size, outlets, date
  range, a sparkline, and inside: keywords, timeline, cited summary, stories) and the provenance block. Every piece
  of article text goes through :func:`html.escape`.
* One JSON document (``<script type="application/json">``, with ``<``, ``>`` and ``&`` written as ``\\u`` escapes
  so no text can close the script) holding what the small inline script (``assets/report.js``) needs for search,
  filters and the member lists, which it builds only when a card is opened, with ``textContent`` (never as HTML).

To keep the page light, each theme lists its ``max_articles`` most central members (plus every article its
summaries cite) and says how many more exist, and article text is inlined up to ``max_text_chars`` characters in
all: every cited article keeps at least its cited sentences, then whole texts are added for the listed members, the
most central of every theme first, while they fit. The page loads nothing from the network.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from importlib import resources
from urllib.parse import quote, urlsplit

import numpy as np

from pipeline import PipelineError
from pipeline.report.charts import axis, bin_unit, day_number, e, iso, map_svg, palette, peak, sparkline, timeline_svg

#: Characters of article text inlined in the page, in all (about as many bytes for Latin text).
DEFAULT_MAX_TEXT_CHARS = 6_000_000
#: Words of the text that stand in for a missing title.
TITLE_WORDS = 12
#: Stories shown with their summaries when a card opens; the rest are folded behind one more click.
MAX_STORIES_OPEN = 8
#: Statuses of a theme or story in changes.json ("changed": lost members, which only a rebuild can do).
STATUS = ("new", "grown", "unchanged", "changed")


class ReportError(PipelineError):
    """The inputs of the report do not fit together (stale summaries, malformed changes)."""


def _asset(name: str) -> str:
    return resources.files("pipeline.report").joinpath("assets", name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------
def stale_summaries(summaries: dict, articles: list[dict]) -> str | None:
    """Why ``summaries`` were not made from ``articles`` (one phrase), or None when they match."""
    ids = {a["id"] for a in articles}
    known = set(summaries.get("articles", {}))
    members = {aid for t in summaries.get("themes", []) for aid in t.get("articles", [])}
    members.update(summaries.get("unclustered", []))
    if ids == known and members <= ids:
        return None
    new, gone = len(ids - known), len((known | members) - ids)
    parts = []
    if new:
        parts.append(f"{new:,} article{'s' if new != 1 else ''} of articles.jsonl not in the summaries")
    if gone:
        parts.append(f"{gone:,} summarised article{'s' if gone != 1 else ''} no longer in articles.jsonl")
    return " and ".join(parts)


def _read_changes(changes: dict | None) -> dict | None:
    """Validate ``changes.json`` (see the data contract) into ``{since, new, themes, stories}``."""
    if changes is None:
        return None
    if not isinstance(changes, dict):
        raise ReportError(f"changes should be a JSON object, not {type(changes).__name__}")
    new = changes.get("new_articles", [])
    if not isinstance(new, list) or not all(isinstance(x, str) for x in new):
        raise ReportError("changes 'new_articles' should be a list of article ids")
    out = {"since": changes.get("since"), "new": set(new)}
    if out["since"] is not None and not isinstance(out["since"], str):
        raise ReportError(f"changes 'since'={out['since']!r} should be an ISO date-time string or null")
    for key in ("themes", "stories"):
        value = changes.get(key, {})
        if not isinstance(value, dict) or any(v not in STATUS for v in value.values()):
            raise ReportError(f"changes '{key}' should map ids to one of {', '.join(STATUS)}")
        out[key] = value
    return out


def _since_text(since: str | None) -> str:
    if not since:
        return "the last update"
    return since[:16].replace("T", " ") + (" UTC" if since.endswith(("Z", "+00:00")) and len(since) > 10 else "")


# ---------------------------------------------------------------------------------------------------------------
def _safe_url(url) -> str | None:
    """The URL when it is an http(s) link, else None (a ``javascript:`` URL never becomes a link)."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host or None


def fallback_title(article: dict, words: int = TITLE_WORDS) -> str:
    """The first words of an article's content sentences (boilerplate and datelines are not content)."""
    text = article.get("text") or ""
    spans = article.get("sentences") or []
    got: list[str] = []
    for s, t in spans:
        got.extend(text[s:t].split())
        if len(got) > words:
            break
    if not spans:
        cut = sorted(article.get("boilerplate") or [])
        pos, keep = 0, []
        for s, t in cut:
            keep.append(text[pos:s])
            pos = max(pos, t)
        got = " ".join(keep + [text[pos:]]).split()
    if not got:
        return "(untitled article)"
    return " ".join(got[:words]) + ("…" if len(got) > words else "")


def _excerpt(article: dict, spans: set[tuple[int, int]]) -> list[list]:
    """The cited spans of an article's text, as ``[[start, text], ...]`` (adjacent spans joined)."""
    text = article.get("text") or ""
    merged: list[list[int]] = []
    for s, t in sorted(spans):
        if merged and s <= merged[-1][1] + 2:
            merged[-1][1] = max(merged[-1][1], t)
        else:
            merged.append([s, t])
    return [[s, text[s:t]] for s, t in merged]


# ---------------------------------------------------------------------------------------------------------------
def _anchor(aid: str, start: int, end: int) -> str:
    return f"c-{aid}-{start}-{end}"


def _href(element_id: str) -> str:
    return "#" + quote(element_id, safe="")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _date_range(days: list[int]) -> str:
    if not days:
        return ""
    lo, hi = min(days), max(days)
    return iso(lo) if lo == hi else f"{iso(lo)} – {iso(hi)}"


def _badge(status: str | None, n_new: int = 0) -> str:
    if status == "new":
        return ' <span class="badge new">new</span>'
    if status == "grown" or (status is None and n_new):
        return f' <span class="badge grown">grown{f" +{n_new:,}" if n_new else ""}</span>'
    if status == "changed":
        return ' <span class="badge grown">changed</span>'
    return ""


class _Page:
    """Everything the page needs about the run, computed once."""

    def __init__(self, summaries: dict, articles: list[dict], changes: dict | None, max_articles: int,
                 max_text_chars: int):
        self.meta = summaries.get("articles", {})
        self.by_id = {a["id"]: a for a in articles}
        self.changes = changes
        self.new = changes["new"] if changes else set()
        self.themes = sorted(summaries["themes"], key=lambda t: (-len(t["articles"]), t["id"]))
        self.unclustered = list(summaries.get("unclustered", []))
        self.colours = palette(len(self.themes))

        # Per article: display title, outlet, day, URL.
        self.title: dict[str, str] = {}
        self.untitled: set[str] = set()
        self.outlet: dict[str, str | None] = {}
        self.day: dict[str, int | None] = {}
        self.url: dict[str, str | None] = {}
        for aid in self.by_id:
            art, m = self.by_id[aid], self.meta.get(aid, {})
            title = (m.get("title") or art.get("title") or "").strip()
            if not title:
                title = fallback_title(art)
                self.untitled.add(aid)
            self.title[aid] = title
            url = _safe_url(m.get("url") or art.get("url"))
            self.url[aid] = url
            self.outlet[aid] = m.get("source") or art.get("source") or _host(url)
            self.day[aid] = day_number(m.get("date") or art.get("date"))
        counts = Counter(o for o in self.outlet.values() if o)
        self.outlets = sorted(counts, key=lambda o: (-counts[o], o))
        self.outlet_count = counts
        self.outlet_index = {o: i for i, o in enumerate(self.outlets)}
        days = [d for d in self.day.values() if d is not None]
        self.lo, self.hi = (min(days), max(days)) if days else (None, None)
        self.axis = axis(days)

        # Cited spans per article, and each theme's listed members.
        self.cited: dict[str, set[tuple[int, int]]] = defaultdict(set)
        self.listed: list[list[str]] = []
        for t in self.themes:
            in_theme = set()
            for group in [t, *t.get("stories", [])]:
                for s in group.get("summary", []):
                    self.cited[s["article_id"]].add((s["start"], s["end"]))
                    in_theme.add(s["article_id"])
            self.listed.append([a for k, a in enumerate(t["articles"]) if k < max_articles or a in in_theme])
        self.listed_unclustered = self.unclustered[:max_articles]
        self.texts = self._budget_texts(max_text_chars)

    def _budget_texts(self, budget: int) -> dict[str, list[list]]:
        """Which article texts are inlined, within ``budget`` characters.

        Every cited article keeps at least its cited sentences (so each citation has its passage); then whole
        texts are added rank by rank across the themes (every theme's most central article, then every theme's
        second, ...), each while it still fits.
        """
        texts: dict[str, list[list]] = {}
        for ids in self.listed:
            for aid in ids:
                if aid in self.cited and aid not in texts:
                    texts[aid] = _excerpt(self.by_id[aid], self.cited[aid])
                    budget -= sum(len(p[1]) for p in texts[aid])
        lists = [*self.listed, self.listed_unclustered]
        for rank in range(max((len(ids) for ids in lists), default=0)):
            if budget <= 0:
                break
            for ids in lists:
                if rank < len(ids):
                    aid = ids[rank]
                    text = self.by_id[aid].get("text") or ""
                    have = sum(len(p[1]) for p in texts.get(aid, []))
                    if (aid not in texts or texts[aid][0][0] > 0 or have < len(text)) and len(text) - have <= budget:
                        texts[aid] = [[0, text]]
                        budget -= len(text) - have
        return texts

    def status(self, kind: str, gid: str) -> str | None:
        return self.changes[kind].get(gid) if self.changes else None

    def days_of(self, ids: list[str]) -> list[int]:
        return [d for d in (self.day.get(a) for a in ids) if d is not None]


# ---------------------------------------------------------------------------------------------------------------
def _summary_list(p: _Page, summary: list[dict]) -> str:
    if not summary:
        return '<p class="meta">No summary sentence (no usable sentence in this group).</p>'
    items = []
    for s in summary:
        aid = s["article_id"]
        outlet = s.get("source") or p.outlet.get(aid)
        day = s.get("date") or (iso(p.day[aid]) if p.day.get(aid) is not None else None)
        title = p.title.get(aid, "")
        where = " · ".join(x for x in (outlet, day) if x) or (title[:40] + ("…" if len(title) > 40 else ""))
        items.append(f'<li>{e(s["text"])} <a class="cite" href="{_href(_anchor(aid, s["start"], s["end"]))}" '
                     f'title="{e(title)}">{e(where)}</a></li>')
    return '<ol class="summary">' + "".join(items) + "</ol>"


def _same_summary(a: list[dict], b: list[dict]) -> bool:
    key = lambda xs: [(s["article_id"], s["start"], s["end"]) for s in xs]  # noqa: E731
    return key(a) == key(b)


def _stories(p: _Page, t: dict, listed: set[str]) -> str:
    stories = sorted(t.get("stories", []), key=lambda s: (-len(s["articles"]), s["id"]))
    if not stories:
        return ""
    if len(stories) == 1 and (_same_summary(stories[0]["summary"], t["summary"])
                              or set(stories[0]["articles"]) == set(t["articles"])):
        st = stories[0]
        part = "" if set(st["articles"]) == set(t["articles"]) else " of " + _plural(len(st["articles"]), "article")
        return (f'<h3>Stories</h3><p class="meta">One story{part}{_badge(p.status("stories", st["id"]))}: '
                "its summary is the theme's summary above.</p>")
    several = [st for st in stories if len(st["articles"]) > 1]
    single = [st for st in stories if len(st["articles"]) == 1]
    parts = []
    for k, st in enumerate(several):
        if k == MAX_STORIES_OPEN:
            parts.append(f'<details class="story more"><summary>{len(several) - k:,} more stories</summary>')
        days = p.days_of(st["articles"])
        dates = f" · {_date_range(days)}" if days else ""
        body = ('<p class="meta">Same summary as the theme.</p>' if _same_summary(st["summary"], t["summary"])
                else _summary_list(p, st["summary"]))
        parts.append(f'<div class="story" id="{e(st["id"])}"><h4>{e(st["label"])} <span class="meta">· '
                     f'{_plural(len(st["articles"]), "article")}{dates}</span>'
                     f'{_badge(p.status("stories", st["id"]))}</h4>{body}</div>')
    if len(several) > MAX_STORIES_OPEN:
        parts.append("</details>")
    if single:  # one line each, folded: a long stream has many articles that share their event with no other
        items = []
        for st in single:
            aid = st["articles"][0]
            name = e(p.title.get(aid) or st["label"])
            items.append(f'<li><a href="{_href("art-" + aid)}">{name}</a></li>' if aid in listed else f"<li>{name}</li>")
        parts.append(f'<details class="story singles"><summary>{len(single):,} single-article '
                     f'stor{"ies" if len(single) != 1 else "y"}</summary><ul>{"".join(items)}</ul></details>')
    count = f"{len(several):,}" + (f" + {len(single):,} single-article" if single else "")
    return f"<h3>Stories ({count})</h3>" + "".join(parts)


def _outlet_line(counts: Counter, top: int) -> str:
    ranked = sorted(counts, key=lambda o: (-counts[o], o))
    shown = " · ".join(f"{e(o)} {counts[o]:,}" for o in ranked[:top])
    rest = len(ranked) - top
    return shown + (f" · +{rest:,} more outlet{'s' if rest != 1 else ''}" if rest > 0 else "")


def _card(p: _Page, i: int, t: dict) -> str:
    ids = t["articles"]
    colour = p.colours[i]
    days = p.days_of(ids)
    outlets = Counter(p.outlet[a] for a in ids if p.outlet.get(a))
    n_new = sum(a in p.new for a in ids)
    status = p.status("themes", t["id"])
    meta = [_plural(len(ids), "article")]
    if days:
        meta.append(_date_range(days))
    if outlets:
        meta.append(_outlet_line(outlets, 3))
    spark, peak_txt = "", ""
    if days and p.lo is not None:
        spark = sparkline(days, *p.axis, colour)
        lo, hi = min(days), max(days)
        when, n = peak(days, lo, hi, bin_unit(lo, hi))
        peak_txt = f'<span class="peak">peak {e(when)} ({n:,})</span>'
    kws = "".join(f'<span class="kw">{e(k)}</span>' for k in t.get("keywords", []))
    listed = p.listed[i]
    more = len(ids) - len(listed)
    listed_note = (f"{len(listed):,} of {len(ids):,}: the most central and every cited one" if more
                   else "All " + _plural(len(ids), "article"))
    new_line = (f'<p class="meta">{_plural(n_new, "article")} new since {e(_since_text(p.changes["since"]))}.</p>'
                if n_new else "")
    outlets_full = (f'<h3>Outlets ({len(outlets):,})</h3><p class="outlets">{_outlet_line(outlets, 40)}</p>'
                    if outlets else "")
    return (
        f'<details class="theme" id="{e(t["id"])}" data-i="{i}" style="--c:{colour}"><summary>'
        f'<span class="th"><h2>{e(t["label"])}</h2>{_badge(status, n_new)}</span>'
        f'<span class="tm">{" · ".join(meta)} <span class="hits"></span></span>'
        f'<span class="tl">{spark}{peak_txt}</span></summary><div class="body">'
        f'{new_line}<div class="kws">{kws}</div><h3>Timeline</h3>{timeline_svg(days, colour)}{outlets_full}'
        f'<h3>Summary</h3>{_summary_list(p, t.get("summary", []))}{_stories(p, t, set(listed))}'
        f'<h3>Articles</h3><p class="meta">{listed_note}; open one to read it.</p><ol class="rows"></ol>'
        + (f'<p class="meta">… and {more:,} more (all are in summaries.json and <code>pipeline export</code>).</p>'
           if more else "")
        + "</div></details>"
    )


def _unclustered_card(p: _Page, i: int) -> str:
    ids = p.unclustered
    more = len(ids) - len(p.listed_unclustered)
    return (f'<details class="theme unc" id="unclustered" data-i="{i}" style="--c:#9a9a9a"><summary>'
            f'<span class="th"><h2>Unclustered</h2></span><span class="tm">{_plural(len(ids), "article")} that fit '
            'no theme closely enough <span class="hits"></span></span></summary><div class="body">'
            '<ol class="rows"></ol>'
            + (f'<p class="meta">… and {more:,} more (see summaries.json).</p>' if more else "")
            + "</div></details>")


def _data(p: _Page) -> dict:
    """The JSON the page's script reads (field order of an article row documented in assets/report.js)."""
    rows: dict[str, int] = {}
    arts: list[list] = []

    def row(aid: str) -> int:
        if aid not in rows:
            art = p.by_id[aid]
            flags = (1 if aid in p.new else 0) | (2 if aid in p.untitled else 0)
            text = p.texts.get(aid)
            rows[aid] = len(arts)
            arts.append([
                aid, p.title[aid], p.outlet_index.get(p.outlet[aid], -1) if p.outlet[aid] else -1,
                p.day[aid] - p.lo if p.day[aid] is not None else -1, p.url[aid] or "", flags,
                len(p.meta.get(aid, {}).get("sources") or art.get("sources") or []),
                text or 0, sorted(list(x) for x in p.cited.get(aid, ())) if text else [],
                sorted(list(x) for x in art.get("boilerplate") or []) if text else [],
                len(art.get("text") or ""),
            ])
        return rows[aid]

    def members(ids: list[str]) -> tuple[list[int], list[int]]:
        d = [p.day[a] - p.lo if p.day.get(a) is not None else -1 for a in ids]
        o = [p.outlet_index.get(p.outlet.get(a), -1) if p.outlet.get(a) else -1 for a in ids]
        return d, o

    themes = []
    for i, t in enumerate(p.themes):
        d, o = members(t["articles"])
        themes.append({
            "id": t["id"], "s": " ".join([t["label"], *t.get("keywords", [])]), "r": [row(a) for a in p.listed[i]],
            "d": d, "o": o, "n": len(t["articles"]), "l": max(d), "c": p.status("themes", t["id"]) or "",
            "nn": sum(a in p.new for a in t["articles"]),
        })
    if p.unclustered:
        d, o = members(p.unclustered)
        themes.append({"id": "unclustered", "s": "unclustered", "r": [row(a) for a in p.listed_unclustered],
                       "d": d, "o": o, "n": len(p.unclustered), "l": max(d), "c": "",
                       "nn": sum(a in p.new for a in p.unclustered), "u": 1})
    return {"day0": iso(p.lo) if p.lo is not None else None, "outlets": p.outlets, "arts": arts, "themes": themes,
            "since": _since_text(p.changes["since"]) if p.changes else None}


def _json_script(obj: dict) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    for a, b in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(a, b)
    return f'<script type="application/json" id="report-data">{text}</script>'


def _controls(p: _Page, n_themes: int) -> str:
    parts = ['<input type="search" id="q" placeholder="Search labels, keywords, titles" '
             'aria-label="Search themes by label, keyword or article title" autocomplete="off">']
    if p.outlets:
        opts = "".join(f'<option value="{i}">{e(o)} ({p.outlet_count[o]:,})</option>' for i, o in enumerate(p.outlets))
        parts.append(f'<select id="outlet" aria-label="Outlet"><option value="">All {_plural(len(p.outlets), "outlet")}'
                     f"</option>{opts}</select>")
    if p.lo is not None:
        lo, hi = iso(p.lo), iso(p.hi)
        parts.append(f'<span class="dates"><label>from <input type="date" id="from" min="{lo}" max="{hi}"></label> '
                     f'<label>to <input type="date" id="to" min="{lo}" max="{hi}"></label></span>')
    parts.append('<select id="sort" aria-label="Sort themes"><option value="size">Largest first</option>'
                 + ('<option value="recent">Most recent first</option>' if p.lo is not None else "") + "</select>")
    if p.changes:
        parts.append(f'<label class="newonly"><input type="checkbox" id="newonly"> new since '
                     f'{e(_since_text(p.changes["since"]))}</label>')
    parts.append(f'<span id="count" aria-live="polite">{_plural(n_themes, "theme")}</span>')
    return f'<div class="controls" role="search">{"".join(parts)}</div>'


def _legend(p: _Page) -> str:
    items = "".join(
        f'<li><a href="{_href(t["id"])}"><span class="sw" style="background:{p.colours[i]}"></span>{e(t["label"])} '
        f'<span class="meta">({len(t["articles"]):,})</span></a></li>'
        for i, t in enumerate(p.themes)
    )
    if p.unclustered:
        items += (f'<li><a href="#unclustered"><span class="sw" style="background:#9a9a9a"></span>unclustered '
                  f'<span class="meta">({len(p.unclustered):,})</span></a></li>')
    return (f'<details class="legend"><summary>Colours of the {_plural(len(p.themes), "theme")}</summary>'
            f"<ol>{items}</ol></details>")


def _map(p: _Page, articles: list[dict], vectors: np.ndarray | None) -> str:
    if vectors is None or len(vectors) != len(articles) or not articles:
        return '<p class="meta">No article vectors in this run folder: map not drawn.</p>'
    row_of = {a["id"]: k for k, a in enumerate(articles)}
    groups = [[row_of[a] for a in t["articles"] if a in row_of] for t in p.themes]
    groups.append([row_of[a] for a in p.unclustered if a in row_of])
    svg = map_svg(vectors, groups, p.colours, [t["label"] for t in p.themes], [t["id"] for t in p.themes],
                  len(articles))
    return (f'{svg}<p class="meta">Each dot is an article; nearby dots have similar content (PCA of the article '
            "vectors). The largest themes are labelled; click a dot to open its theme.</p>" + _legend(p))


def _provenance(summaries: dict, provenance: dict | None) -> str:
    run = summaries.get("run", {})
    prov = provenance or {}
    rows = [
        ("Run folder", prov.get("run_folder")),
        ("Created", run.get("created")),
        ("Model", run.get("model")),
        ("Grouping", run.get("grouping")),
        ("Pipeline", run.get("version")),
    ]
    versions = prov.get("versions") or {}
    if versions:
        rows.append(("Packages", ", ".join(f"{k} {v}" for k, v in sorted(versions.items()) if v)))
    inputs = prov.get("inputs") or []
    if inputs:
        rows.append(("Inputs", "; ".join(str(x) for x in inputs)))
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in rows if v not in (None, ""))
    config = run.get("config")
    if config:
        dl += f"<dt>Config</dt><dd><pre>{e(json.dumps(config, indent=1, sort_keys=True))}</pre></dd>"
    return f'<details class="prov" id="about"><summary>About this run</summary><dl>{dl}</dl></details>'


def _rejected(ingest_report: dict) -> str:
    rej = ingest_report.get("rejections", [])
    if not rej:
        return ""
    rows = "".join(
        f'<tr><td>{e(r["source"].get("path"))}'
        f'{" #" + e(r["source"]["index"]) if r["source"].get("index") is not None else ""}'
        f'</td><td>{e(r["reason"])}</td></tr>' for r in rej[:500]
    )
    more = f'<p class="meta">… and {len(rej) - 500:,} more (see ingest_report.json).</p>' if len(rej) > 500 else ""
    return (f'<details class="panel" id="rejected"><summary>Rejected inputs ({len(rej):,})</summary>'
            f'<table class="rej">{rows}</table>{more}</details>')


# ---------------------------------------------------------------------------------------------------------------
def build_report(summaries: dict, articles: list[dict], ingest_report: dict | None = None,
                 vectors: np.ndarray | None = None, *, changes: dict | None = None, title: str = "News themes",
                 max_articles: int = 50, max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
                 provenance: dict | None = None) -> str:
    """The whole report page as one HTML string.

    Parameters
    ----------
    summaries : dict
        The content of ``summaries.json``.
    articles : list of dict
        The rows of ``articles.jsonl`` (text, sentence and boilerplate spans), the same articles as ``summaries``.
    ingest_report : dict, optional
        The content of ``ingest_report.json`` (counts, rejections).
    vectors : ndarray of shape (n_articles, dim), optional
        Article vectors in the order of ``articles``, for the map; without them the map is left out.
    changes : dict, optional
        The content of ``changes.json`` written by ``pipeline update``: new and grown themes and stories and new
        articles are marked, and a "new since" filter is offered.
    title : str
        The page's heading.
    max_articles : int
        Members listed per theme (the most central first; cited articles are always listed).
    max_text_chars : int
        Characters of article text inlined in the page, in all.
    provenance : dict, optional
        ``run_folder``, ``versions`` and ``inputs`` for the "About this run" block.

    Raises
    ------
    ReportError
        When the summaries were not made from these articles, or ``changes`` is malformed.
    """
    if max_articles < 1:
        raise ValueError(f"max_articles={max_articles} should be >= 1.")
    if max_text_chars < 0:
        raise ValueError(f"max_text_chars={max_text_chars} should be >= 0.")
    problem = stale_summaries(summaries, articles)
    if problem:
        raise ReportError(f"the summaries do not match the articles ({problem}); summarise these articles again")
    ingest_report = ingest_report or {}
    p = _Page(summaries, articles, _read_changes(changes), max_articles, max_text_chars)

    n_themes = len(p.themes)
    sub = [_plural(len(articles), "article")]
    if p.outlets:
        sub.append(_plural(len(p.outlets), "outlet"))
    if p.lo is not None:
        sub.append(_date_range([p.lo, p.hi]))
    sub.append(_plural(n_themes, "theme"))
    counts = [
        ("articles read", ingest_report.get("read", len(articles))),
        ("unique", ingest_report.get("unique", len(articles))),
        ("duplicates", ingest_report.get("duplicates", 0)),
        ("rejected", ingest_report.get("rejected", 0)),
        ("themes", n_themes),
        ("unclustered", len(p.unclustered)),
    ]
    stats = "".join(f'<div class="stat"><b>{e(v)}</b><span>{e(k)}</span></div>' for k, v in counts)
    update = ""
    if p.changes:
        st = Counter(p.changes["themes"].get(t["id"]) for t in p.themes)
        n_new = sum(a in p.new for a in p.by_id)
        update = (f'<p class="update"><b>Update:</b> {_plural(n_new, "new article")} since '
                  f'{e(_since_text(p.changes["since"]))} · {_plural(st["new"], "new theme")} · '
                  f'{_plural(st["grown"], "grown theme")}.</p>')
    cards = [_card(p, i, t) for i, t in enumerate(p.themes)]
    if p.unclustered:
        cards.append(_unclustered_card(p, n_themes))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_asset('report.css')}</style></head><body>"
        f'<header><h1>{e(title)}</h1><div class="sub">{" · ".join(sub)}</div></header><main>'
        f'<div class="stats">{stats}</div>{update}'
        f'<section class="panel" id="map"><h2>Map</h2>{_map(p, articles, vectors)}</section>'
        f'{_controls(p, n_themes)}<noscript><p class="meta">Search, filters and the article lists need '
        "JavaScript.</p></noscript>"
        f'<div id="themes">{"".join(cards)}</div>{_rejected(ingest_report)}{_provenance(summaries, provenance)}'
        "</main><footer>Made by the news themes pipeline. Every summary sentence links to its passage in the "
        f"article.</footer>{_json_script(_data(p))}<script>{_asset('report.js')}</script></body></html>\n"
    )
