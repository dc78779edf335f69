"""summaries.json -> one self-contained HTML page (inline CSS, inline SVG, a few lines of inline JS).

Every piece of article text goes through :func:`html.escape`, so an article containing ``<script>`` shows as text.
The page works offline: it loads nothing from the network.
"""

from __future__ import annotations

import html
from collections import defaultdict

import numpy as np

PALETTE = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#393b79", "#ad494a", "#637939", "#8c6d31", "#7b4173", "#3182bd", "#e6550d",
]
UNCLUSTERED_COLOUR = "#9a9a9a"
MAX_MAP_POINTS = 5000

CSS = """
:root{--ink:#1d1d1f;--muted:#5f6368;--line:#e3e3e3;--bg:#fafafa;--mark:#fff1a8}
*{box-sizing:border-box}
body{margin:0;font:15px/1.55 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:20px 32px}
header h1{margin:0 0 4px;font-size:24px}
header .sub{color:var(--muted);font-size:13px}
main{max-width:1100px;margin:0 auto;padding:16px 32px 64px}
.stats{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.stat{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:110px}
.stat b{display:block;font-size:22px}
.stat span{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.panel{background:#fff;border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin:18px 0}
.mapwrap{display:flex;gap:18px;flex-wrap:wrap;align-items:flex-start}
.mapwrap svg{flex:0 0 auto;border:1px solid var(--line);border-radius:8px;background:#fff}
.legend{flex:1 1 260px;font-size:13px;list-style:none;margin:0;padding:0}
.legend li{margin:3px 0}
.legend a{color:var(--ink);text-decoration:none}
.sw{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:6px;vertical-align:middle}
.theme{border-left:6px solid var(--c);}
.theme h2{margin:0 0 4px;font-size:20px}
.meta{color:var(--muted);font-size:13px}
.kw{display:inline-block;background:#f1f3f4;border-radius:12px;padding:1px 9px;margin:2px 3px 2px 0;font-size:12px}
ol.summary{padding-left:22px;margin:10px 0}
ol.summary li{margin:4px 0}
ol.summary a.cite{font-size:12px;color:var(--muted);text-decoration:none;white-space:nowrap;margin-left:4px}
ol.summary a.cite:hover{text-decoration:underline}
h3{font-size:15px;margin:14px 0 6px}
.story{border-top:1px dashed var(--line);padding-top:6px;margin-top:6px}
.story h4{margin:4px 0;font-size:14px}
details.article{border-top:1px solid var(--line);padding:6px 0}
details.article summary{cursor:pointer}
details.article .src{color:var(--muted);font-size:12px}
.atext{white-space:pre-wrap;font-size:14px;background:#fcfcfc;border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:6px 0;max-height:420px;overflow:auto}
mark{background:var(--mark);padding:0 1px;border-radius:2px}
mark:target{background:#ffd54f;outline:2px solid #f9a825}
table.rej{border-collapse:collapse;font-size:13px;width:100%}
table.rej td{border-top:1px solid var(--line);padding:4px 6px;vertical-align:top}
footer{color:var(--muted);font-size:12px;text-align:center;padding:24px}
"""

# Opening the <details> that holds a cited passage when a citation link is followed.
JS = """
function openTarget(){var id=decodeURIComponent(location.hash.slice(1));if(!id)return;
var el=document.getElementById(id);if(!el)return;var d=el.closest('details');if(d&&!d.open){d.open=true;}
el.scrollIntoView({block:'center'});}
window.addEventListener('hashchange',openTarget);window.addEventListener('load',openTarget);
"""


def e(text) -> str:
    """HTML-escape any value (None -> empty)."""
    return html.escape("" if text is None else str(text), quote=True)


def project_2d(vectors: np.ndarray, random_state: int = 0) -> np.ndarray:
    """2-D coordinates for the map, scaled to [0, 1]: PCA of the article vectors (deterministic, linear time).

    t-SNE drew tighter groups but took 30 s even for 8 points on a busy 2-core machine; PCA takes milliseconds.
    """
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2))
    if n < 3:
        return np.array([[0.3, 0.5], [0.7, 0.5]])[:n]
    from sklearn.decomposition import PCA

    x = np.asarray(vectors, dtype=np.float64)
    xy = PCA(n_components=2, random_state=random_state, svd_solver="full" if n < 5000 else "randomized")\
        .fit_transform(x)
    # PCA's sign is arbitrary: fix it so the largest-magnitude coordinate of each axis is positive.
    for k in range(2):
        if xy[np.argmax(np.abs(xy[:, k])), k] < 0:
            xy[:, k] = -xy[:, k]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return (xy - lo) / span


def _date_range(ids: list[str], meta: dict) -> str:
    dates = sorted(d for d in (meta.get(i, {}).get("date") for i in ids) if d)
    if not dates:
        return ""
    return " · " + (dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}")


def _anchor(aid: str, start: int, end: int) -> str:
    return f"c-{aid}-{start}-{end}"


