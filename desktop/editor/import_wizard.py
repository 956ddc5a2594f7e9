"""Import wizard over :mod:`kb.exchange`: preview, bad rows with reasons, nothing changes until confirmed.

An import adds and updates; a list-like kind (地名库) can replace the whole list, which deletes the
rows the file does not have: the check counts them and the import asks before deleting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.editor.texts import error_text
from desktop.style import themed_brush
from desktop.tasks import Op, TaskManager
from desktop.widgets.common import section_label
from kb.actor import Actor
from kb.errors import ImportRejected, KbError, RowError, StorageError
from kb.exchange import KIND_FIELDS, REPLACEABLE, ImportResult, guess_kind, import_rows
from kb.export import export_file
from kb.service import KnowledgeBase
from kb.tables import read_table, sheet_names

KINDS: dict[str, str] = {"": "自动识别", "entries": "知识条目", "departments": "承办单位", "rules": "派单规则",
                         "scripts": "话术", "bulletins": "公告", "places": "地名库"}
PREVIEW_ROWS = 200
FILE_FILTER = "数据文件 (*.xlsx *.csv *.json *.jsonl)"
BAD_BRUSH = themed_brush("bad_bg")  # the theme's colour: readable in both (desktop/style.py)

Rows = list[tuple[int, dict[str, Any]]]


class ImportWizard(QWidget):
    """Pick a file and a kind, check it (a dry run), fix bad rows in place, then confirm the import.

    The check runs the very import code in a transaction that is rolled back,
    so the preview's counts and row errors are exactly what the import does.
    Bad rows are listed first in the preview and can be edited there; the next
    check and the import use the edited rows (the file itself is not changed).
    Emits :attr:`imported` with the :class:`ImportResult` after a real import.
    """

    imported = Signal(object)  # ImportResult
    exported = Signal(str, int)  # path, records

    def __init__(self, kb: KnowledgeBase, tasks: TaskManager, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kb, self.tasks, self.actor = kb, tasks, actor
        self._checked: tuple[str, str] | None = None  # (path, kind) of the last clean dry run
        self._check_result: ImportResult | None = None  # its counts (a replace asks before deleting)
        self._rows: Rows | None = None  # rows of the file at ``_rows_path``, with in-place fixes
        self._rows_path = ""
        self._notes: list[str] = []  # what reading the file at ``_rows_path`` told
        self._sheets_path = ""  # the file whose sheets the sheet picker lists
        self._cols: list[str] = []
        self._filling = False
        self.kind = QComboBox()
        self.kind.setAccessibleName("导入类型")
        for code, label in KINDS.items():
            self.kind.addItem(label, code)
        self.path = QLineEdit()
        self.path.setPlaceholderText("Excel (xlsx)、CSV、JSON 或 JSONL 文件")
        self.path.setAccessibleName("导入文件")
        self.sheet = QComboBox()
        self.sheet.setAccessibleName("工作表")
        self.sheet.setToolTip("Excel 文件中要导入的工作表")
        self.sheet_label = QLabel("工作表")
        self.replace = QCheckBox("整表替换（删除知识库中文件里没有的行）")
        self.replace.setToolTip("不勾选时只新增和更新，从不删除；勾选后，检查会列出将删除的行数，导入前还会再确认")
        self.browse = QPushButton("选择文件…")
        self.check = QPushButton("检查文件")
        self.confirm = QPushButton("确认导入")
        self.confirm.setEnabled(False)
        self.export = QPushButton("导出…")
        self.summary = QLabel("第一步：选择文件并检查。检查不会改动知识库。")
        self.summary.setWordWrap(True)
        self.summary.setObjectName("hintLabel")
        self.preview = QTableWidget(0, 0)
        self.preview.setAccessibleName("导入预览")
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                     | QAbstractItemView.EditTrigger.EditKeyPressed
                                     | QAbstractItemView.EditTrigger.AnyKeyPressed)
        self.preview.setToolTip("双击或直接输入可修改单元格；修改后请重新检查")
        self.preview.verticalHeader().hide()
        self.errors = QTableWidget(0, 3)
        self.errors.setAccessibleName("错误行")
        self.errors.setHorizontalHeaderLabels(["行", "字段", "原因"])
        self.errors.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.errors.verticalHeader().hide()
        self.errors.setWordWrap(True)
        self.errors.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

        row1 = QHBoxLayout()
        row1.addWidget(QLabel("类型"))
        row1.addWidget(self.kind)
        row1.addWidget(self.path, 1)
        row1.addWidget(self.browse)
        row1.addWidget(self.sheet_label)
        row1.addWidget(self.sheet)
        row2 = QHBoxLayout()
        row2.addWidget(self.check)
        row2.addWidget(self.confirm)
        row2.addWidget(self.replace)
        row2.addStretch(1)
        row2.addWidget(self.export)
        errors_box = QWidget()
        ev = QVBoxLayout(errors_box)
        ev.setContentsMargins(0, 0, 0, 0)
        ev.addWidget(section_label("有问题的行（全部修正后才能导入）"))
        ev.addWidget(self.errors, 1)
        preview_box = QWidget()
        pv = QVBoxLayout(preview_box)
        pv.setContentsMargins(0, 0, 0, 0)
        pv.addWidget(section_label("文件预览"))
        pv.addWidget(self.preview, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(preview_box)
        split.addWidget(errors_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row1)
        layout.addLayout(row2)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

        self.browse.clicked.connect(self._browse)
        self.check.clicked.connect(self.run_check)
        self.confirm.clicked.connect(self.run_import)
        self.export.clicked.connect(self._export)
        self.path.textChanged.connect(lambda _t: self._invalidate())
        self.preview.itemChanged.connect(self._cell_edited)
        self.kind.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.sheet.currentIndexChanged.connect(lambda _i: self._sheet_changed())
        self.replace.toggled.connect(lambda _on: self._invalidate())
        self._show_sheets([], "")
        self._kind_changed()

    # ------------------------------------------------------------ state
    def _invalidate(self) -> None:
        self._checked = None
        self._check_result = None
        self.confirm.setEnabled(False)
        path = self.path.text().strip()
        if path != self._rows_path:  # another file: forget fixes made to the old one
            self._rows, self._rows_path = None, ""
        if path != self._sheets_path:
            self._show_sheets([], "")

    def _kind_changed(self) -> None:
        replaceable = str(self.kind.currentData() or "") in REPLACEABLE
        self.replace.setVisible(replaceable)
        if not replaceable:
            self.replace.setChecked(False)
        self._invalidate()

    def _sheet_changed(self) -> None:
        """Another sheet: the rows read (and fixed) so far belong to the old one."""
        if self._filling:
            return
        self._rows, self._rows_path = None, ""
        self._invalidate()

    def _show_sheets(self, names: list[str], path: str) -> None:
        """The sheet picker, shown for an Excel file with more than one sheet; keeps the current choice."""
        self._sheets_path = path
        current = self.sheet.currentText()
        self._filling = True
        self.sheet.clear()
        self.sheet.addItems(names)
        if current in names:
            self.sheet.setCurrentText(current)
        self._filling = False
        self.sheet.setVisible(len(names) > 1)
        self.sheet_label.setVisible(len(names) > 1)

    def _cell_edited(self, item: QTableWidgetItem) -> None:
        """A fix typed into the preview: update the pending rows, require a new check."""
        if self._filling or self._rows is None or item.column() == 0:
            return
        number_item = self.preview.item(item.row(), 0)
        if number_item is None:
            return
        number, field = int(number_item.text()), self._cols[item.column() - 1]
        for n, rec in self._rows:
            if n == number:
                rec[field] = item.text()
                break
        self._invalidate()
        self.summary.setText(f"已修改第 {number} 行的 {field}：请重新检查（文件本身未改动）。")

    def _busy(self, on: bool) -> None:
        for b in (self.check, self.browse, self.export):
            b.setEnabled(not on)
        if on:
            self.confirm.setEnabled(False)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "选择导入文件", "", FILE_FILTER)
        if path:
            self.path.setText(path)

    def _export(self) -> None:
        kind = str(self.kind.currentData() or "entries")
        path, _ = QFileDialog.getSaveFileName(self, "导出到文件", f"{kind}.xlsx", FILE_FILTER)
        if path:
            self.run_export(Path(path), kind)

    # ------------------------------------------------------------ check (dry run)
    def run_check(self) -> None:
        path = self.path.text().strip()
        if not path:
            self.summary.setText("请先选择文件")
            return
        wanted = str(self.kind.currentData() or "")
        kb, actor, replace = self.kb, self.actor, self.replace.isChecked()
        edited = self._rows if self._rows_path == path else None
        notes = list(self._notes)
        sheet = self.sheet.currentText() or None

        def work() -> _Check:
            check = _Check()
            try:
                if edited is None:
                    check.sheets = sheet_names(Path(path))
                    table = read_table(Path(path), sheet=sheet if sheet in check.sheets else None)
                    check.rows, check.notes = table.rows, table.notes
                else:
                    check.rows, check.notes = edited, notes
                check.kind = wanted or guess_kind(check.rows)
                check.result = import_rows(kb, check.kind, check.rows, actor=actor, dry_run=True, replace=replace)
            except ImportRejected as exc:
                check.errors = list(exc.errors)
            except KbError as exc:  # shown with the sheets found, so another sheet can be picked
                check.failure = exc
            return check

        self._busy(True)
        self.summary.setText("正在检查…")
        # Writes queue: the dry run holds a write transaction (rolled back) while it checks.
        Op(self.tasks, self, work, writes=True).key("editor-import") \
            .success(lambda c: self._show_check(path, c)) \
            .failure(self._failed).finally_(lambda: self._busy(False)).run()

    def _show_check(self, path: str, check: _Check) -> None:
        if check.sheets:
            self._show_sheets(check.sheets, path)
        if check.failure is not None:
            self._failed(check.failure)
            return
        self._rows, self._rows_path, self._notes = check.rows, path, check.notes
        rows, errors, result = check.rows, check.errors, check.result
        self._fill_preview(check.kind, rows, errors)
        self._fill_errors(errors)
        label = KINDS.get(check.kind, check.kind)
        if result is None:
            bad_rows = len({e.row for e in errors})
            self.summary.setText(f"{label}：共 {len(rows)} 行，其中 {bad_rows} 行有问题（{len(errors)} 处），"
                                 "已排在预览最前。可直接在预览中修改后重新检查，或修改文件；知识库未做任何更改。"
                                 + _notes_text(check.notes))
            self._invalidate()
            return
        deleted = f"、删除 {result.deleted}（知识库中有、文件中没有的行）" if result.deleted else ""
        self.summary.setText(f"{label}：共 {result.rows} 行，检查通过。将新增 {result.created}、更新 "
                             f"{result.updated}、不变 {result.unchanged}{deleted}。点击「确认导入」后才会写入。"
                             + _notes_text(check.notes + result.notes))
        self._checked = (path, check.kind)
        self._check_result = result
        self.confirm.setEnabled(True)

    def _fill_preview(self, kind: str, rows: Rows, errors: list[RowError]) -> None:
        present: set[str] = set().union(*(r.keys() for _, r in rows[:PREVIEW_ROWS])) if rows else set()
        known = KIND_FIELDS.get(kind, ())
        cols = [f for f in known if f in present] + sorted(present - set(known))
        bad = {e.row for e in errors}
        self._cols = cols
        self._filling = True
        self.preview.clear()
        self.preview.setColumnCount(len(cols) + 1)
        self.preview.setHorizontalHeaderLabels(["行", *cols])
        # Every bad row first (so each can be fixed here), then the start of the file.
        shown = [r for r in rows if r[0] in bad] + [r for r in rows[:PREVIEW_ROWS] if r[0] not in bad]
        self.preview.setRowCount(len(shown))
        for i, (n, rec) in enumerate(shown):
            values = [str(n)] + [_cell(rec.get(c)) for c in cols]
            for j, value in enumerate(values):
                item = QTableWidgetItem(value)
                if j == 0:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                if n in bad:
                    item.setBackground(BAD_BRUSH)
                self.preview.setItem(i, j, item)
        self._filling = False
        self.preview.resizeColumnsToContents()
        for j in range(self.preview.columnCount()):
            self.preview.setColumnWidth(j, min(self.preview.columnWidth(j), 260))

    def _fill_errors(self, errors: list[RowError]) -> None:
        self.errors.setRowCount(len(errors))
        for i, e in enumerate(errors):
            for j, value in enumerate((str(e.row), e.field, e.reason)):
                item = QTableWidgetItem(value)
                item.setToolTip(str(e))
                self.errors.setItem(i, j, item)
        self.errors.resizeColumnToContents(0)
        self.errors.resizeColumnToContents(1)
        self.errors.resizeRowsToContents()

    # ------------------------------------------------------------ import
    def run_import(self) -> None:
        if self._checked is None:
            return
        path, kind = self._checked
        kb, actor, replace = self.kb, self.actor, self.replace.isChecked()
        checked = self._check_result
        if replace and checked is not None and checked.deleted and not self._confirm_replace(kind, checked.deleted):
            self.summary.setText("已取消导入，知识库未做任何更改。")
            return
        rows = self._rows if self._rows_path == path and self._rows is not None else None
        sheet = self.sheet.currentText() or None

        def work() -> ImportResult:  # exactly the rows that passed the check (with in-place fixes)
            data = rows if rows is not None else read_table(Path(path), sheet=sheet).rows
            return import_rows(kb, kind, data, actor=actor, replace=replace)

        self._busy(True)
        self.summary.setText("正在导入…")
        Op(self.tasks, self, work, writes=True).key("editor-import") \
            .success(self._done).failure(self._failed).finally_(lambda: self._busy(False)).run()

    def _confirm_replace(self, kind: str, count: int) -> bool:
        """Ask before a replace deletes ``count`` rows (No is the default)."""
        answer = QMessageBox.question(
            self, "确认整表替换",
            f"整表替换将从知识库删除 {count} 行{KINDS.get(kind, kind)}（知识库中有、文件中没有的行），删除后不能撤销。"
            "\n\n确定导入并删除吗？",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _done(self, result: ImportResult) -> None:
        self._invalidate()
        deleted = f"、删除 {result.deleted}" if result.deleted else ""
        self.summary.setText(f"导入完成：新增 {result.created}、更新 {result.updated}、不变 {result.unchanged}"
                             f"{deleted}。")
        self.imported.emit(result)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ImportRejected):  # the file changed between check and import
            self._fill_errors(list(exc.errors))
        self._invalidate()
        # An import's storage errors say what happened (another import running, nothing changed).
        self.summary.setText(str(exc) if isinstance(exc, StorageError) else error_text(exc))

    # ------------------------------------------------------------ export
    def run_export(self, path: Path, kind: str) -> None:
        kb = self.kb
        self._busy(True)
        Op(self.tasks, self, lambda: export_file(kb, kind, path)).key("editor-export") \
            .success(lambda n: self._exported(path, n)).failure(self._failed) \
            .finally_(lambda: self._busy(False)).run()

    def _exported(self, path: Path, count: int) -> None:
        self.summary.setText(f"已导出 {count} 条到 {path}")
        self.exported.emit(str(path), count)


@dataclass
class _Check:
    """What a check (a dry run) found, handed from the worker to the GUI thread."""

    sheets: list[str] = field(default_factory=list)
    kind: str = ""
    rows: Rows = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    result: ImportResult | None = None
    errors: list[RowError] = field(default_factory=list)
    failure: KbError | None = None


def _notes_text(notes: list[str]) -> str:
    return "".join(f"\n提示：{n}" for n in notes)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return str(value)
