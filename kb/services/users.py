"""Users of the shared base: accounts with a role and a password, and shift ends ("updates since your last shift")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from kb import limits
from kb import models as m
from kb.actor import Actor
from kb.errors import ValidationError
from kb.permissions import require
from kb.services.store import Store
from kb.vocab import ROLES


class UserService:
    """``kb.users``: creating and verifying users, recording shift ends."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, username: str, *, actor: Actor, role: str = "agent", password: str = "",
               display_name: str = "") -> None:
        from argon2 import PasswordHasher

        require(actor, "user.manage")
        if role not in ROLES:
            raise ValidationError(f"role: 应为 {'/'.join(ROLES)} 之一：{role}")
        limits.check(m.User, {"username": username, "display_name": display_name})
        with self.store.unit() as uow:
            if uow.s.scalar(select(m.User).where(m.User.username == username)):
                raise ValidationError(f"用户已存在：{username}")
            uow.s.add(m.User(username=username, role=role, display_name=display_name or username,
                             password_hash=PasswordHasher().hash(password) if password else ""))
            uow.audit(actor, "create", "user", username, {"role": role})

    def verify(self, username: str, password: str) -> str | None:
        """The user's role when the password matches, else None."""
        from argon2 import PasswordHasher
        from argon2.exceptions import VerificationError

        with self.store.session() as s:
            user = s.scalar(select(m.User).where(m.User.username == username, m.User.active.is_(True)))
            if user is None or not user.password_hash:
                return None
            try:
                PasswordHasher().verify(user.password_hash, password)
            except VerificationError:
                return None
            return user.role

    def end_shift(self, *, actor: Actor, at: datetime | None = None) -> None:
        """Record the end of ``actor``'s shift ("updates since your last shift" starts here)."""
        require(actor, "shift.end")
        when = at or self.store.now()
        with self.store.session() as s:
            user = s.scalar(select(m.User).where(m.User.username == actor.user_id))
            if user is None:
                user = m.User(username=actor.user_id, display_name=actor.user_id, role="agent")
                s.add(user)
            user.last_shift_end = when

    def last_shift_end(self, username: str) -> datetime | None:
        """When ``username`` last ended a shift (``None`` for an unknown user or a first shift)."""
        with self.store.session() as s:
            return s.scalar(select(m.User.last_shift_end).where(m.User.username == username))
