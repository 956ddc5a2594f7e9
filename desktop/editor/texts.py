"""Editor-specific user messages (the GUI edge, pattern P12)."""

from __future__ import annotations

from desktop import errors
from kb.editorial import FIELD_LABELS
from kb.errors import ConflictError, ImportRejected, ValidationError


def error_text(exc: BaseException) -> str:
    """One line of Chinese for the editor; entry fields are named as the form names them."""
    if isinstance(exc, ImportRejected):
        return str(exc)
    if isinstance(exc, ValidationError) and exc.field in FIELD_LABELS:
        return f"{FIELD_LABELS[exc.field]}：{exc.reason}"
    if isinstance(exc, ConflictError):
        return str(exc)
    return errors.user_message(exc)
