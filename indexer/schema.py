"""The whoosh schema and the mapping from :class:`kb.dto.EntryView` to a document.

Analysis happens in :mod:`indexer.analysis`, outside whoosh: fields receive
ready token lists (``TokenListField``), which is several times faster than a
whoosh analyzer chain and keeps the pickled schema free of jieba objects.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

from whoosh import fields, formats
from whoosh.system import pack_uint

from indexer import analysis
from kb.dto import EntryView

#: Bump when the schema or the analysis changes; an index of another version is rebuilt.
SCHEMA_VERSION = 3

#: Title tokens are counted this many times in the combined field (title weighs more).
TITLE_REPEAT = 4

#: Character bigrams of the answer text too (finds unknown words anywhere, but doubles build time).
BODY_BIGRAMS = False


class TokenListField(fields.FieldType):  # type: ignore[misc]
    """A scorable field indexed from a list of already analysed tokens (frequencies only)."""

    def __init__(self) -> None:
        self.format = formats.Frequency()
        self.analyzer = None
        self.scorable = True
        self.stored = False
        self.unique = False
        self.vector = None
        self.column_type = None

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        for word, freq in Counter(value).items():
            yield word.encode("utf-8"), freq, float(freq), pack_uint(freq)

    def process_text(self, qstring: str, mode: str = "", **kwargs: Any) -> Iterator[str]:
        return iter(qstring.split())

    def self_parsing(self) -> bool:
        return False


def build_schema() -> fields.Schema:
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        external_id=fields.ID(stored=True),
        # The one scored field: title, aliases and keywords (repeated, so they weigh more,
        # with bigrams and single characters), category, department, answer (words only).
        # One field instead of several keeps queries and the build several times faster.
        text=TokenListField(),
        # Pinyin keys (full and initials) of title/alias/keyword words.
        py=TokenListField(),
        status=fields.ID(stored=True),
        # Validity bounds as ISO dates (ID terms sort like dates): small lexicons, exact ranges.
        vf=fields.ID(),
        vt=fields.ID(),
        title_s=fields.STORED,
        answer_z=fields.STORED,
        category=fields.STORED,
        department_id=fields.STORED,
        valid_to=fields.STORED,
    )


def document(entry: EntryView) -> dict[str, Any]:
    """The whoosh document of an entry (all analysis done here)."""
    short = [entry.title, *entry.aliases, *entry.keywords]
    head = analysis.index_tokens("\n".join(short))
    chars = analysis.cjk_chars("\n".join(short))
    body = analysis.index_tokens(
        "\n".join((entry.category.replace("/", " "), entry.department_name, entry.answer)),
        grams=BODY_BIGRAMS,
    )
    doc: dict[str, Any] = {
        "id": str(entry.id),
        "external_id": entry.external_id,
        "text": head * TITLE_REPEAT + chars + body,
        "py": analysis.pinyin_tokens(short),
        "status": entry.status,
        "title_s": entry.title,
        "answer_z": zlib.compress(entry.answer.encode("utf-8")),
        "category": entry.category,
        "department_id": entry.department_id,
        "valid_to": entry.valid_to.toordinal() if entry.valid_to else None,
    }
    if entry.valid_from is not None:
        doc["vf"] = entry.valid_from.isoformat()
    if entry.valid_to is not None:
        doc["vt"] = entry.valid_to.isoformat()
    return doc


def stored_answer(fields_: dict[str, Any]) -> str:
    blob = fields_.get("answer_z")
    return zlib.decompress(blob).decode("utf-8") if blob else ""


def stored_valid_to(fields_: dict[str, Any]) -> date | None:
    value = fields_.get("valid_to")
    return date.fromordinal(value) if value else None
