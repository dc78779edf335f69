"""The report's inline SVG: the theme palette, the map of the articles and the per-theme timelines.

Everything here returns deterministic strings: coordinates are rounded to one decimal, colours are computed, never
drawn at random, and a sample is drawn with a fixed seed.
"""

from __future__ import annotations

import colorsys
import html
from datetime import date

import numpy as np

UNCLUSTERED_COLOUR = "#9a9a9a"
#: At most this many articles are drawn on the map (a stratified sample above it).
MAX_MAP_POINTS = 5000
#: The largest themes get a text label on the map; the others only a colour.
MAP_LABELS = 10
GOLDEN_ANGLE = 137.50776405003785
# Lightness and saturation cycle with periods 5 and 3, so the golden-angle hues that come back close to each other
# (themes i and i + 8, 13, 21, 34, 55, 89, 144, ...) differ in lightness or saturation. Chosen by the smallest CIELAB
# distance between such pairs over 600 colours (tests/test_report.py checks it).
_LIGHTNESS = (0.53, 0.38, 0.58, 0.43, 0.28)
_SATURATION = (0.65, 0.90, 0.45)


def e(text) -> str:
    """HTML-escape any value (None -> empty)."""
    return html.escape("" if text is None else str(text), quote=True)


def palette(n: int) -> list[str]:
    """``n`` colours as ``#rrggbb``: golden-angle hues with cycled lightness and saturation.

    Neighbours in the list (themes of similar size) get hues about 137.5 degrees apart, and no colour repeats
    visibly before several hundred themes.
    """
    out = []
    for i in range(n):
        h = (i * GOLDEN_ANGLE) % 360.0 / 360.0
        r, g, b = colorsys.hls_to_rgb(h, _LIGHTNESS[i % 5], _SATURATION[i % 3])
        out.append("#%02x%02x%02x" % (round(r * 255), round(g * 255), round(b * 255)))
    return out


