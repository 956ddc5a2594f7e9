"""Shared parts of the directory editor tabs: the context, a tab base with background ops, an editable table."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.editor.import_wizard import FILE_FILTER, ImportWizard
from desktop.editor.texts import error_text
from desktop.services import SearchEngine
from desktop.tasks import Op, TaskManager
from kb.dto import Changes
from kb.errors import ImportRejected, ValidationError
from kb.exchange import ImportResult, export_file
from kb.service import KnowledgeBase

log = logging.getLogger(__name__)

T = TypeVar("T")
STALE_BRUSH = QBrush(QColor("#ffe9c7"))
BAD_BRUSH = QBrush(QColor("#ffd9d9"))
INACTIVE_BRUSH = QBrush(QColor("#8a8f98"))
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
CONFIRM_MS = 4000
# kb's "field: reason" errors of the directory objects → the labels the forms show.
FIELD_LABELS = {
    "external_id": "编号", "name": "名称", "short_name": "简称", "level": "层级", "district": "属地",
    "parent": "上级单位", "duties": "职责", "phone": "服务电话", "duty_phone": "值班电话",
    "transfer_phone": "转接电话", "address": "地址", "hours": "办公时间", "last_verified": "最近核实",
    "department": "承办单位", "category": "分类", "keywords": "关键词", "priority": "优先级", "note": "备注",
    "kind": "类型", "title": "标题", "body": "内容", "street": "街道/乡镇", "aliases": "别名",
}


@dataclass
class DirectoryContext:
    """What every tab needs; ``engine`` may arrive later (:meth:`DirectoryWorkspace.set_engine`)."""

    kb: KnowledgeBase
    engine: SearchEngine | None
    tasks: TaskManager
    user: str
    today: date | None = None

    def current_day(self) -> date:
        return self.today or self.kb.clock().date()


def directory_error_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationError) and not isinstance(exc, ImportRejected) and exc.field in FIELD_LABELS:
        return f"{FIELD_LABELS[exc.field]}：{exc.reason}"
    return error_text(exc)


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


class DirectoryTab(QWidget):
    """Base of a tab: background reads/writes through :class:`Op`, inline errors, a status line.

    Subclasses implement :meth:`refresh`. Every write runs on the single write
    worker and hands its :class:`Changes` to the engine there, right after the commit.
    """

    changed = Signal(object)  # Changes committed by this tab
    title = ""
    key = ""

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.loaded = False
        self.status = hint("")
        self.status.setAccessibleName("状态")
        self.error = error_label()
        self.error.setAccessibleName("错误")

    # ------------------------------------------------------------ plumbing
    def ensure_loaded(self) -> None:
        if not self.loaded:
            self.loaded = True
            self.refresh()

    def refresh(self) -> None:  # pragma: no cover - every tab overrides
        raise NotImplementedError

    def _read(self, fn: Callable[[], T], on_success: Callable[[T], None], key: str = "") -> None:
        Op(self.ctx.tasks, self, fn).key(f"directory-{self.key}-{key or 'load'}").success(on_success) \
            .failure(self.show_error).run()

    def _write(self, fn: Callable[[], T], on_success: Callable[[T], None],
               on_failure: Callable[[BaseException], None] | None = None) -> None:
        Op(self.ctx.tasks, self, fn, writes=True).success(on_success).failure(on_failure or self.show_error).run()

    def apply_to_engine(self, changes: Changes) -> None:
        """Runs on the write worker, right after the commit (the engine follows the database)."""
        engine = self.ctx.engine
        if engine is not None and not changes.empty:
            engine.apply_changes(changes)

    def show_error(self, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else directory_error_text(exc)
        if not isinstance(exc, str):
            log.info("directory %s: %s", self.key, exc)
        self.error.setText(text)

    def committed(self, changes: Changes, message: str) -> None:
        self.error.clear()
        self.status.setText(message)
        self.changed.emit(changes)

    # ------------------------------------------------------------ files
    def ask_open(self, caption: str, file_filter: str = FILE_FILTER) -> Path | None:
        path, _ = QFileDialog.getOpenFileName(self, caption, "", file_filter)
        return Path(path) if path else None

    def ask_save(self, caption: str, name: str, file_filter: str = FILE_FILTER) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, caption, name, file_filter)
        return Path(path) if path else None


class RecordTab(DirectoryTab):
    """A tab over one kind of :mod:`kb.exchange` (departments, rules, scripts): wizard import, file export."""

    exchange_kind = ""
    import_dialog: QDialog | None = None

    def open_import(self, path: Path | None = None) -> ImportWizard:
        """The import wizard pre-set to this kind (in a window of its own); checks ``path`` right away."""
        dialog = QDialog(self)
        dialog.setWindowTitle(f"导入{self.title}")
        wizard = ImportWizard(self.ctx.kb, self.ctx.tasks, self.ctx.user)
        wizard.kind.setCurrentIndex(max(wizard.kind.findData(self.exchange_kind), 0))
        wizard.imported.connect(self._imported)
        QVBoxLayout(dialog).addWidget(wizard)
        dialog.resize(960, 600)
        dialog.show()
        self.import_dialog = dialog
        if path is not None:
            wizard.path.setText(str(path))
            wizard.run_check()
        return wizard

    def _imported(self, result: ImportResult) -> None:
        def work() -> Changes:
            self.apply_to_engine(result.changes)
            return result.changes

        self._write(work, lambda ch: self.committed(
            ch, f"导入完成：新增 {result.created}、更新 {result.updated}、不变 {result.unchanged}"))
        self.refresh()

    def export_to(self, path: Path) -> None:
        kb, kind = self.ctx.kb, self.exchange_kind
        self._read(lambda: export_file(kb, kind, path),
                   lambda n: self.status.setText(f"已导出 {n} 条到 {path}"), key="export")

    def ask_export(self) -> None:
        path = self.ask_save(f"导出{self.title}", f"{self.exchange_kind}.xlsx")
        if path is not None:
            self.export_to(path)

    def ask_import(self) -> None:
        path = self.ask_open(f"导入{self.title}")
        if path is not None:
            self.open_import(path)


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