def _marked_text(text: str, spans: list[tuple[int, int]], aid: str) -> str:
    """Article text, escaped, with each cited span wrapped in <mark id=...>."""
    out = []
    pos = 0
    for s, t in sorted(set(spans)):
        if s < pos:  # overlapping spans: skip the later one (cannot happen with sentence spans)
            continue
        out.append(e(text[pos:s]))
        out.append(f'<mark id="{_anchor(aid, s, t)}">{e(text[s:t])}</mark>')
        pos = t
    out.append(e(text[pos:]))
    return "".join(out)


def _summary_list(summary: list[dict], meta: dict) -> str:
    if not summary:
        return '<p class="meta">No summary sentence (no usable sentence in this group).</p>'
    items = []
    for s in summary:
        title = meta.get(s["article_id"], {}).get("title") or s["article_id"]
        items.append(
            f'<li>{e(s["text"])} <a class="cite" href="#{_anchor(s["article_id"], s["start"], s["end"])}" '
            f'title="{e(title)}">[{e(title[:40])}{"…" if len(title) > 40 else ""}]</a></li>'
        )
    return '<ol class="summary">' + "".join(items) + "</ol>"


def _sources(sources: list[dict]) -> str:
    parts = []
    for s in sources:
        where = e(s.get("path"))
        if s.get("input_id") is not None:
            where += f" id {e(s['input_id'])}"
        elif s.get("index") is not None:
            where += f" #{e(s['index'])}"
        parts.append(where)
    return "; ".join(parts)


def _map_svg(summaries: dict, articles: list[dict], vectors: np.ndarray | None, colour: dict, label_of: dict) -> str:
    if vectors is None or len(vectors) != len(articles) or len(articles) == 0:
        return '<p class="meta">No article vectors in this run folder: map not drawn.</p>'
    n = len(articles)
    rows = np.arange(n)
    note = ""
    if n > MAX_MAP_POINTS:
        rows = np.sort(np.random.default_rng(0).choice(n, MAX_MAP_POINTS, replace=False))
        note = f'<p class="meta">Showing a random sample of {MAX_MAP_POINTS:,} of {n:,} articles.</p>'
    xy = project_2d(np.asarray(vectors)[rows])
    label_by_id = {t["id"]: t["label"] for t in summaries["themes"]}
    w, h, pad = 560, 420, 18
    dots = []
    for (x, y), r in zip(xy, rows):
        art = articles[r]
        tid = label_of.get(art["id"])
        c = colour.get(tid, UNCLUSTERED_COLOUR)
        theme = label_by_id.get(tid, "unclustered")
        cx, cy = pad + x * (w - 2 * pad), pad + (1 - y) * (h - 2 * pad)
        dots.append(
            f'<a href="#art-{e(art["id"])}"><circle cx="{cx:.1f}" cy="{cy:.1f}" r="{6 if n <= 200 else 3.5}" '
            f'fill="{c}" fill-opacity="0.85" stroke="#fff" stroke-width="0.8">'
            f'<title>{e(art.get("title") or art["id"])} ({e(theme)})</title></circle></a>'
        )
    svg = (f'<svg role="img" aria-label="Map of the articles coloured by theme" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" xmlns="http://www.w3.org/2000/svg">' + "".join(dots) + "</svg>")
    legend = "".join(
        f'<li><a href="#{e(t["id"])}"><span class="sw" style="background:{colour[t["id"]]}"></span>'
        f'{e(t["label"])} <span class="meta">({len(t["articles"])})</span></a></li>'
        for t in summaries["themes"]
    )
    if summaries.get("unclustered"):
        legend += (f'<li><span class="sw" style="background:{UNCLUSTERED_COLOUR}"></span>unclustered '
                   f'<span class="meta">({len(summaries["unclustered"])})</span></li>')
    return (f'<div class="mapwrap">{svg}<ul class="legend">{legend}</ul></div>{note}'
            '<p class="meta">Each dot is an article; nearby dots have similar content (PCA of the '
            "article vectors). Hover for the title, click to jump to it.</p>")