# ---------------------------------------------------------------------------------------------------------------
def project_2d(vectors: np.ndarray, random_state: int = 0) -> np.ndarray:
    """2-D coordinates for the map, scaled to [0, 1]: PCA of the article vectors (deterministic, linear time).

    Parameters
    ----------
    vectors : ndarray of shape (n_articles, dim)

    Returns
    -------
    ndarray of shape (n_articles, 2)
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


def map_sample(groups: list[list[int]], limit: int = MAX_MAP_POINTS, seed: int = 0) -> list[list[int]]:
    """A stratified sample of the rows of each group, about ``limit`` in all, at least one per group.

    Parameters
    ----------
    groups : list of lists of row numbers (one list per theme, the last may be the unclustered articles)

    Returns
    -------
    list of lists of row numbers, each sorted, in the order of ``groups``
    """
    total = sum(len(g) for g in groups)
    if total <= limit:
        return [sorted(g) for g in groups]
    rng = np.random.default_rng(seed)
    frac = limit / total
    out = []
    for g in groups:
        k = min(len(g), max(1, int(round(len(g) * frac))))
        out.append(sorted(int(x) for x in rng.choice(np.asarray(g), size=k, replace=False)) if g else [])
    return out


def map_svg(vectors: np.ndarray, groups: list[list[int]], colours: list[str], labels: list[str],
            anchors: list[str], n_total: int) -> str:
    """The map: one dot per (sampled) article, coloured by theme; the largest themes labelled.

    Parameters
    ----------
    vectors : ndarray of shape (n_articles, dim)
        Article vectors, rows numbered as in ``groups``.
    groups : list of lists of row numbers
        One list per theme, largest theme first; a last extra list (no colour) holds the unclustered articles.
    colours, labels, anchors : list of str, one per theme
        Fill colour, label and element id of each theme.
    n_total : int
        Number of articles in the run (for the "sample of" note).
    """
    sample = map_sample(groups)
    rows = np.array([r for g in sample for r in g], dtype=np.int64)
    if len(rows) == 0:
        return '<p class="meta">No articles to draw.</p>'
    xy = project_2d(np.asarray(vectors)[rows])
    w, h, pad = 600, 420, 14
    px = pad + xy[:, 0] * (w - 2 * pad)
    py = pad + (1 - xy[:, 1]) * (h - 2 * pad)
    radius = 5.0 if len(rows) <= 300 else 3.2 if len(rows) <= 2000 else 2.4
    parts = []
    centres = []
    pos = 0
    for t, g in enumerate(sample):
        k = len(g)
        gx, gy = px[pos:pos + k], py[pos:pos + k]
        pos += k
        if not k:
            centres.append(None)
            continue
        theme = t < len(colours)
        fill = colours[t] if theme else UNCLUSTERED_COLOUR
        name = labels[t] if theme else "unclustered"
        dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}"/>' for x, y in zip(gx, gy))
        attr = f' data-t="{e(anchors[t])}"' if theme else ""
        parts.append(f'<g fill="{fill}"{attr}><title>{e(name)}</title>{dots}</g>')
        centres.append((float(np.median(gx)), float(np.median(gy))) if theme else None)
    # Unclustered first (underneath), then the smallest themes, so the largest do not hide them... but the largest
    # are the ones labelled: draw them last so their dots sit under their labels.
    parts = parts[len(colours):] + parts[:len(colours)][::-1]
    svg_labels = _map_labels(centres, labels, colours, w, h)
    note = ""
    if len(rows) < n_total:
        note = (f'<p class="meta">A stratified sample of {len(rows):,} of the {n_total:,} articles is drawn '
                "(every theme keeps at least one dot).</p>")
    return (f'<svg class="map" role="img" aria-label="Map of the articles coloured by theme" viewBox="0 0 {w} {h}" '
            f'xmlns="http://www.w3.org/2000/svg"><g class="dots" fill-opacity="0.8">{"".join(parts)}</g>'
            f'{svg_labels}</svg>{note}')


def _map_labels(centres: list, labels: list[str], colours: list[str], w: int, h: int) -> str:
    """Text labels for the largest themes, skipping one that would overlap a label already placed."""
    boxes: list[tuple[float, float, float, float]] = []
    out = []
    for t in range(min(len(colours), len(centres))):
        if len(out) >= MAP_LABELS:
            break
        if centres[t] is None:
            continue
        text = labels[t] if len(labels[t]) <= 26 else labels[t][:25].rstrip() + "…"
        cx, cy = centres[t]
        bw, bh = 7.2 * len(text) + 6, 17
        x0 = min(max(cx - bw / 2, 2), w - bw - 2)
        y0 = min(max(cy - bh / 2, 2), h - bh - 2)
        box = (x0, y0, x0 + bw, y0 + bh)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
            continue
        boxes.append(box)
        # Anchored on the side nearer the edge, so the larger type of a phone screen grows inwards.
        anchor, x = ("start", x0) if cx < w / 3 else ("end", x0 + bw) if cx > 2 * w / 3 else ("middle", x0 + bw / 2)
        out.append(f'<text x="{x:.1f}" y="{y0 + 12.5:.1f}" text-anchor="{anchor}" fill="{colours[t]}">'
                   f"{e(text)}</text>")
    return f'<g class="labels">{"".join(out)}</g>' if out else ""


# ---------------------------------------------------------------------------------------------------------------
def day_number(value) -> int | None:
    """``"2017-03-29"`` (or a longer ISO string starting with a date) -> its proleptic ordinal; else None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10]).toordinal()
    except ValueError:
        return None


def iso(day: int) -> str:
    return date.fromordinal(day).isoformat()


def bin_unit(lo: int, hi: int) -> str:
    """Bars per day up to 4 months, per week up to 2 years, else per month."""
    span = hi - lo + 1
    return "day" if span <= 122 else "week" if span <= 731 else "month"


def _bin_of(day: int, lo: int, unit: str) -> int:
    if unit == "day":
        return day - lo
    if unit == "week":
        return (day - lo) // 7
    d, d0 = date.fromordinal(day), date.fromordinal(lo)
    return (d.year - d0.year) * 12 + d.month - d0.month


def _bin_start(b: int, lo: int, unit: str) -> str:
    if unit == "day":
        return iso(lo + b)
    if unit == "week":
        return iso(lo + 7 * b)
    d0 = date.fromordinal(lo)
    m = d0.month - 1 + b
    return f"{d0.year + m // 12:04d}-{m % 12 + 1:02d}"


def histogram(days: list[int], lo: int, hi: int, unit: str) -> np.ndarray:
    """Articles per bin between ``lo`` and ``hi`` (day ordinals, inclusive)."""
    n = _bin_of(hi, lo, unit) + 1
    counts = np.zeros(n, dtype=np.int64)
    for d in days:
        if lo <= d <= hi:
            counts[_bin_of(d, lo, unit)] += 1
    return counts


