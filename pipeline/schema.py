"""The published JSON Schema of ``summaries.json`` and a validator (``jsonschema``), plus the citation check."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent / "summaries.schema.json"


@lru_cache(maxsize=1)
def summaries_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_summaries(doc: dict, articles: list[dict] | None = None) -> None:
    """Raise ``jsonschema.ValidationError`` if ``doc`` breaks the schema, or ``ValueError`` if a citation is wrong.

    With ``articles`` (the rows of articles.jsonl), every summary sentence's ``text`` must equal
    ``article.text[start:end]``.
    """
    import jsonschema

    jsonschema.validate(doc, summaries_schema(), cls=jsonschema.Draft202012Validator)
    if articles is None:
        return
    texts = {a["id"]: a["text"] for a in articles}
    for theme in doc["themes"]:
        for group in [theme, *theme.get("stories", [])]:
            for s in group["summary"]:
                if s["article_id"] not in texts:
                    raise ValueError(f"{group['id']}: cites unknown article {s['article_id']}")
                if texts[s["article_id"]][s["start"] : s["end"]] != s["text"]:
                    raise ValueError(f"{group['id']}: citation {s['article_id']}[{s['start']}:{s['end']}] != text")
                if s["article_id"] not in group["articles"]:
                    raise ValueError(f"{group['id']}: cites {s['article_id']}, which is not a member")
