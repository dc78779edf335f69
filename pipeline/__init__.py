"""News themes pipeline: articles -> themes -> cited extractive summaries.

    from pipeline import Pipeline
    result = Pipeline().run(df)        # a DataFrame (or list of dicts / strings, or input paths)
    result.to_pandas()                 # themes table; to_pandas("articles"), to_pandas("stories")

Nothing runs on import. The stages are plain functions in their modules
(``pipeline.ingest``, ``pipeline.embed``, ``pipeline.cluster``, ``pipeline.summarize``,
``pipeline.report``, ``pipeline.evaluate``); ``pipeline.runner`` wires them to the run folder.
"""

__version__ = "0.1.0"


class PipelineError(Exception):
    """A user-facing error: bad input, bad config, missing artifact. The CLI prints it as one line."""


def __getattr__(name: str):
    """``Pipeline`` and ``Result`` are imported on first use, so ``import pipeline`` stays light."""
    if name in ("Pipeline", "Result"):
        from pipeline import api

        return getattr(api, name)
    raise AttributeError(f"module 'pipeline' has no attribute {name!r}")


__all__ = ["Pipeline", "PipelineError", "Result", "__version__"]
