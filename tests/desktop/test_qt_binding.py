"""The Qt binding itself: a regression found in the field (no project code involved)."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QTableWidget, QTableWidgetItem
from pytestqt.qtbot import QtBot


def test_void_qt_calls_keep_none_alive(qtbot: QtBot) -> None:
    """PySide6 6.12.0 drops a reference to None on every call of a void method (setRowHidden,
    setToolTip …). On Python 3.11, where None is not immortal, the app then aborts with
    "none_dealloc" after some tens of thousands of calls — opening and filtering the alert
    editor's 6,900 lines was enough. pyproject.toml keeps the binding below 6.12."""
    table = QTableWidget(100, 1)
    qtbot.addWidget(table)
    for row in range(100):
        table.setItem(row, 0, QTableWidgetItem("x"))
    before = sys.getrefcount(None)
    for _ in range(2):
        for row in range(100):
            table.setRowHidden(row, False)
            item = table.item(row, 0)
            assert item is not None
            item.setToolTip("")
    assert sys.getrefcount(None) >= before - 100
