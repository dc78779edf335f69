"""News themes pipeline: articles -> themes -> cited extractive summaries.

Nothing runs on import. The stages are plain functions in their modules
(``pipeline.ingest``, ``pipeline.embed``, ``pipeline.cluster``, ``pipeline.summarize``,
``pipeline.report``, ``pipeline.evaluate``); ``pipeline.runner`` wires them to the run folder.
"""

__version__ = "0.1.0"


class PipelineError(Exception):
    """A user-facing error: bad input, bad config, missing artifact. The CLI prints it as one line."""


__all__ = ["PipelineError", "__version__"]
