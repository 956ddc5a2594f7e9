"""Window geometry and splitter sizes, in ``ui-state.ini`` in the base folder.

Only how the window looks lives here (QSettings, IniFormat); the domain
settings (database, seat, user, role, font size) stay in ``huiyin.ini``
(:mod:`kb.settings`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QSplitter, QWidget

UI_STATE_FILE = "ui-state.ini"


class UiState:
    """Reads and writes the window's geometry and named splitters."""

    def __init__(self, root: Path) -> None:
        self.path = root / UI_STATE_FILE
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def save_window(self, window: QWidget, splitters: dict[str, QSplitter], **values: str) -> None:
        self._qs.setValue("window/geometry", window.saveGeometry())
        for name, splitter in splitters.items():
            self._qs.setValue(f"splitters/{name}", splitter.saveState())
        for key, value in values.items():
            self._qs.setValue(f"window/{key}", value)
        self._qs.sync()

    def restore_geometry(self, window: QWidget) -> bool:
        data = self._qs.value("window/geometry")
        return isinstance(data, QByteArray | bytes) and window.restoreGeometry(QByteArray(data))

    def restore_splitters(self, splitters: dict[str, QSplitter]) -> None:
        for name, splitter in splitters.items():
            data = self._qs.value(f"splitters/{name}")
            if isinstance(data, QByteArray | bytes):
                splitter.restoreState(QByteArray(data))

    def value(self, key: str, default: str = "") -> str:
        raw = self._qs.value(f"window/{key}", default)
        return str(raw) if raw is not None else default

    def last_shift_end(self, user: str) -> datetime | None:
        """When ``user`` last closed Huiyin on this seat (the briefing's fallback for a shift end)."""
        raw = self._qs.value(f"shift/{_key(user)}")
        try:
            return datetime.fromisoformat(str(raw)) if raw else None
        except ValueError:
            return None

    def set_last_shift_end(self, user: str, when: datetime) -> None:
        self._qs.setValue(f"shift/{_key(user)}", when.replace(microsecond=0).isoformat())
        self._qs.sync()


def _key(user: str) -> str:
    # QSettings keys: keep Chinese names readable but never a path separator.
    return user.replace("/", "_").replace("\\", "_") or "_"
