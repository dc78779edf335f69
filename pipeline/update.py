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
#: The new articles of one update that fit a theme but none of its stories form new stories among themselves: one
#: joins another's new story if its mean cosine similarity to it reaches the run's story cut and its date lies within
#: this many days of the story's dates (stories are events, bounded in time; undated articles are not held to it).
STORY_DAYS = 7


def _day(d: str | None) -> int | None:
    from datetime import date

    if not d or len(d) < 10:
        return None
    try:
        return date.fromisoformat(d[:10]).toordinal()
    except ValueError:
        return None


def new_id(prefix: str, first_member: str, taken: set[str], current: str | None = None) -> str:
    """An id for a group formed by an update: ``current`` (what the cluster stage named it) unless taken, else
    derived from its oldest member as the cluster stage does, with ``-2``, ``-3``... until unused."""
    from pipeline.cluster.ids import _digest

    if current and current not in taken:
        return current
    base = f"{prefix}{_digest(first_member)}"
    gid, k = base, 2
    while gid in taken:
        gid, k = f"{base}-{k}", k + 1
    return gid
