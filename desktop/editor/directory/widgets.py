"""Small widgets of the directory editor: table cells, labels, the filter box, a two-click button, an edit table."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from desktop.style import themed_brush

STALE_BRUSH = themed_brush("stale_bg")  # the theme's colours: readable in both (desktop/style.py)
BAD_BRUSH = themed_brush("bad_bg")
INACTIVE_BRUSH = themed_brush("inactive")
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
CONFIRM_MS = 4000


def item(text: object, *, data: object = None, editable: bool = False, tip: str = "") -> QTableWidgetItem:
    cell = QTableWidgetItem("" if text is None else str(text))
    if not editable:
        cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if data is not None:
        cell.setData(ROW_ROLE, data)
    if tip:
        cell.setToolTip(tip)
    return cell


def hint(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setObjectName("hintLabel")
    label.setWordWrap(True)
    return label


def error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def filter_box(placeholder: str) -> QLineEdit:
    box = QLineEdit()
    box.setObjectName("searchBox")
    box.setPlaceholderText(placeholder)
    box.setClearButtonEnabled(True)
    box.setAccessibleName("筛选")
    return box


def refill(combo: QComboBox, entries: Iterable[tuple[str, object]]) -> None:
    """Replace a combo box's (label, data) entries without signals, keeping the current choice if still there."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    for label, data in entries:
        combo.addItem(label, data)
    combo.setCurrentIndex(max(combo.findData(current), 0))
    combo.blockSignals(False)


def read_only_table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    return table


class ConfirmButton(QPushButton):
    """A destructive button that asks for a second click (no modal dialog)."""

    confirmed = Signal()

    def __init__(self, text: str, confirm_text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._text, self._confirm_text = text, confirm_text
        self._armed = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CONFIRM_MS)
        self._timer.timeout.connect(self.disarm)
        self.clicked.connect(self._clicked)

    def _clicked(self) -> None:
        if self._armed:
            self.disarm()
            self.confirmed.emit()
        else:
            self._armed = True
            self.setText(self._confirm_text)
            self._timer.start()

    def disarm(self) -> None:
        self._armed = False
        self._timer.stop()
        self.setText(self._text)

    def set_label(self, text: str, confirm_text: str) -> None:
        self._text, self._confirm_text = text, confirm_text
        self.disarm()


class EditTable(QTableWidget):
    """An editable list (synonyms, dictionary words, places): rows of text cells, filter by hiding rows."""

    edited = Signal()

    def __init__(self, headers: list[str], parent: QWidget | None = None) -> None:
        super().__init__(0, len(headers), parent)
        self.setHorizontalHeaderLabels(headers)
        self.verticalHeader().setDefaultSectionSize(26)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setSectionResizeMode(len(headers) - 1, QHeaderView.ResizeMode.Stretch)
        self._loading = False
        self.itemChanged.connect(self._changed)

    def _changed(self, _cell: QTableWidgetItem) -> None:
        if not self._loading:
            self.edited.emit()

    def set_rows(self, rows: list[list[str]]) -> None:
        self._loading = True
        try:
            self.setRowCount(len(rows))
            for i, values in enumerate(rows):
                for j in range(self.columnCount()):
                    self.setItem(i, j, QTableWidgetItem(values[j] if j < len(values) else ""))
        finally:
            self._loading = False

    def cell_text(self, row: int, col: int) -> str:
        cell = self.item(row, col)
        return cell.text().strip() if cell is not None else ""

    def row_values(self, row: int) -> list[str]:
        return [self.cell_text(row, j) for j in range(self.columnCount())]

    def rows(self) -> list[tuple[int, list[str]]]:
        """(table row, values) of every row with any text (blank rows are dropped)."""
        out = []
        for i in range(self.rowCount()):
            values = self.row_values(i)
            if any(values):
                out.append((i, values))
        return out

    def add_row(self, values: list[str] | None = None) -> int:
        self._loading = True
        try:
            row = self.rowCount()
            self.insertRow(row)
            for j in range(self.columnCount()):
                text = values[j] if values and j < len(values) else ""
                self.setItem(row, j, QTableWidgetItem(text))
        finally:
            self._loading = False
        self.setRowHidden(row, False)
        first = self.item(row, 0)
        if first is not None:
            self.scrollToItem(first)
        self.setCurrentCell(row, 0)
        self.edited.emit()
        return row

    def remove_selected(self) -> int:
        rows = sorted({i.row() for i in self.selectedIndexes()}, reverse=True)
        for r in rows:
            self.removeRow(r)
        if rows:
            self.edited.emit()
        return len(rows)

    def apply_filter(self, text: str, extra: Callable[[list[str]], bool] | None = None) -> int:
        """Hide rows not containing ``text``; returns how many are shown."""
        needle = text.strip().lower()
        shown = 0
        for i in range(self.rowCount()):
            values = self.row_values(i)
            # A blank row is one just added: keep it visible whatever the filter.
            ok = not any(values) or ((not needle or any(needle in v.lower() for v in values))
                                     and (extra is None or extra(values)))
            self.setRowHidden(i, not ok)
            shown += ok
        return shown

    def mark_row(self, row: int, message: str) -> None:
        """Paint a row as bad, with the reason as its tooltip."""
        self._loading = True
        try:
            for j in range(self.columnCount()):
                cell = self.item(row, j)
                if cell is None:
                    cell = QTableWidgetItem("")
                    self.setItem(row, j, cell)
                cell.setBackground(BAD_BRUSH)
                cell.setToolTip(message)
        finally:
            self._loading = False

    def clear_marks(self) -> None:
        self._loading = True
        try:
            for i in range(self.rowCount()):
                for j in range(self.columnCount()):
                    cell = self.item(i, j)
                    if cell is not None:
                        cell.setBackground(QBrush())
                        cell.setToolTip("")
        finally:
            self._loading = False
