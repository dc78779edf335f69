"""Stable ids: derived from a group's oldest member, or carried over from an earlier result by member overlap."""

from __future__ import annotations

import hashlib

def _digest(s: str, n: int = 10) -> str:
    return hashlib.sha1(s.encode("utf-8")).hexdigest()[:n]


def _match_previous(new: list[set[str]], old: list[tuple[str, set[str]]]) -> dict[int, str]:
    """Greedy one-to-one matching of new groups to earlier ones by Jaccard overlap (>= 1/3), best pairs first."""
    pairs = []
    for i, a in enumerate(new):
        for oid, b in old:
            inter = len(a & b)
            if inter:
                jac = inter / len(a | b)
                if jac >= 1 / 3:
                    pairs.append((-jac, -inter, i, oid))
    pairs.sort()
    got: dict[int, str] = {}
    used: set[str] = set()
    for _j, _k, i, oid in pairs:
        if i not in got and oid not in used:
            got[i] = oid
            used.add(oid)
    return got


def _assign_ids(groups: list[list[str]], prefix: str, old: list[tuple[str, set[str]]], taken: set[str]) -> list[str]:
    """Ids for groups (member ids in input order): an earlier group's id when one matches, else derived from the
    group's oldest member (first in input order), so adding a few articles does not renumber anything."""
    matched = _match_previous([set(g) for g in groups], old) if old else {}
    reserved = taken | set(matched.values())
    out = []
    for i, g in enumerate(groups):
        if i in matched:
            out.append(matched[i])
            continue
        gid, k = f"{prefix}{_digest(g[0])}", 2
        while gid in reserved:
            gid, k = f"{prefix}{_digest(g[0])}-{k}", k + 1
        reserved.add(gid)
        out.append(gid)
    return out