def build_report(summaries: dict, articles: list[dict], ingest_report: dict, vectors: np.ndarray | None = None,
                 *, title: str = "News themes", max_articles: int = 50) -> str:
    """The whole report page as one HTML string."""
    meta = summaries.get("articles", {})
    by_id = {a["id"]: a for a in articles}
    themes = sorted(summaries["themes"], key=lambda t: (-len(t["articles"]), t["id"]))
    summaries = {**summaries, "themes": themes}
    colour = {t["id"]: PALETTE[i % len(PALETTE)] for i, t in enumerate(themes)}
    label_of = {aid: t["id"] for t in themes for aid in t["articles"]}

    # Every cited span per article, so the article text can highlight them all.
    cited: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for t in themes:
        for s in t["summary"]:
            cited[s["article_id"]].append((s["start"], s["end"]))
        for st in t.get("stories", []):
            for s in st["summary"]:
                cited[s["article_id"]].append((s["start"], s["end"]))

    def article_block(aid: str, open_: bool = False) -> str:
        art = by_id.get(aid, {})
        m = meta.get(aid, {})
        head = e(m.get("title") or art.get("title") or aid)
        date = f' · {e(m.get("date"))}' if m.get("date") else ""
        n_src = len(m.get("sources", []))
        dup = f" · {n_src} copies" if n_src > 1 else ""
        return (
            f'<details class="article" id="art-{e(aid)}"{" open" if open_ else ""}><summary>{head}'
            f'<span class="meta">{date}{dup}</span></summary>'
            f'<div class="src">Sources: {_sources(m.get("sources", []))} · id {e(aid)}</div>'
            f'<div class="atext">{_marked_text(art.get("text", ""), cited.get(aid, []), aid)}</div></details>'
        )

    run = summaries.get("run", {})
    counts = [
        ("articles read", ingest_report.get("read", len(articles))),
        ("unique", ingest_report.get("unique", len(articles))),
        ("duplicates", ingest_report.get("duplicates", 0)),
        ("rejected", ingest_report.get("rejected", 0)),
        ("themes", len(themes)),
        ("unclustered", len(summaries.get("unclustered", []))),
    ]
    stats = "".join(f'<div class="stat"><b>{e(v)}</b><span>{e(k)}</span></div>' for k, v in counts)

    sections = []
    for t in themes:
        ids = t["articles"]
        kws = "".join(f'<span class="kw">{e(k)}</span>' for k in t.get("keywords", []))
        stories = ""
        same = len(t.get("stories", [])) == 1 and set(t["stories"][0]["articles"]) == set(ids)
        if same:
            stories = '<p class="meta">One story: every article of this theme covers the same event.</p>'
        shown = ids[:max_articles]
        if not same and t.get("stories"):
            parts = []
            several = [st for st in t["stories"] if len(st["articles"]) > 1]
            single = [st for st in t["stories"] if len(st["articles"]) == 1]
            for st in several:
                parts.append(
                    f'<div class="story"><h4>{e(st["label"])} <span class="meta">· {len(st["articles"])} '
                    f'articles{_date_range(st["articles"], meta)}</span></h4>{_summary_list(st["summary"], meta)}</div>'
                )
            if single:  # one line each, folded: a long stream has many articles no other article shares an event with
                on_page = set(shown)
                items = []
                for st in single:
                    aid = st["articles"][0]
                    name = e(meta.get(aid, {}).get("title") or by_id.get(aid, {}).get("title") or st["label"])
                    items.append(f'<li><a href="#art-{e(aid)}">{name}</a></li>' if aid in on_page else f"<li>{name}</li>")
                parts.append(f'<details class="story"><summary>{len(single)} single-article '
                             f'stor{"ies" if len(single) != 1 else "y"}</summary><ul>{"".join(items)}</ul></details>')
            count = f"{len(several)}" + (f" + {len(single)} single-article" if single else "")
            stories = f"<h3>Stories ({count})</h3>" + "".join(parts)
        more = (f'<p class="meta">… and {len(ids) - len(shown)} more articles (see summaries.json).</p>'
                if len(ids) > len(shown) else "")
        sections.append(
            f'<section class="panel theme" id="{e(t["id"])}" style="--c:{colour[t["id"]]}">'
            f'<h2>{e(t["label"])}</h2>'
            f'<div class="meta">{len(ids)} articles{_date_range(ids, meta)} · id {e(t["id"])}</div>'
            f'<div>{kws}</div><h3>Summary</h3>{_summary_list(t["summary"], meta)}{stories}'
            f'<h3>Articles</h3>{"".join(article_block(a) for a in shown)}{more}</section>'
        )
    uncl = summaries.get("unclustered", [])
    if uncl:
        sections.append(
            f'<section class="panel" id="unclustered"><h2>Unclustered ({len(uncl)})</h2>'
            '<p class="meta">Articles that fit no theme closely enough.</p>'
            + "".join(article_block(a) for a in uncl[:max_articles]) + "</section>"
        )
    rej = ingest_report.get("rejections", [])
    if rej:
        rows = "".join(
            f'<tr><td>{e(r["source"].get("path"))}{" #" + e(r["source"]["index"]) if r["source"].get("index") is not None else ""}'
            f'</td><td>{e(r["reason"])}</td></tr>' for r in rej[:500]
        )
        sections.append(f'<section class="panel" id="rejected"><h2>Rejected inputs ({len(rej)})</h2>'
                        f'<table class="rej">{rows}</table></section>')

    sub = f'model {e(run.get("model"))} · pipeline {e(run.get("version"))}'
    if run.get("created"):
        sub += f' · {e(run.get("created"))}'
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{e(title)}</h1><div class="sub">{sub}</div></header><main>'
        f'<div class="stats">{stats}</div>'
        f'<section class="panel"><h2 style="margin-top:0">Map</h2>'
        f"{_map_svg(summaries, articles, vectors, colour, label_of)}</section>"
        + "".join(sections)
        + f"</main><footer>Generated by the news themes pipeline. Every summary sentence links to its source passage."
        f"</footer><script>{JS}</script></body></html>\n"
    )
