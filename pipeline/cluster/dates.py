"""The date term of the theme similarity: the same words years apart are different news.

The theme similarity of two articles (:mod:`pipeline.cluster.core`) gets one more term when **both** are dated::

    sim(i, j) = (shared-neighbour + cosine similarity) - AT_HORIZON * ((t_i - t_j) / H) ** 2

with ``H = THEME_DATE_HORIZON_DAYS`` (365) and ``AT_HORIZON = 0.01``, and no term at all when either is undated
(*neutral*: ECB+, which has no dates, clusters exactly as before). In days apart -> similarity lost:
1 month 0.0001, 3 months 0.0006, 6 months 0.0025, 1 year 0.01, 2 years 0.04, 4 years 0.16, 5 years 0.25,
10 years 1 (the whole gap between identical and unrelated text), 20 years 4.

Why this form (reasoned before measuring; ``docs/notes/dates.md`` has the checks)
---------------------------------------------------------------------------------
- *Weeks and months: nothing.* A theme ("Iraq counter-ISIS", a climate conference, a Tour de France) runs for
  weeks to months; below the horizon of one year the term stays under ``AT_HORIZON`` = 0.01, the resolution of the
  theme cut itself (thresholds are 0.01 apart, :data:`pipeline.cluster.cuts.GRID_STEP`), so it cannot move a cut
  on its own.
- *A few years: a nudge.* News themes keep their follow-ups for years: the trial two years on, the inquiry, the
  anniversary (MultiLing's London-bombings topic runs 2005-2009, Abu Ghraib 2005-2007, the Beijing Olympics
  2006-2008). So the penalty must grow gently: the lowest even power, a square (a quartic, flat-then-steep, cut
  those follow-ups off: at a one-year horizon it drops MultiLing's theme ARI from 0.813 to 0.696).
- *Many years: decisive.* Two look-alike subjects five or more years apart (the 2004 tsunami's death toll and the
  2010 Haiti earthquake's) lose 0.25 and more, enough to keep apart what the text alone would merge; at a decade
  apart the date decides whatever the text says.

Why a polynomial. It is a sum of dot products of per-article features, like every other term of the similarity:
``-(a - b)^2 = -(a^2 + b^2) + 2ab``, so with ``s = (t - c) / L`` (``L = H / sqrt(AT_HORIZON)``, ``c`` the median
date, ``s`` clipped to +-``CLIP``) each article carries three numbers (:func:`date_parts`), and the *mean* penalty
between two groups is a dot product of their feature sums: ``(mean_A - mean_B)^2 + var_A + var_B`` over ``L^2``.
So the term enters, exactly and at O(3 n) cost, the group-average tree on leaf sums (micro-clusters too), the
silhouette that picks the cut, the polish, and an update's placement (:mod:`pipeline.cluster.place`, from the
members' saved days; the placement floors stay on cosine, see :func:`pipeline.cluster.place.member_similarity`). A hinge or a Gaussian of ``|dt|`` would need every pair.
"""

from __future__ import annotations

import numpy as np

#: The horizon ``H`` of the theme date term, in days: below it two dated articles lose less than ``AT_HORIZON``.
THEME_DATE_HORIZON_DAYS = 365.0
#: Similarity two dated articles lose at exactly ``H`` apart: the theme cut's own grid step (0.01).
AT_HORIZON = 0.01
#: Dates further than this many ``L = H / sqrt(AT_HORIZON)`` (10 years) from the median are clipped (penalty at
#: most ``(2 CLIP)^2``): a mistyped year costs no precision.
CLIP = 10.0


def scale_days(horizon: float) -> float:
    """``L``: the gap in days at which the penalty reaches 1."""
    return float(horizon) / np.sqrt(AT_HORIZON)


def pair_penalty(dt_days, horizon: float = THEME_DATE_HORIZON_DAYS) -> np.ndarray:
    """What two dated articles ``dt`` days apart lose: ``AT_HORIZON * (dt / H) ** 2``."""
    return AT_HORIZON * (np.asarray(dt_days, dtype=np.float64) / float(horizon)) ** 2


def date_parts(days: np.ndarray, horizon: float | None,
               center: float | None = None) -> list[tuple[np.ndarray, float]]:
    """The date term as ``[(features (n, 1) float64, weight), ...]``, so that ``sum(w * f_i * f_j)`` is
    ``-pair_penalty(t_i - t_j)`` for two dated articles and 0 when either is undated (NaN day). Empty when
    ``horizon`` is None/0 or nothing is dated.

    days : ndarray of shape (n,), days since 1970-01-01 (NaN = undated)
    center : days; defaults to the median dated day. Any centre gives the same pairwise values (up to rounding and
        the clip): it keeps the numbers small.
    """
    days = np.asarray(days, dtype=np.float64)
    dated = np.isfinite(days)
    if not horizon or not dated.any():
        return []
    c = float(np.median(days[dated])) if center is None else float(center)
    s = np.where(dated, np.clip((np.where(dated, days, c) - c) / scale_days(horizon), -CLIP, CLIP), 0.0)
    d = dated.astype(np.float64)
    s2 = s * s
    r = 1.0 / np.sqrt(2.0)
    # -(a - b)^2 = -(a^2 + b^2) + 2ab, with a^2 + b^2 = ((1 + a^2)(1 + b^2) - (1 - a^2)(1 - b^2)) / 2 for dated pairs
    return [(((d + s2) * r)[:, None], -1.0), (((d - s2) * r)[:, None], 1.0), (s[:, None], 2.0)]


def group_date_term(days_new: np.ndarray, days_members: np.ndarray, group: np.ndarray, n_groups: int,
                    horizon: float | None) -> np.ndarray:
    """(n_new, n_groups) *summed* date term of each new article against each group's members (divide by the group
    sizes for the mean; undated members add 0). ``group`` : ndarray of shape (n_members,), the group of each member
    (-1: none). Zeros when ``horizon`` is off."""
    days_new = np.asarray(days_new, dtype=np.float64)
    out = np.zeros((len(days_new), n_groups))
    if not horizon or not len(days_new):
        return out
    keep = np.asarray(group) >= 0
    members = np.asarray(days_members, dtype=np.float64)
    both = np.concatenate([members, days_new])
    center = float(np.median(both[np.isfinite(both)])) if np.isfinite(both).any() else None
    k = len(days_new)
    for f, w in date_parts(np.concatenate([days_new, members]), horizon, center):
        sums = np.bincount(np.asarray(group)[keep], weights=f[k:, 0][keep], minlength=n_groups)
        out += w * np.outer(f[:k, 0], sums)
    return out
