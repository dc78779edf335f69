"""The two solvers of the selection: the exact concept-coverage ILP (HiGHS through ``highspy``, pinned) and the
greedy cost-benefit fallback. Both take the same arrays and honour the same constraints, units included."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Mapping
from contextlib import contextmanager

import numpy as np


def _chain_len(d: int, needs: Mapping[int, int], lengths) -> float:
    total = float(lengths[d])
    while d in needs:
        d = needs[d]
        total += float(lengths[d])
    return total


_STDOUT_LOCK = threading.Lock()


@contextmanager
def _quiet_c_stdout():
    """Silence file descriptor 1: HiGHS prints its banner there (C level) on the first ``Highs()`` of a process."""
    with _STDOUT_LOCK:
        try:
            sys.stdout.flush()
            saved = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
        except Exception:  # pragma: no cover - no usable fd 1
            yield
            return
        try:
            os.dup2(devnull, 1)
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)


_LOCAL = threading.local()


def _highs():
    """This thread's HiGHS instance, made once (banner muted) with the options every solve shares."""
    h = getattr(_LOCAL, "highs", None)
    if h is None:
        import highspy

        with _quiet_c_stdout():
            h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("presolve", "on")
        _LOCAL.highs = h
    return h


def _solve_ilp(lengths, rel, occ, c_weight, pairs, budget_words, budget_sents, fits, time_limit, mip_gap, needs=None,
               tails=None):
    """Concept-coverage ILP solved by HiGHS. Returns (chosen positions, objective, proven optimal) or None.

    ``needs`` maps a sentence to the one it cannot be chosen without (``s_d <= s_a``); ``tails`` maps a sentence
    citable only as an antecedent to the sentence after it (``s_a <= s_d``).
    """
    import highspy
    from scipy.sparse import coo_matrix

    ns, nc = len(lengths), len(c_weight)
    # variables: s_0..s_{ns-1}, c_0..c_{nc-1}; HiGHS minimises
    # tiny tie-break towards earlier candidates (sorted by article_id, position) keeps the result deterministic
    tie = 1e-6 * (1.0 - np.arange(ns) / max(ns, 1))
    cost = -np.concatenate([rel + tie, c_weight])
    rows, cols, vals, hi = [], [], [], []
    r = 0
    if budget_words is not None:
        for j in range(ns):
            rows.append(r), cols.append(j), vals.append(lengths[j])
        hi.append(budget_words)
        r += 1
    if budget_sents is not None:
        for j in range(ns):
            rows.append(r), cols.append(j), vals.append(1.0)
        hi.append(float(budget_sents))
        r += 1
    # c_t <= sum of s_j over sentences holding t
    holders: list[list[int]] = [[] for _ in range(nc)]
    for j, o in enumerate(occ):
        for t in o:
            holders[t].append(j)
    for t in range(nc):
        rows.append(r), cols.append(ns + t), vals.append(1.0)
        for j in holders[t]:
            rows.append(r), cols.append(j), vals.append(-1.0)
        hi.append(0.0)
        r += 1
    for a, b in pairs:
        rows.append(r), cols.append(a), vals.append(1.0)
        rows.append(r), cols.append(b), vals.append(1.0)
        hi.append(1.0)
        r += 1
    for d, a in [*sorted((needs or {}).items()), *sorted((tails or {}).items())]:
        rows.append(r), cols.append(d), vals.append(1.0)
        rows.append(r), cols.append(a), vals.append(-1.0)
        hi.append(0.0)
        r += 1
    lp = highspy.HighsLp()
    lp.num_col_ = ns + nc
    lp.num_row_ = r
    lp.col_cost_ = cost
    lp.col_lower_ = np.zeros(ns + nc)
    lp.col_upper_ = np.concatenate([fits.astype(np.float64), np.ones(nc)])
    lp.row_lower_ = np.full(r, -highspy.kHighsInf)
    lp.row_upper_ = np.array(hi, dtype=np.float64)
    # the matrix column-wise (CSC, duplicates summed, rows sorted in each column), as scipy's milp handed it over
    a_mat = coo_matrix((vals, (rows, cols)), shape=(r, ns + nc)).tocsc()
    a_mat.sum_duplicates()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = ns + nc
    lp.a_matrix_.num_row_ = r
    lp.a_matrix_.start_ = a_mat.indptr
    lp.a_matrix_.index_ = a_mat.indices
    lp.a_matrix_.value_ = a_mat.data.astype(np.float64)
    # c_t is integral at an optimum given s
    lp.integrality_ = [highspy.HighsVarType.kInteger] * ns + [highspy.HighsVarType.kContinuous] * nc
    h = _highs()
    try:
        h.clearModel()
        h.setOptionValue("time_limit", float(time_limit))
        h.setOptionValue("mip_rel_gap", float(mip_gap))
        h.passModel(lp)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        ms = highspy.HighsModelStatus
        feasible = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        if status not in (ms.kOptimal, ms.kTimeLimit) or not feasible:
            return None
        x = np.asarray(h.getSolution().col_value)
        obj = float(-info.objective_function_value)
    except Exception:  # pragma: no cover - solver failure falls back to greedy
        return None
    chosen = [j for j in range(ns) if x[j] > 0.5]
    if not chosen:
        return None
    return chosen, obj, status == ms.kOptimal


