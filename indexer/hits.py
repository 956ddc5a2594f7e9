"""Plain results handed to the engine, the CLI and the GUI (never whoosh objects)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

#: Marks around matched words in :attr:`SearchHit.snippet`; the GUI renders them bold.
HIGHLIGHT_OPEN = "【"
HIGHLIGHT_CLOSE = "】"


@dataclass(frozen=True)
class SearchHit:
    """One search result.

    ``snippet`` is plain text cut from the answer (or the title when the
    answer has no match), with every matched word wrapped in 【 and 】.
    ``matched`` lists the matched words, most informative first, for the
    "why" shown to agents.
    """

    id: int
    external_id: str
    title: str
    score: float
    snippet: str
    status: str
    category: str
    department_id: int | None
    valid_to: date | None
    matched: tuple[str, ...]


@dataclass(frozen=True)
class IndexStatus:
    path: Path
    revision: int
    entries: int
    size_bytes: int
    built_at: datetime | None
