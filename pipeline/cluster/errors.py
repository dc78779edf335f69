"""The cluster stage's exception and parameter checks."""

from __future__ import annotations

from pipeline import PipelineError


class ClusterError(PipelineError):
    """Invalid input or parameter for the cluster stage."""


def _check(name: str, value, ok: bool, rule: str) -> None:
    if not ok:
        raise ClusterError(f"{name}={value!r} should be {rule}.")
