"""Per-item steps (of ingest, the cluster stage, summarize) on every core: an ordered map in forked worker processes.

The inputs are not pickled: the workers inherit them from the parent (``CTX``, filled for the duration of one map);
only each item's result travels back. The result is the list the plain loop gives, whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable

#: Below this many items the loop runs in this process: forking costs more than it saves.
MIN_ITEMS = 1000
#: What the mapped function reads (its inputs), inherited by the forked workers, never pickled.
CTX: dict = {}


def workers() -> int:
    """The cores this process may use (its CPU affinity where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def fork_map(fn: Callable[[int], object], n: int, ctx: dict, n_workers: int | None = None,
             min_items: int | None = None) -> list:
    """``[fn(i) for i in range(n)]`` with ``ctx`` in ``CTX``; in ``n_workers`` (default: the cores this process may
    use) forked processes when ``n >= min_items`` (default ``MIN_ITEMS``) and fork is available. ``fn`` is a
    module-level function."""
    k = workers() if n_workers is None else n_workers
    CTX.clear()
    CTX.update(ctx)
    try:
        if k <= 1 or n < (MIN_ITEMS if min_items is None else min_items) or "fork" not in mp.get_all_start_methods():
            return [fn(i) for i in range(n)]
        return pool_map(fn, range(n), k, chunksize=max(1, n // (k * 8)))
    finally:
        CTX.clear()


def pool_map(fn: Callable, items, k: int, chunksize: int) -> list:
    """``Pool.map`` in ``k`` forked processes that then exit on their own: a ``with Pool()`` block would end them
    with SIGTERM, and a forked child inherits the parent's signal handlers (Ray's print a stack trace on SIGTERM)."""
    pool = mp.get_context("fork").Pool(k)
    try:
        out = pool.map(fn, items, chunksize=chunksize)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
    return out
