"""The run folder: the name of every artifact, atomic writes, reading artifacts back, the manifest.

Only this module and the stage runners (``pipeline.runner``) touch disk. Every write goes to a temporary file in
the same folder and is moved into place with ``os.replace``, so a stopped run never leaves a half-written artifact.
JSON is written with sorted keys and a trailing newline, so two runs with the same input give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import PipelineError


class ArtifactError(PipelineError):
    """An artifact is missing or unreadable (usually: an earlier stage has not run)."""


# Every artifact of a run folder, by name. Stages name their inputs and outputs with these.
ARTICLES = "articles.jsonl"
INGEST_REPORT = "ingest_report.json"
SENTENCE_VECTORS = "embeddings/sentences.npy"
ARTICLE_VECTORS = "embeddings/articles.npy"
EMBED_INDEX = "embeddings/index.json"
SENTENCE_ROWS = "embeddings/sentence_rows.npy"
CLUSTERS = "clusters.json"
SUMMARIES = "summaries.json"
REPORT = "report.html"
EVALUATION = "evaluation.json"
MANIFEST = "manifest.json"
CHANGES = "changes.json"
HISTORY = "history.jsonl"
MINHASH_INDEX = "index/minhash.npy"
CONTENT_INDEX = "index/content.npy"
#: What ``pipeline.cluster.place`` needs to put an update's articles into the themes (neighbour lists, entities...).
CLUSTER_STATE = "index/cluster_state.npz"
#: Staging folders of transactions (see :meth:`RunFolder.transaction`) and the file that commits one.
TXN_PREFIX = ".txn-"
TXN_COMMIT = "COMMIT"

#: Which earlier stage makes each artifact (for the "run `pipeline X` first" hint).
PRODUCED_BY = {
    ARTICLES: "ingest",
    INGEST_REPORT: "ingest",
    MINHASH_INDEX: "ingest",
    CONTENT_INDEX: "ingest",
    SENTENCE_VECTORS: "embed",
    ARTICLE_VECTORS: "embed",
    EMBED_INDEX: "embed",
    SENTENCE_ROWS: "embed",
    CLUSTERS: "cluster",
    CLUSTER_STATE: "cluster",
    SUMMARIES: "summarize",
    REPORT: "report",
}


def dumps(obj: Any, *, indent: int | None = 1) -> str:
    """Deterministic JSON: sorted keys, UTF-8 text kept as is, trailing newline."""
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=indent) + "\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: Mode of every artifact: what ``open()`` would give (0666 less the umask), not mkstemp's private 0600, so a
#: report can be served or shared as it is.
FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class RunFolder:
    """A run folder and its artifacts.

    Parameters
    ----------
    root : path
        The folder (created on first write).
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.recover()

    # --- transactions ---------------------------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Finish or undo what an interrupted transaction left: a committed one is moved into place (roll forward),
        an uncommitted one is deleted (the folder stays as it was). Returns what was done, one line per folder."""
        done = []
        if not self.root.is_dir():
            return done
        for stage in sorted(self.root.glob(TXN_PREFIX + "*")):
            if not stage.is_dir():
                continue
            commit = stage / TXN_COMMIT
            if commit.exists():
                try:
                    names = json.loads(commit.read_text(encoding="utf-8"))["files"]
                except (OSError, ValueError, KeyError):
                    names = None
                if names is not None:
                    self._move_in(stage, names)
                    done.append(f"completed an interrupted update ({len(names)} files)")
            else:
                done.append("discarded an unfinished update")
            shutil.rmtree(stage, ignore_errors=True)
        return done

    def _move_in(self, stage: Path, names: list[str]) -> None:
        for name in names:
            src = stage / name
            if src.exists():  # already moved when a previous recovery was itself interrupted
                dst = self.path(name)
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)

    @contextmanager
    def transaction(self):
        """Write several artifacts all or nothing.

        Yields a :class:`RunFolder` on a staging folder inside this one; its artifacts are read through to this
        folder until written. On a clean exit the list of staged files is written (the commit point) and each file is
        moved into place with ``os.replace``; if the process stops before the commit point, the next use of this
        folder deletes the staging folder, and after it, finishes the moves.
        """
        stage = self.root / f"{TXN_PREFIX}{uuid.uuid4().hex[:12]}"
        stage.mkdir(parents=True)
        tx = _Staged(stage, self)
        try:
            yield tx
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        names = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()
                       and not p.name.startswith("."))
        atomic_write_bytes(stage / TXN_COMMIT, dumps({"files": names}).encode("utf-8"))
        self._move_in(stage, names)
        shutil.rmtree(stage, ignore_errors=True)

    def path(self, name: str) -> Path:
        return self.root / name

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def require(self, name: str) -> Path:
        p = self.path(name)
        if not p.exists():
            stage = PRODUCED_BY.get(name)
            hint = f"; run `pipeline {stage} --out {self.root}` first" if stage else ""
            raise ArtifactError(f"{p} not found{hint}")
        return p

    # --- JSON -----------------------------------------------------------------------------------------------
    def target(self, name: str) -> Path:
        """Where an artifact is written (its path, or the staging copy inside a transaction)."""
        return self.path(name)

    def write_json(self, name: str, obj: Any, *, indent: int | None = 1) -> Path:
        p = self.target(name)
        atomic_write_bytes(p, dumps(obj, indent=indent).encode("utf-8"))
        return p

    def read_json(self, name: str) -> Any:
        p = self.require(name)
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"{p} is not valid JSON ({exc}); re-run the stage that writes it") from None

    # --- JSON lines ---------------------------------------------------------------------------------------------
    def write_jsonl(self, name: str, rows: Iterable[dict]) -> Path:
        p = self.target(name)
        data = "".join(json.dumps(r, sort_keys=True, ensure_ascii=False) + "\n" for r in rows)
        atomic_write_bytes(p, data.encode("utf-8"))
        return p

    def iter_jsonl(self, name: str) -> Iterator[dict]:
        p = self.require(name)
        with open(p, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        raise ArtifactError(f"{p} line {lineno} is not valid JSON; re-run the stage") from None

    def read_jsonl(self, name: str) -> list[dict]:
        return list(self.iter_jsonl(name))

    # --- arrays -------------------------------------------------------------------------------------------------
    def write_npy(self, name: str, array: np.ndarray) -> Path:
        p = self.target(name)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".npy", dir=p.parent)
        os.fchmod(fd, FILE_MODE)
        os.close(fd)
        try:
            np.save(tmp, np.ascontiguousarray(array), allow_pickle=False)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return p

    def read_npy(self, name: str, *, mmap: bool = True) -> np.ndarray:
        p = self.require(name)
        try:
            return np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise ArtifactError(f"{p} is not a readable .npy array ({exc}); re-run `pipeline embed`") from None

    def write_text(self, name: str, text: str) -> Path:
        p = self.target(name)
        atomic_write_bytes(p, text.encode("utf-8"))
        return p

    # --- manifest -----------------------------------------------------------------------------------------------
    def read_manifest(self) -> dict:
        if not self.exists(MANIFEST):
            return {}
        try:
            return json.loads(self.path(MANIFEST).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError, OSError):
            return {}

    def update_manifest(self, stage: str, record: dict, **top: Any) -> dict:
        """Record one stage's run (config it read, inputs, outputs, seconds) and top-level facts."""
        manifest = self.read_manifest()
        manifest.setdefault("stages", {})[stage] = record
        manifest.update(top)
        self.write_json(MANIFEST, manifest)
        return manifest


class _Staged(RunFolder):
    """A transaction's staging folder: writes land here; reads fall through to the run folder until written."""

    def __init__(self, root: Path, base: RunFolder):
        self.root = Path(root)
        self.base = base

    def recover(self) -> list[str]:  # a staging folder holds no transactions of its own
        return []

    def path(self, name: str) -> Path:
        staged = self.root / name
        return staged if staged.exists() else self.base.path(name)

    def target(self, name: str) -> Path:
        return self.root / name
