"""The Ray engine: the same stages, the heavy parts on a Ray cluster (``engine: ray``; the ``ray`` extra).

- **Embed** (an actor pool): the driver dedupes the sentences and titles and looks them up in the vector cache
  exactly as the local engine does (``Embedder.encode``); only the misses go to Ray, in blocks of at most
  ``ray.block_rows`` texts (at least 8 blocks per actor), each block to the next free actor of a pool that loads
  the model once per actor (from the same offline path / ONNX export as the local engine), runs one thread and
  lives until that model's ``encode`` returns (the actors then free their CPUs for the next stages' tasks). The
  vectors come back to the driver in block order, are normalised and written to the same cache, so a later run
  on either engine reuses them. With the default int8 backend (one text per run), the static model and the
  hashing model a vector depends on its text alone, so both engines write the same bytes; the fp32 backends batch
  texts, and a batch's padding can move the last bits.
- **Cluster**: the micro-clustering's Lloyd passes are maps over fixed blocks of articles (assign to the nearest
  centre, sum per centre) run as Ray tasks; the driver adds the block sums in block order (the local engine runs the
  same blocks in a loop, so the sums agree to the bit) and builds the tree over the micro-cluster sums. Each
  theme's stories are a Ray task.
- **Summarize**: the groups are split into contiguous chunks, one Ray task each; the shared context (articles,
  sentence vectors) is put in the object store once.

Actors and tasks are retried by Ray: an embedding actor that dies is restarted (``max_restarts=-1``) and its
batches are re-run (``max_task_retries=-1``); tasks retry three times.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence

import numpy as np

from pipeline.engines import EngineError


class _EmbedActor:
    """One model per actor process; ``embed`` embeds a block of texts, ``batch_size`` texts per model call (no
    cache: the driver owns it).

    The config travels as a class attribute of a subclass made per model config (:func:`_actor_class`), not as a
    constructor argument, so restarting a killed actor never depends on an object in the store."""

    CFG: dict = {}

    def __init__(self):
        from pipeline.config import Config
        from pipeline.runner import make_embedder

        cfg = Config.model_validate(self.CFG)
        self.embedder = make_embedder(cfg)
        self.pid = os.getpid()

    def embed(self, batch: dict) -> dict:
        return self(batch)

    def __call__(self, batch: dict) -> dict:
        texts = [str(t) for t in batch["text"]]
        step = max(1, int(batch.get("batch_size") or len(texts) or 1))
        parts = [self.embedder._compute(texts[a : a + step], lambda _n: None) for a in range(0, len(texts), step)]
        vecs = np.concatenate([v for v, _t in parts]) if parts else np.zeros((0, self.embedder.dim), np.float32)
        n_tokens = sum(t for _v, t in parts)
        n = len(texts)
        tokens = np.zeros(n, dtype=np.int64)
        if n:
            tokens[0] = int(n_tokens)
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux: the actor's peak memory so far
        return {"i": np.asarray(batch["i"], dtype=np.int64), "vec": np.asarray(vecs, dtype=np.float32),
                "tokens": tokens, "pid": np.full(n, self.pid, dtype=np.int64), "rss_kb": np.full(n, rss, np.int64)}


def _actor_class(cfg_json: dict) -> type:
    return type("EmbedActor", (_EmbedActor,), {"CFG": cfg_json})


class _RayMapper:
    """``mapper(fn, items, *shared)`` as Ray tasks, the results yielded in item order. Large arrays among the items
    are put in the object store once per mapper (the micro-clustering passes reuse the same blocks), shared
    arguments once per call."""

    def __init__(self):
        self._refs: dict[int, tuple] = {}
        self._remote: dict = {}

    def _ref(self, obj):
        import ray

        if isinstance(obj, np.ndarray) and obj.nbytes >= 1 << 16:
            hit = self._refs.get(id(obj))
            if hit is None or hit[0] is not obj:
                hit = self._refs[id(obj)] = (obj, ray.put(obj))
            return hit[1]
        return obj

    def __call__(self, fn: Callable, items: Sequence, *shared):
        """Submits every item at once, then yields the results in item order, one at a time (the driver never
        holds all the micro-clustering blocks' partial sums together)."""
        import ray

        if not items:
            return iter(())
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = ray.remote(num_cpus=1, max_retries=3)(fn)
        shared_refs = [ray.put(s) for s in shared]
        refs = [remote.remote(self._ref(item), *shared_refs) for item in items]

        def results():
            for k in range(len(refs)):
                ref, refs[k] = refs[k], None
                yield ray.get(ref)

        return results()


def _solve_chunk(tasks: list, ctx: dict) -> list:
    from pipeline.runner import _group_summary

    return [_group_summary(t, ctx) for t in tasks]


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on a ``host:port`` (or ``ray://host:port``) nobody listens on: ``ray.init`` would retry for
    minutes. ``auto`` and other forms are left to Ray."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise EngineError(f"cannot reach the Ray cluster at ray.address={address!r}: "
                          f"{exc.strerror or exc.__class__.__name__}") from None


class RayEngine:
    """Connects to ``ray.address`` (or starts a local Ray with ``ray.num_cpus`` CPUs) on first use."""

    name = "ray"

    def __init__(self, rcfg):
        import ray

        self.cfg = rcfg
        self.on_batch: Callable[[dict], None] | None = None  # called with each embedded batch (tests, progress)
        self.stats: dict = {}
        self._pools: dict[str, list] = {}  # model config -> its embedding actors (see _pool)
        if not ray.is_initialized():
            kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
            try:
                if rcfg.address:
                    _check_reachable(rcfg.address)
                    ray.init(address=rcfg.address, **kwargs)
                else:
                    ray.init(num_cpus=rcfg.num_cpus, **kwargs)
            except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
                where = f"reach the Ray cluster at ray.address={rcfg.address!r}" if rcfg.address else \
                    "start a local Ray"
                raise EngineError(f"cannot {where}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc}"
                                  ) from None

    @staticmethod
    def alive() -> bool:
        import ray

        return ray.is_initialized()

    def cpus(self) -> int:
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    # -- embed -------------------------------------------------------------------------------------------------
    def embedder(self, cfg, progress: bool = False, base=None):
        """The local engine's embedder (model id, cache, normalisation) with its computation sent to Ray actors.

        ``base``: the driver-side embedder to wrap (default ``make_embedder(cfg)``); the actors build theirs from
        ``cfg``, so both must compute the same vectors."""
        from pipeline.embed.tiers import EmbedderPair
        from pipeline.runner import make_embedder, tier_configs

        # on the driver: the model id, the cache, the ONNX export made once before the actors load it
        emb = base if base is not None else make_embedder(cfg, progress=progress)
        if isinstance(emb, EmbedderPair):  # each tier on the actors, each from its own one-tier config
            art, sent = tier_configs(cfg)
            emb.articles = self.embedder(art, progress, base=emb.articles)
            emb.sentences = self.embedder(sent, progress, base=emb.sentences)
            return emb
        actor_cfg = cfg.model_copy(deep=True)
        actor_cfg.embed.threads = 1
        cfg_json = actor_cfg.model_dump(mode="json")
        dim = emb.dim

        key = json.dumps(cfg_json, sort_keys=True)  # one pool of actors per model config

        def compute(texts: list[str], tick) -> tuple[np.ndarray, int]:
            return self._embed(texts, key, cfg_json, dim, tick)

        emb._compute = compute  # instance attribute: encode() calls it for the cache misses only
        encode = emb.encode

        def encode_then_release(*args, **kwargs):  # the actors hold CPUs the next stages' tasks need
            try:
                return encode(*args, **kwargs)
            finally:
                self._release(key)

        emb.encode = encode_then_release
        self.stats = {}
        return emb

    def _pool(self, key: str, cfg_json: dict) -> list:
        """The embedding actors of one model config, started on first use and kept until its ``encode`` returns:
        ``encode`` sends its misses in chunks (one per cache flush), and a new pool per chunk cost ~2.5 s each
        (process start, model load), more than the static tier's whole work on news2017."""
        import ray

        if key not in self._pools:
            n = max(1, int(self.cfg.actors or self.cpus()))
            cls = ray.remote(num_cpus=1, max_restarts=-1, max_task_retries=-1)(_actor_class(cfg_json))
            self._pools[key] = [cls.remote() for _ in range(n)]
        return self._pools[key]

    def _release(self, key: str) -> None:
        import ray

        for actor in self._pools.pop(key, []):
            ray.kill(actor)

    def _embed(self, texts: list[str], key: str, cfg_json: dict, dim: int, tick) -> tuple[np.ndarray, int]:
        from ray.util import ActorPool

        n = len(texts)
        if not n:
            return np.zeros((0, dim), np.float32), 0
        t0 = time.perf_counter()
        actors = self._pool(key, cfg_json)
        # at least 8 blocks per actor, so the actors finish together: a block of 1,024 160-token passages is ~16 s
        # of one core, and the last one ran alone (ray.block_rows caps the rows of a block)
        rows = max(1, min(int(self.cfg.block_rows), -(-n // (len(actors) * 8))))
        idx = np.arange(n, dtype=np.int64)
        blocks = [{"i": idx[a : a + rows], "text": texts[a : a + rows], "batch_size": int(self.cfg.batch_size)}
                  for a in range(0, n, rows)]
        out = np.zeros((n, dim), np.float32)
        seen = np.zeros(n, dtype=bool)
        n_tokens = 0
        pids: set[int] = set()
        rss_kb = 0
        # in block order, each block to the next free actor; a killed actor is restarted and its block re-run
        for b in ActorPool(actors).map(lambda actor, block: actor.embed.remote(block), blocks):
            rss_kb = max(rss_kb, int(b["rss_kb"].max()) if len(b["rss_kb"]) else 0)
            i = b["i"]
            out[i] = b["vec"]
            seen[i] = True
            n_tokens += int(b["tokens"].sum())
            pids.update(int(p) for p in np.unique(b["pid"]))
            tick(len(i))
            if self.on_batch is not None:
                self.on_batch(b)
        if not seen.all():
            raise EngineError(f"Ray returned {int(seen.sum())} of {n} sentence vectors; re-run the embed stage.")
        # summed over the calls of one embed stage (encode() sends the misses in chunks of VectorCache.SHARD_ROWS)
        st = self.stats
        self.stats = {"texts": st.get("texts", 0) + n, "tokens": st.get("tokens", 0) + n_tokens,
                      "blocks": st.get("blocks", 0) + len(blocks), "actors": max(len(actors), st.get("actors", 0)),
                      "actor_pids": sorted(pids | set(st.get("actor_pids", []))),
                      "actor_peak_rss_mb": max(round(rss_kb / 1024, 1), st.get("actor_peak_rss_mb", 0.0)),
                      "seconds": round(st.get("seconds", 0.0) + time.perf_counter() - t0, 3)}
        return out, n_tokens

    # -- cluster and summarize ---------------------------------------------------------------------------------
    @property
    def mapper(self) -> _RayMapper:
        """A fresh mapper per stage (its object-store references go with it)."""
        return _RayMapper()

    def solver(self, tasks: list, ctx: dict, workers: int) -> list:
        """Summaries of ``tasks`` (groups), in order, as Ray tasks over contiguous chunks of groups."""
        import ray

        if not tasks:
            return []
        ctx = dict(ctx)
        ctx["vecs"] = np.asarray(ctx["vecs"])
        ref = ray.put(ctx)
        n_chunks = min(len(tasks), 4 * self.cpus())
        bounds = np.linspace(0, len(tasks), n_chunks + 1).astype(int)
        remote = ray.remote(num_cpus=1, max_retries=3)(_solve_chunk)
        parts = ray.get([remote.remote(tasks[a:b], ref) for a, b in zip(bounds[:-1], bounds[1:]) if b > a])
        return [s for part in parts for s in part]


__all__ = ["RayEngine"]
