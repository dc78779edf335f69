"""What an update changed: new, grown and unchanged themes and stories; merges and splits of a rebuild.

Pure functions on ``clusters.json`` dicts; the runner (``pipeline.runner.run_update``) reads and writes the files.

``changes.json`` (one per update, the latest in the run folder, every one in ``updates/NNNN/changes.json``)::

    {"update": 3, "created": ISO time, "since": ISO time of the previous update (or of the first run),
     "rebuild": false, "inputs": [{"path", "sha256", "bytes"}],
     "articles": {"read", "new", "joined_earlier", "duplicates", "rejected"},
     "new_articles": [ids],
     "themes": {theme_id: "new" | "grown" | "unchanged"}, "stories": {story_id: ...},
     "groups": [{"id", "kind": "theme" | "story", "theme", "status", "size_before", "size_after",
                 "added": [ids], "first_date", "last_date"}],
     "merged": [{"into", "from": [old ids]}], "split": [{"from", "into": [new ids]}]}

``history.jsonl`` holds one line per update (and the first run): the counts of ``changes.json`` without the lists.
"""

from __future__ import annotations

from collections import Counter

import numpy as np


def _members(group: dict) -> list[str]:
    return [m["id"] if isinstance(m, dict) else m for m in group.get("articles", [])]


def _dates(ids: list[str], dates: dict[str, str | None]) -> tuple[str | None, str | None]:
    ds = sorted(d for d in (dates.get(i) for i in ids) if d)
    return (ds[0], ds[-1]) if ds else (None, None)


def group_changes(old: dict | None, new: dict, dates: dict[str, str | None]) -> list[dict]:
    """One record per theme and story of ``new``: its status against ``old`` and what it gained."""
    before: dict[str, set[str]] = {}
    for t in (old or {}).get("themes", []):
        before[t["id"]] = set(_members(t))
        for s in t.get("stories", []):
            before[s["id"]] = set(_members(s))
    out = []
    for t in new.get("themes", []):
        for kind, g in [("theme", t)] + [("story", s) for s in t.get("stories", [])]:
            ids = _members(g)
            had = before.get(g["id"])
            added = [i for i in ids if had is None or i not in had]
            status = "new" if had is None else ("grown" if added else "unchanged")
            if had is not None and not added and set(ids) != had:
                status = "changed"  # lost members (only a rebuild can do that)
            first, last = _dates(ids, dates)
            out.append({"id": g["id"], "kind": kind, "theme": t["id"], "label": g.get("label", ""), "status": status,
                        "size_before": len(had) if had is not None else 0, "size_after": len(ids),
                        "added": added, "first_date": first, "last_date": last})
    return out


def merges_and_splits(old: dict, new: dict, *, share: float = 0.5) -> tuple[list[dict], list[dict]]:
    """Themes of a rebuild that merged or split earlier ones.

    A new theme *merges* the earlier themes that each gave it at least ``share`` of their members (two or more);
    an earlier theme is *split* when two or more new themes each hold at least ``share / 2`` of its members.
    """
    new_of = {a: t["id"] for t in new.get("themes", []) for a in _members(t)}
    merged: dict[str, list[str]] = {}
    split = []
    for t in old.get("themes", []):
        ids = _members(t)
        if not ids:
            continue
        counts = Counter(new_of.get(a) for a in ids if new_of.get(a) is not None)
        for nid, c in counts.items():
            if c >= share * len(ids):
                merged.setdefault(nid, []).append(t["id"])
        parts = sorted(nid for nid, c in counts.items() if c >= share / 2 * len(ids))
        if len(parts) >= 2:
            split.append({"from": t["id"], "into": parts})
    merges = [{"into": nid, "from": sorted(olds)} for nid, olds in sorted(merged.items()) if len(olds) >= 2]
    return merges, split


def summarize_changes(groups: list[dict]) -> dict:
    """Counts per kind and status: ``{"themes": {"new": 2, ...}, "stories": {...}}``."""
    out: dict = {"themes": {}, "stories": {}}
    for g in groups:
        d = out["themes" if g["kind"] == "theme" else "stories"]
        d[g["status"]] = d.get(g["status"], 0) + 1
    return out


def changed_group_ids(groups: list[dict]) -> set[str]:
    """Ids of the themes and stories whose members changed (their summaries must be rewritten)."""
    return {g["id"] for g in groups if g["status"] != "unchanged"}


# ------------------------------------------------------------------------------------------------------------------
# Placement: where a new article goes, by the rule the cluster stage polishes its groups with.

