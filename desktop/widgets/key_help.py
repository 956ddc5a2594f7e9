"""F1: every key of the window in a list over the window (not a dialog: a call goes on behind it).

The list is built when the overlay opens, from the window's own table of keys
and from what the current page shows: every button and field label with an
Alt+letter, so nothing on screen is missing from it. Esc or F1 closes the
overlay and gives the keyboard back to where it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.widgets.common import section_label

KeyRows = Sequence[tuple[str, str]]  # (key, what it does)
_MNEMONIC = re.compile(r"&([^&\s])")
CLOSE_KEYS = (Qt.Key.Key_Escape, Qt.Key.Key_F1)


def mnemonic(text: str) -> str:
    """``"Alt+Y"`` for ``"有用(&Y)"``; ``""`` without one (``&&`` is a literal ampersand)."""
    m = _MNEMONIC.search(text.replace("&&", ""))
    return f"Alt+{m.group(1).upper()}" if m else ""


def _clean(text: str) -> str:
    return re.sub(r"\(&.\)|&", "", text).strip()


def page_keys(page: QWidget) -> list[tuple[str, str]]:
    """The Alt+letter keys of what ``page`` shows now: buttons, field labels, tabs."""
    rows: dict[str, str] = {}
    for button in page.findChildren(QAbstractButton):
        key = mnemonic(button.text())
        if key and button.isVisibleTo(page):
            rows.setdefault(key, _clean(button.text()))
    for label in page.findChildren(QLabel):
        key = mnemonic(label.text())
        if key and label.buddy() is not None and label.isVisibleTo(page):
            rows.setdefault(key, f"到「{_clean(label.text())}」")
    for tabs in page.findChildren(QTabWidget):
        if not tabs.isVisibleTo(page):
            continue
        for i in range(tabs.count()):
            key = mnemonic(tabs.tabText(i))
            if key:
                rows.setdefault(key, f"页面「{_clean(tabs.tabText(i))}」")
    return sorted(rows.items())


class KeyHelpOverlay(QFrame):
    """Covers its parent window while open; ``open_help(sections)`` fills and shows it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("keyHelp")
        self.setAccessibleName("快捷键帮助")
        self.setAutoFillBackground(True)
        self.heading = section_label("快捷键（F1 或 Esc 关闭）")
        self.list = QListWidget()
        self.list.setAccessibleName("快捷键列表")
        self.list.setWordWrap(True)
        self.list.installEventFilter(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(self.heading)
        layout.addWidget(self.list, 1)
        self._return_to: QWidget | None = None
        parent.installEventFilter(self)
        self.hide()

    @property
    def is_open(self) -> bool:
        return self.isVisible()

    def open_help(self, sections: Sequence[tuple[str, KeyRows]]) -> None:
        self.list.clear()
        for title, rows in sections:
            if not rows:
                continue
            head = QListWidgetItem(f"— {title} —")
            head.setFlags(Qt.ItemFlag.ItemIsEnabled)  # a heading: not selectable
            font = head.font()
            font.setBold(True)
            head.setFont(font)
            self.list.addItem(head)
            for key, what in rows:
                self.list.addItem(QListWidgetItem(f"{key}　{what}"))
        focus = QApplication.focusWidget()
        self._return_to = focus if focus is not None and not self.isAncestorOf(focus) else None
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.raise_()
        self.show()
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)
        self.list.setCurrentRow(1 if self.list.count() > 1 else 0)

    def close_help(self) -> None:
        if not self.isVisible():
            return
        self.hide()
        target, self._return_to = self._return_to, None
        if target is not None and target.isVisible():
            target.setFocus(Qt.FocusReason.OtherFocusReason)

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize and self.isVisible():
            self.setGeometry(watched.rect())  # type: ignore[attr-defined]
        if (watched is self.list and isinstance(event, QKeyEvent) and event.key() in CLOSE_KEYS
                and event.modifiers() == Qt.KeyboardModifier.NoModifier):
            # ShortcutOverride first: Esc and F1 close the overlay instead of firing the window's shortcuts.
            if event.type() == QEvent.Type.ShortcutOverride:
                event.accept()
                return True
            if event.type() == QEvent.Type.KeyPress:
                self.close_help()
                return True
        return super().eventFilter(watched, event)
