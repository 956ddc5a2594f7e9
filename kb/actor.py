"""Who does something: the user recorded in the audit and version rows, and the role that decides what they may do.

Every mutating call of the services takes an :class:`Actor`. The GUI builds it from the seat's settings
(user and role); the command line, set-up, imports from files and scheduled jobs act as the local
administrator (:meth:`Actor.system`). What each role may do is :mod:`kb.permissions`.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.errors import ValidationError
from kb.vocab import ROLES

SYSTEM_ROLE = "admin"


@dataclass(frozen=True)
class Actor:
    """A user id (as recorded in ``updated_by``, ``changed_by``, the audit log) and one of :data:`kb.vocab.ROLES`."""

    user_id: str
    role: str

    def __post_init__(self) -> None:
        if not self.user_id.strip():
            raise ValidationError("user: 用户名不能为空")
        if self.role not in ROLES:
            raise ValidationError(f"role: 未知的角色「{self.role}」，应为 {ROLES.choices()} 之一")

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The local administrator: set-up, the command line, imports from files, scheduled jobs."""
        return cls(name, SYSTEM_ROLE)

    @property
    def role_label(self) -> str:
        return ROLES.label(self.role)