#: A new article joins a group only if its mean cosine similarity to the group's members is not an outlier of the
#: members' own (leave-one-out) mean similarities to the group: at least the lowest of them, or their mean less
#: ``FIT_SIGMAS`` standard deviations, whichever is lower. A member of the group's own kind almost always passes (at
#: 3 sigma, about 1 in 700 of a normal spread); an article of another subject does not.
FIT_SIGMAS = 3.0
#: A group's fit floor is never below this (a loose group does not take everything).
MIN_FLOOR = 0.2
#: A new article joins a story only if its date lies within this many days of the story's first and last dates
#: (stories are events, bounded in time; an undated article or story is not held to it).
STORY_DAYS = 7


def _day(d: str | None) -> int | None:
    from datetime import date

    if not d or len(d) < 10:
        return None
    try:
        return date.fromisoformat(d[:10]).toordinal()
    except ValueError:
        return None


def group_fit(x: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, float]:
    """A group's sum vector and its fit floor: the lower of its members' lowest leave-one-out mean cosine similarity
    to the other members and their mean less ``FIT_SIGMAS`` standard deviations (``MIN_FLOOR`` at least; a
    one-article group: 1.0, only a copy fits it)."""
    v = np.asarray(x[np.sort(rows)], dtype=np.float64)
    s = v.sum(axis=0)
    n = len(rows)
    if n < 2:
        return s, 1.0  # a single article: only a near copy joins it
    loo = (v @ s - np.einsum("ij,ij->i", v, v)) / (n - 1)
    return s, max(MIN_FLOOR, min(float(loo.min()), float(loo.mean() - FIT_SIGMAS * loo.std())))


def place_articles(new_x: np.ndarray, new_dates: list[str | None], clusters: dict, x: np.ndarray,
                   row_of: dict[str, int], dates: dict[str, str | None],
                   story_threshold: float | None = None) -> list[tuple[str, str | None] | None]:
    """For each new article: ``(theme_id, story_id)`` it joins, ``(theme_id, None)`` (the theme, as a new story of its
    own), or ``None`` (it fits no theme: it goes to the pool the new themes are formed from).

    The rule is the cluster stage's polish step (an article belongs to the group it is most similar to on average,
    and is left out when that mean similarity is too low), with "too low" taken from the group itself: below the
    spread of its members' own mean similarities (:func:`group_fit`). Within the theme, the story is chosen the same
    way, with the cut of the story tree (``story_threshold``, a mean cosine similarity, from the clusters' params) as
    the floor when it is known, and time bounds it: the new article's date within ``STORY_DAYS`` of the story's
    dates. Cost: one pass over the members' vectors of the themes that receive articles.
    """
    new_x = np.asarray(new_x, dtype=np.float64)
    themes = clusters.get("themes", [])
    if not themes or not len(new_x):
        return [None] * len(new_x)
    t_sums, t_floor, t_size = [], [], []
    for t in themes:
        rows = np.asarray([row_of[m] for m in _members(t)], dtype=np.int64)
        s, f = group_fit(x, rows)
        t_sums.append(s)
        t_floor.append(f)
        t_size.append(len(rows))
    mean = (new_x @ np.asarray(t_sums).T) / np.asarray(t_size, dtype=np.float64)
    best = np.argmax(mean, axis=1)
    out: list = []
    story_cache: dict[int, list] = {}
    for i, b in enumerate(best):
        if mean[i, b] < t_floor[b] - 1e-9:
            out.append(None)
            continue
        t = themes[b]
        if b not in story_cache:
            st = []
            for s_ in t.get("stories", []):
                ids = _members(s_)
                rows = np.asarray([row_of[m] for m in ids], dtype=np.int64)
                ssum, sf = group_fit(x, rows)
                if story_threshold is not None:
                    sf = float(story_threshold)
                days = [d for d in (_day(dates.get(m)) for m in ids) if d is not None]
                st.append((s_["id"], ssum, sf, len(ids), (min(days), max(days)) if days else None))
            story_cache[b] = st
        day = _day(new_dates[i])
        choice, top = None, -np.inf
        for sid, ssum, sf, n, span in story_cache[b]:
            m = float(new_x[i] @ ssum) / n
            if m < sf - 1e-9 or m <= top:
                continue
            if day is not None and span is not None and not (span[0] - STORY_DAYS <= day <= span[1] + STORY_DAYS):
                continue
            choice, top = sid, m
        out.append((t["id"], choice))
    return out


def new_id(prefix: str, first_member: str, taken: set[str], current: str | None = None) -> str:
    """An id for a group formed by an update: ``current`` (what the cluster stage named it) unless taken, else
    derived from its oldest member as the cluster stage does, with ``-2``, ``-3``... until unused."""
    import hashlib

    if current and current not in taken:
        return current
    base = f"{prefix}{hashlib.sha1(first_member.encode('utf-8')).hexdigest()[:10]}"
    gid, k = base, 2
    while gid in taken:
        gid, k = f"{base}-{k}", k + 1
    return gid
