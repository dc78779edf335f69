"""Engines: where the stages' heavy work runs. ``local`` (this process and its forks) or ``ray`` (a Ray cluster).

An engine is chosen by the ``engine`` config key (``--engine`` on the CLI) and gives the stage runners three hooks:

- ``embedder(cfg, progress)``: the object whose ``encode`` embeds the sentences (the vector cache is read and
  written on the driver in both engines, so a run on one engine reuses the vectors of a run on the other);
- ``mapper``: ``mapper(fn, items, *shared)`` -> ``fn(item, *shared)`` of each item, in order (an iterable), for
  the cluster stage's independent pieces (micro-clustering blocks, each theme's stories), or ``None`` for a loop;
- ``solver``: ``solver(tasks, ctx, workers) -> summaries`` for the summarize stage's groups, or ``None``.

The local engine never imports ray; :func:`get_engine` imports :mod:`pipeline.engines.ray` only for ``engine: ray``
and fails with one line when the ``ray`` extra is not installed.
"""

from __future__ import annotations

from pipeline import PipelineError

ENGINES = ("local", "ray")


class EngineError(PipelineError):
    """The chosen engine cannot run: its extra is not installed, or its cluster cannot be reached."""


class LocalEngine:
    """The stages in this process (summaries in forked processes): the reference every engine must match."""

    name = "local"
    mapper = None
    solver = None

    def embedder(self, cfg, progress: bool = False, base=None):
        from pipeline.runner import make_embedder

        return base if base is not None else make_embedder(cfg, progress=progress)


_ENGINES: dict = {}


def get_engine(cfg):
    """The engine that ``cfg.engine`` names (one per process and Ray address, started on first use)."""
    name = getattr(cfg, "engine", "local")
    if name == "local":
        return _ENGINES.setdefault("local", LocalEngine())
    if name != "ray":
        raise EngineError(f"engine={name!r} should be one of {', '.join(ENGINES)}.")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise EngineError("engine=ray needs Ray: install the extra with `pip install -e '.[ray]'` "
                          "(or use --engine local)") from None
    from pipeline.engines.ray import RayEngine

    key = ("ray", cfg.ray.address, cfg.ray.num_cpus, cfg.ray.actors, cfg.ray.batch_size, cfg.ray.block_rows)
    eng = _ENGINES.get(key)
    if eng is None or not eng.alive():
        eng = _ENGINES[key] = RayEngine(cfg.ray)
    return eng


__all__ = ["ENGINES", "EngineError", "LocalEngine", "get_engine"]
