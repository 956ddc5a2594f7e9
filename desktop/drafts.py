"""The call being taken, as the work order it becomes, and where it is kept on disk.

* :class:`Call` is the call on screen: a :class:`kb.dto.WorkOrderDraft` (what the save sends)
  and what the window shows beside it (the title of the answer used, the last search, whether
  the order is saved). The draft file holds the work order's fields as they are, and these under
  ``"view"``; a draft written before (version 1, one flat record with ISO strings) reads too.
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
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from kb.dto import WorkOrderDraft

log = logging.getLogger(__name__)

DRAFT_FILE = "current.json"
DRAFT_VERSION = 2
_ORDER_FIELDS = tuple(f.name for f in fields(WorkOrderDraft))
_VIEW_ONLY: dict[str, Any] = {"entry_title": "", "query": "", "saved": False}  # not written to the order
# What a field of the draft file must hold, by the field's annotation.
_TYPES: dict[str, tuple[type, ...]] = {"str": (str,), "bool": (bool,), "datetime": (datetime,),
                                       "datetime | None": (datetime, type(None))}


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


@dataclass(frozen=True)
class Call(WorkOrderDraft):
    """Everything typed for one call: the work order (``id`` is its client-generated UUID), and the view."""

    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: datetime = field(default_factory=_now)
    text: str = ""
    entry_title: str = ""
    query: str = ""  # last search, for feedback and usage logs
    saved: bool = False

    @property
    def is_blank(self) -> bool:
        return not any((self.phone.strip(), self.caller_name.strip(), self.address.strip(), self.text.strip()))

    def to_json(self) -> dict[str, Any]:
        order = {name: getattr(self, name) for name in _ORDER_FIELDS}
        for name, value in order.items():
            if isinstance(value, datetime):
                order[name] = value.isoformat(sep=" ")
        return {"version": DRAFT_VERSION, **order, "view": {name: getattr(self, name) for name in _VIEW_ONLY}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        """The call of a draft file, this version's or version 1's; ValueError when it cannot be one."""
        view = data.get("view")
        view = view if isinstance(view, dict) else data  # version 1: the view's fields among the order's
        values: dict[str, Any] = {k: data[k] for k in _ORDER_FIELDS if k in data}
        values.update({k: view[k] for k in _VIEW_ONLY if k in view})
        for f in fields(cls):
            if f.name not in values:
                continue
            value = values[f.name]
            if "datetime" in str(f.type) and isinstance(value, str):
                value = values[f.name] = datetime.fromisoformat(value) if value else None
            if not isinstance(value, _TYPES.get(str(f.type), object)):
                raise ValueError(f"{f.name} of a draft is {type(value).__name__}: {value!r}")
        return cls(**values)

    def work_order(self, *, seat: str = "") -> WorkOrderDraft:
        """What the save sends: a department and a deadline only for a dispatched order."""
        dispatched = self.handling == "dispatched"
        order = {name: getattr(self, name) for name in _ORDER_FIELDS}
        return WorkOrderDraft(**{**order, "department": self.department if dispatched else "",
                                 "due_at": self.due_at if dispatched else None, "seat": seat})

    def with_(self, **changes: Any) -> Call:
        return replace(self, **changes)

    def same_order(self, other: Call | None) -> bool:
        """True when ``other`` is this work order with the same content (what the form shows aside)."""
        return other is not None and replace(self, **_VIEW_ONLY) == replace(other, **_VIEW_ONLY)


def _call_of(data: dict[str, Any] | None, path: Path) -> Call | None:
    """The call of a draft file's JSON, or None (logged) when it is not one."""
    if data is None:
        return None
    try:
        return Call.from_json(data)
    except (TypeError, ValueError) as exc:
        log.warning("draft %s not restorable: %s", path.name, exc)
        return None


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

    def save(self, draft: Call) -> bool:
        """Write the draft if it changed since the last write; returns True when written."""
        data = draft.to_json()
        if data == self._last:
            return False
        write_json_atomic(self.path, data)
        self._last = data
        return True

    def load(self) -> Call | None:
        """The unsaved draft left by the previous run, if any (saved or blank drafts do not count)."""
        draft = _call_of(_read_json(self.path), self.path)
        return None if draft is None or draft.saved or draft.is_blank else draft

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        self._last = None


@dataclass(frozen=True)
class Refused:
    """A work order the database refused for its content, with the field and the reason."""

    draft: Call
    reason: str
    field: str = ""


class Outbox:
    """Work orders waiting to be saved (one JSON file each, named by the work order's UUID)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "outbox"
        self.refused_dir = self.directory / "refused"

    def put(self, draft: Call) -> None:
        write_json_atomic(self.directory / f"{draft.id}.json", draft.to_json())

    def remove(self, draft_id: str) -> None:
        (self.directory / f"{draft_id}.json").unlink(missing_ok=True)

    def items(self) -> list[Call]:
        if not self.directory.is_dir():
            return []
        calls = (_call_of(_read_json(p), p) for p in sorted(self.directory.glob("*.json")))
        return [c for c in calls if c is not None]

    def __len__(self) -> int:
        return len(list(self.directory.glob("*.json"))) if self.directory.is_dir() else 0

    def refuse(self, draft: Call, reason: str, *, field: str = "") -> None:
        """Take ``draft`` out of the queue, keeping it with the reason for the agent (never retried)."""
        write_json_atomic(self.refused_dir / f"{draft.id}.json",
                          {**draft.to_json(), "refused": {"reason": reason, "field": field}})
        self.remove(draft.id)

    def refused(self) -> list[Refused]:
        """Refused work orders, oldest call first."""
        out = []
        for p in self.refused_dir.glob("*.json") if self.refused_dir.is_dir() else ():
            data = _read_json(p)
            call = _call_of(data, p)
            if data is None or call is None:
                continue
            info = data.get("refused")
            info = info if isinstance(info, dict) else {}
            out.append(Refused(call, str(info.get("reason", "")), str(info.get("field", ""))))
        return sorted(out, key=lambda r: r.draft.received_at)

    def drop_refused(self, draft_id: str) -> None:
        (self.refused_dir / f"{draft_id}.json").unlink(missing_ok=True)
