"""What agents tell the editors: feedback on an answer (有用/过时/有误) and the searches they ran."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from kb import models as m
from kb.actor import Actor
from kb.errors import ValidationError
from kb.permissions import require
from kb.services.store import Store
from kb.vocab import FEEDBACK_KINDS, FLAG_KINDS


class FeedbackService:
    """``kb.feedback``: agents' feedback and search log (what the knowledge-gap report reads)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, entry_id: int | None, kind: str, *, actor: Actor, note: str = "", query: str = "") -> None:
        require(actor, "feedback.add")
        if kind not in FEEDBACK_KINDS:
            raise ValidationError(f"kind: 反馈类型应为 {'/'.join(FEEDBACK_KINDS)}：{kind}")
        with self.store.session() as s:
            s.add(m.Feedback(entry_id=entry_id, kind=kind, note=note, query=query, at=self.store.now(),
                             by=actor.user_id))

    def log_search(self, mode: str, query: str, hits: int, *, actor: Actor,
                   picked_entry_id: int | None = None) -> None:
        require(actor, "search.log")
        with self.store.session() as s:
            s.add(m.SearchLog(at=self.store.now(), mode=mode, query=query[:1000], hits=hits,
                              picked_entry_id=picked_entry_id, by=actor.user_id))

    def resolve(self, entry_id: int, *, actor: Actor, kinds: Iterable[str] = FLAG_KINDS) -> int:
        """Mark the open 过时/有误 feedback of an entry handled (after the editor fixed it); returns how many."""
        require(actor, "feedback.resolve")
        wanted = list(kinds)
        with self.store.unit() as uow:
            rows = list(uow.s.scalars(select(m.Feedback).where(
                m.Feedback.entry_id == entry_id, m.Feedback.kind.in_(wanted), m.Feedback.resolved.is_(False))))
            for f in rows:
                f.resolved = True
            if rows:
                ext = uow.s.scalar(select(m.Entry.external_id).where(m.Entry.id == entry_id)) or str(entry_id)
                uow.audit(actor, "resolve_feedback", "entry", ext, {"count": len(rows)})
            return len(rows)
