"""The report stage: ``summaries.json`` -> one self-contained ``report.html``.

``build_report`` is the whole stage (a pure function of the run's artifacts); ``charts`` draws the inline SVG
(palette, map, timelines); ``assets/`` holds the page's CSS and script, inlined into every page.
"""

from pipeline.report.charts import palette, project_2d
from pipeline.report.page import DEFAULT_MAX_TEXT_CHARS, ReportError, build_report, fallback_title, stale_summaries

__all__ = ["DEFAULT_MAX_TEXT_CHARS", "ReportError", "build_report", "fallback_title", "palette", "project_2d",
           "stale_summaries"]
