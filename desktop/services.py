"""What the window needs from the rest of the program, built by :mod:`desktop.app` (or a test)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from desktop.tasks import TaskManager
from indexer.hits import IndexStatus, SearchHit
from kb.actor import Actor
from kb.alerts import Alert
from kb.dto import Changes
from kb.paths import AppPaths
from kb.service import KnowledgeBase
from kb.settings import Settings
from kb.vocab import ROLES

if TYPE_CHECKING:  # the engine (whoosh, numpy) loads in the background, not at window start
    from indexer.engine import Suggestion


class SearchEngine(Protocol):
    """The part of :class:`indexer.engine.Engine` the GUI uses."""

    def search(self, query: str, *, limit: int = 10, audience: str = "agent") -> list[SearchHit]: ...

    def suggest(self, text: str, *, address: str = "", phone: str = "", request_type: str = "",
                limit: int = 5, now: datetime | None = None) -> Suggestion: ...

    def alerts(self, text: str) -> Sequence[Alert]: ...

    def sync(self) -> int: ...

    def apply_changes(self, changes: Changes) -> None: ...

    def index_status(self) -> IndexStatus: ...


@dataclass
class Services:
    kb: KnowledgeBase
    paths: AppPaths
    settings: Settings
    tasks: TaskManager

    @property
    def user(self) -> str:
        return self.settings.user_name

    @property
    def actor(self) -> Actor:
        """Who this seat acts as: the user with the settings' role (a role this version does not know: an agent)."""
        role = self.settings.role if self.settings.role in ROLES else ROLES.default
        return Actor(self.user, role)
