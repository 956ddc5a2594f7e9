"""Domain exceptions of the knowledge base.

The GUI edge (``desktop/errors.py``) and the CLI translate these into Chinese
messages; nothing below them shows text to a user directly.
"""

from __future__ import annotations

from dataclasses import dataclass


class KbError(Exception):
    """Base of every knowledge-base error."""


class StorageError(KbError):
    """The environment failed us: database locked or unreachable, disk full, unreadable file."""


class ValidationError(KbError):
    """Input that breaks a rule of the domain (missing field, bad date, unknown reference).

    ``field`` names the offending field; when not given it is read from a
    ``"field: reason"`` message, the convention used throughout ``kb``.
    """

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        head, sep, _ = message.partition(": ")
        self.field = field or (head if sep and head.isidentifier() else "")
        self.reason = message[len(head) + 2:] if sep and self.field == head else message


class NotFound(KbError):
    """A referenced object does not exist."""


class PermissionDenied(KbError):
    """The actor's role does not allow the action (see :mod:`kb.permissions`); the message starts 没有权限."""

    def __init__(self, message: str, *, action: str) -> None:
        super().__init__(message)
        self.action = action


class ConflictError(KbError):
    """Optimistic concurrency: someone else saved the object since it was loaded."""

    def __init__(self, message: str, *, current_revision: int, expected_revision: int) -> None:
        super().__init__(message)
        self.current_revision = current_revision
        self.expected_revision = expected_revision


@dataclass(frozen=True)
class RowError:
    """One bad row of an import: 1-based row number (header is row 1 in CSV/XLSX), field, reason."""

    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 [{self.field}]: {self.reason}"


class ImportRejected(ValidationError):
    """An import file had bad rows; nothing was changed."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"导入失败：{len(errors)} 处错误，未做任何更改")
        self.errors = errors