def _solve_greedy(lengths, rel, occ, c_weight, pairs, budget_words, budget_sents, fits, needs=None, tails=None):
    """Greedy cost-benefit selection (gain per word) with the same constraints; best single sentence if better.

    A sentence that needs an antecedent (``needs``) is an option together with its not yet chosen antecedents; a
    sentence citable only as an antecedent (``tails``) is never an option of its own.
    """
    needs = needs or {}
    tails = tails or {}
    ns = len(lengths)
    conflict: list[set[int]] = [set() for _ in range(ns)]
    for a, b in pairs:
        conflict[a].add(b)
        conflict[b].add(a)
    chains = []
    for j in range(ns):
        c = [j]
        while c[-1] in needs:
            c.append(needs[c[-1]])
        chains.append(c)
    covered = np.zeros(len(c_weight), dtype=bool)
    chosen: list[int] = []
    is_chosen = np.zeros(ns, dtype=bool)
    banned = np.zeros(ns, dtype=bool)
    banned[~fits] = True
    used_words = 0.0
    total = 0.0
    while True:
        best, best_score, best_gain, best_add = -1, -np.inf, 0.0, []
        for j in range(ns):
            if banned[j] or is_chosen[j] or j in tails:
                continue
            add = [t for t in chains[j] if not is_chosen[t]]
            if any(banned[t] for t in add) or any(t in conflict[u] for t in add for u in add if u < t):
                continue
            if budget_sents is not None and len(chosen) + len(add) > budget_sents:
                continue
            words = float(sum(lengths[t] for t in add))
            if budget_words is not None and used_words + words > budget_words:
                continue
            new = {c for t in add for c in occ[t] if not covered[c]}
            gain = float(sum(rel[t] for t in add)) + (float(c_weight[sorted(new)].sum()) if new else 0.0)
            score = gain / words if budget_words is not None else gain
            if score > best_score + 1e-12:
                best, best_score, best_gain, best_add = j, score, gain, add
        if best < 0 or best_gain <= 0:
            break
        for t in best_add:
            chosen.append(t)
            is_chosen[t] = True
            used_words += lengths[t]
            for u in conflict[t]:
                banned[u] = True
            for c in occ[t]:
                covered[c] = True
        total += best_gain
    single = np.array([(c_weight[o].sum() if o else 0.0) + rel[j] for j, o in enumerate(occ)])
    single[~fits] = -np.inf
    if needs or tails:
        single[list(needs) + list(tails)] = -np.inf
    j1 = int(np.argmax(single))
    if np.isfinite(single[j1]) and (not chosen or single[j1] > total):
        return [j1], float(single[j1])
    return sorted(chosen), total
