"""The call being taken, as a plain record, and where it is kept on disk.

* :class:`DraftStore` keeps the current call in ``drafts_dir/current.json``,
  written atomically (temp file, fsync, rename): a crash or a power cut leaves
  either the old or the new draft, never half a file.
* :class:`Outbox` keeps work orders on their way to the database: each is
  written there before the save starts and removed when it succeeded, so a
  crash or a hanging database loses nothing; a save that failed for an
  environmental reason (database locked, network down) stays until a retry
  succeeds. A work order the database refuses for its content is moved to
  ``outbox/refused/`` with the reason, until the agent restores and fixes it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from kb.dto import WorkOrderDraft

log = logging.getLogger(__name__)

DRAFT_FILE = "current.json"
DRAFT_VERSION = 1
_VIEW_ONLY: dict[str, Any] = {"entry_title": "", "query": "", "saved": False}  # not written to the order


@dataclass(frozen=True)
class CallDraft:
    """Everything typed for one call; ``id`` is the work order's client-generated UUID."""

    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: str = field(default_factory=lambda: datetime.now().replace(microsecond=0).isoformat())
    phone: str = ""
    caller_name: str = ""
    address: str = ""
    district: str = ""
    street: str = ""
    request_type: str = "consult"
    text: str = ""
    handling: str = "answered"
    department: str = ""  # department external_id
    due_at: str = ""  # ISO datetime or ""
    urgency: str = "normal"
    category: str = ""
    entry: str = ""  # external_id of the answer used
    entry_title: str = ""
    query: str = ""  # last search, for feedback and usage logs
    saved: bool = False

    @property
    def is_blank(self) -> bool:
        return not any((self.phone.strip(), self.caller_name.strip(), self.address.strip(), self.text.strip()))

    def to_json(self) -> dict[str, Any]:
        return {"version": DRAFT_VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallDraft:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def work_order(self, *, seat: str = "") -> WorkOrderDraft:
        due = datetime.fromisoformat(self.due_at) if self.due_at and self.handling == "dispatched" else None
        return WorkOrderDraft(
            id=self.id, received_at=datetime.fromisoformat(self.received_at), text=self.text,
            phone=self.phone, caller_name=self.caller_name, address=self.address, district=self.district,
            street=self.street, request_type=self.request_type, urgency=self.urgency, category=self.category,
            handling=self.handling, department=self.department if self.handling == "dispatched" else "",
            due_at=due, entry=self.entry, seat=seat)

    def with_(self, **changes: Any) -> CallDraft:
        return replace(self, **changes)

    def same_order(self, other: CallDraft | None) -> bool:
        """True when ``other`` is this work order with the same content (what the form shows aside)."""
        return other is not None and replace(self, **_VIEW_ONLY) == replace(other, **_VIEW_ONLY)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` so that a crash leaves the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("unreadable draft %s: %s", path.name, exc)
        return None
    return data if isinstance(data, dict) else None


class DraftStore:
    """The current call's draft on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / DRAFT_FILE
        self._last: dict[str, Any] | None = None

    def save(self, draft: CallDraft) -> bool:
        """Write the draft if it changed since the last write; returns True when written."""
        data = draft.to_json()
        if data == self._last:
            return False
        write_json_atomic(self.path, data)
        self._last = data
        return True

    def load(self) -> CallDraft | None:
        """The unsaved draft left by the previous run, if any (saved or blank drafts do not count)."""
        data = _read_json(self.path)
        if data is None:
            return None
        try:
            draft = CallDraft.from_json(data)
        except TypeError as exc:
            log.warning("draft not restorable: %s", exc)
            return None
        return None if draft.saved or draft.is_blank else draft

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self._last = None


@dataclass(frozen=True)
class Refused:
    """A work order the database refused for its content, with the field and the reason."""

    draft: CallDraft
    reason: str
    field: str = ""


class Outbox:
    """Work orders waiting to be saved (one JSON file each, named by the work order's UUID)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "outbox"
        self.refused_dir = self.directory / "refused"

    def put(self, draft: CallDraft) -> None:
        write_json_atomic(self.directory / f"{draft.id}.json", draft.to_json())

    def remove(self, draft_id: str) -> None:
        (self.directory / f"{draft_id}.json").unlink(missing_ok=True)

    def items(self) -> list[CallDraft]:
        if not self.directory.is_dir():
            return []
        out = []
        for p in sorted(self.directory.glob("*.json")):
            data = _read_json(p)
            if data is not None:
                out.append(CallDraft.from_json(data))
        return out

    def __len__(self) -> int:
        return len(list(self.directory.glob("*.json"))) if self.directory.is_dir() else 0

    def refuse(self, draft: CallDraft, reason: str, *, field: str = "") -> None:
        """Take ``draft`` out of the queue, keeping it with the reason for the agent (never retried)."""
        write_json_atomic(self.refused_dir / f"{draft.id}.json",
                          {**draft.to_json(), "refused": {"reason": reason, "field": field}})
        self.remove(draft.id)

    def refused(self) -> list[Refused]:
        """Refused work orders, oldest call first."""
        out = []
        for p in self.refused_dir.glob("*.json") if self.refused_dir.is_dir() else ():
            data = _read_json(p)
            if data is None:
                continue
            info = data.get("refused")
            info = info if isinstance(info, dict) else {}
            out.append(Refused(CallDraft.from_json(data), str(info.get("reason", "")), str(info.get("field", ""))))
        return sorted(out, key=lambda r: r.draft.received_at)

    def drop_refused(self, draft_id: str) -> None:
        (self.refused_dir / f"{draft_id}.json").unlink(missing_ok=True)