def peak(days: list[int], lo: int, hi: int, unit: str) -> tuple[str, int] | None:
    """(start of the busiest bin, its count), the earliest on ties; None without dates."""
    if not days:
        return None
    counts = histogram(days, lo, hi, unit)
    b = int(np.argmax(counts))
    return _bin_start(b, lo, unit), int(counts[b])


def _bars_path(counts: np.ndarray, w: float, h: float, x0: float = 0.0, y0: float = 0.0) -> str:
    """All bars as one SVG path (one DOM node however many bars)."""
    top = max(int(counts.max()), 1) if len(counts) else 1
    bw = w / max(len(counts), 1)
    out = []
    for i, c in enumerate(counts):
        if c <= 0:
            continue
        bh = max(h * c / top, 1.0)
        out.append(f"M{x0 + i * bw:.1f} {y0 + h:.1f}h{max(bw * 0.85, 0.6):.1f}v{-bh:.1f}h{-max(bw * 0.85, 0.6):.1f}z")
    return "".join(out)


def axis(days: list[int]) -> tuple[int, int] | tuple[None, None]:
    """The time axis shared by every card's sparkline: from the 1st percentile of the dates to the last date.

    A few stray old dates (an archive page, a wrong year) would otherwise squeeze every sparkline into its last
    bars; the latest date always stays, as it is where updates arrive.
    """
    if not days:
        return None, None
    lo, hi = min(days), max(days)
    p1 = int(np.percentile(np.asarray(days), 1, method="lower"))
    return (p1 if hi - p1 < (hi - lo) / 2 else lo), hi


def sparkline(days: list[int], lo: int, hi: int, colour: str) -> str:
    """A small bar chart on the collection's time axis (``lo`` to ``hi``), the same on every card, so the cards
    line up: when did this theme happen? Dates before ``lo`` are left out."""
    if not days or lo is None:
        return ""
    unit = bin_unit(lo, hi)
    counts = histogram(days, lo, hi, unit)
    w, h = 120, 22
    per = {"day": "per day", "week": "per week", "month": "per month"}[unit]
    return (f'<svg class="spark" viewBox="0 0 {w} {h + 2}" role="img" aria-label="Articles {per}, {iso(lo)} to '
            f'{iso(hi)}"><title>Articles {per}, {iso(lo)} to {iso(hi)} (the same axis on every theme)</title>'
            f'<path d="M0 {h + 1}h{w}" stroke="#d0d0d0" stroke-width="1"/>'
            f'<path d="{_bars_path(counts, w, h)}" fill="{colour}"/></svg>')


def timeline_svg(days: list[int], colour: str) -> str:
    """The theme's articles per day (or week / month on long spans) over its own date range, peak marked."""
    if not days:
        return '<p class="meta">No dated article in this theme.</p>'
    lo, hi = min(days), max(days)
    unit = bin_unit(lo, hi)
    counts = histogram(days, lo, hi, unit)
    b = int(np.argmax(counts))
    w, h, top, bottom = 600, 70, 22, 22
    bw = w / len(counts)
    bars = _bars_path(counts, w, h, 0, top)
    px = min(max((b + 0.42) * bw, 60), w - 60)
    peak_bar = _bars_path(np.where(np.arange(len(counts)) == b, counts, 0), w, h, 0, top)
    first, last = _bin_start(0, lo, unit), _bin_start(len(counts) - 1, lo, unit)
    per = {"day": "per day", "week": "per week", "month": "per month"}[unit]
    return (f'<svg class="timeline" viewBox="0 0 {w} {top + h + bottom}" role="img" '
            f'aria-label="Articles {per}, peak {e(_bin_start(b, lo, unit))}">'
            f'<path d="M0 {top + h + 0.5}h{w}" stroke="#bbb" stroke-width="1"/>'
            f'<path d="{bars}" fill="{colour}" fill-opacity="0.55"/><path d="{peak_bar}" fill="{colour}"/>'
            f'<text x="{px:.1f}" y="{top - 5}" text-anchor="middle">{int(counts[b])}</text>'
            f'<text x="0" y="{top + h + 17}">{e(first)}</text>'
            f'<text x="{w}" y="{top + h + 17}" text-anchor="end">{e(last)}</text></svg>'
            f'<p class="meta">Articles {per}; the darkest bar is the peak: {e(_bin_start(b, lo, unit))} '
            f'({int(counts[b])} article{"s" if counts[b] != 1 else ""}).</p>')
