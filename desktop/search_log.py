"""Which searches to record for the editors' knowledge-gap report (pure Python, no Qt).

The search box is debounced per keystroke, so every prefix of a query gets
results ("暖", "暖气", "暖气不热"). Only the *final* query of a search session
is recorded:

* when an answer is opened from the list (``picked``), or
* when the list is left without opening anything: the agent starts an
  unrelated query, clears the box, the call is saved or abandoned.

Typing on (or backspacing) within a query keeps the same session: the newer
query replaces the older one. For the call's suggestions the final description
of the call is recorded once, when the call ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SearchRecord:
    """One ``kb.feedback.log_search`` call."""

    mode: str  # "search" or "suggest"
    query: str
    hits: int
    picked_entry_id: int | None = None


def _related(a: str, b: str) -> bool:
    """The same session: one query is the other being typed on (or corrected at the end)."""
    return a.startswith(b) or b.startswith(a)


class SearchSession:
    """The search results currently on screen and not yet accounted for."""

    def __init__(self) -> None:
        self.query = ""
        self.hits = 0

    @property
    def open(self) -> bool:
        return bool(self.query)

    def shown(self, query: str, hits: int) -> list[SearchRecord]:
        """Results for ``query`` are on screen; returns the abandoned session to record, if any."""
        query = query.strip()
        out: list[SearchRecord] = []
        if self.query and not _related(self.query, query):
            out = self.flush()
        self.query, self.hits = query, hits
        return out

    def picked(self, query: str, hits: int, entry_id: int) -> list[SearchRecord]:
        """An answer was opened from the list showing ``query``'s results."""
        query = (query or self.query).strip()
        self.query, self.hits = "", 0
        return [SearchRecord("search", query, hits, entry_id)] if query else []

    def cleared(self) -> list[SearchRecord]:
        """The box was emptied (or the call ended): the last list was left unused."""
        return self.flush()

    def flush(self) -> list[SearchRecord]:
        if not self.query:
            return []
        record = SearchRecord("search", self.query, self.hits, None)
        self.query, self.hits = "", 0
        return [record]


class SuggestSession:
    """The call's suggestions: recorded once per call (picked, or at the end of the call)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.text = ""
        self.answers: dict[str, int] = {}  # external id → entry id of the suggested answers
        self.recorded = False

    def shown(self, text: str, answers: Mapping[str, int]) -> None:
        self.text, self.answers = text.strip(), dict(answers)

    def picked(self, text: str, entry_id: int) -> list[SearchRecord]:
        text = (text or self.text).strip()
        if not text:
            return []
        self.recorded = True
        return [SearchRecord("suggest", text, len(self.answers), entry_id)]

    def ended(self, used_external_id: str | None) -> list[SearchRecord]:
        """The call was saved or dropped; ``used_external_id`` is the answer the call used (from anywhere).

        An answer found through the search box that was also suggested still
        counts as the suggestion being right.
        """
        out: list[SearchRecord] = []
        if self.text and not self.recorded:
            picked = self.answers.get(used_external_id) if used_external_id else None
            out.append(SearchRecord("suggest", self.text, len(self.answers), picked))
        self.reset()
        return out
