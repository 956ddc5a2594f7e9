"""Shared parts of the directory editor: the context, the tab base and its two kinds.

:class:`ListTab` edits a whole list in one table (synonyms, dictionary, alert
lexicon, places); :class:`FormTab` shows records in a table and edits one at a
time in a form (departments, rules, scripts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.editor.directory.widgets import (
    ROW_ROLE,
    ConfirmButton,
    EditTable,
    error_label,
    filter_box,
    hint,
    read_only_table,
)
from desktop.editor.import_wizard import FILE_FILTER, ImportWizard
from desktop.editor.texts import error_text
from desktop.services import SearchEngine
from desktop.tasks import Op, TaskManager
from desktop.widgets.common import section_label
from kb.actor import Actor
from kb.dto import Changes
from kb.errors import ImportRejected, RowError, ValidationError
from kb.exchange import ImportResult
from kb.export import export_file
from kb.service import KnowledgeBase

log = logging.getLogger(__name__)

T = TypeVar("T")
TRY_DEBOUNCE_MS = 200
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
    actor: Actor
    today: date | None = None

    def current_day(self) -> date:
        return self.today or self.kb.store.clock().date()


def directory_error_text(exc: BaseException) -> str:
    if isinstance(exc, ValidationError) and not isinstance(exc, ImportRejected) and exc.field in FIELD_LABELS:
        return f"{FIELD_LABELS[exc.field]}：{exc.reason}"
    return error_text(exc)


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
        self.status.setAccessibleDescription("状态")  # labels read the message they show; this says what it is
        self.error = error_label()
        self.error.setAccessibleDescription("错误")

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


def merge_rows(current: list[list[str]], incoming: list[list[str]], key: tuple[int, ...]
               ) -> tuple[list[list[str]], int]:
    """A table's rows with a file's rows laid over them by the ``key`` columns (a file row replaces the
    table row it names, new rows follow), and how many table rows the file does not name."""
    def ident(values: list[str]) -> tuple[str, ...]:
        return tuple(values[i].strip() if i < len(values) else "" for i in key)

    out = [list(v) for v in current]
    where: dict[tuple[str, ...], int] = {}
    for i, values in enumerate(out):
        where.setdefault(ident(values), i)
    named = set()
    for values in incoming:
        k = ident(values)
        named.add(k)
        if k in where:
            out[where[k]] = list(values)
        else:
            where[k] = len(out)
            out.append(list(values))
    return out, sum(1 for values in current if ident(values) not in named)


def ask_merge_or_replace(parent: QWidget, what: str, file_name: str, file_rows: int, lost: int) -> bool | None:
    """Ask what to do with the ``lost`` table rows a file does not have: True replace, False merge, None cancel."""
    box = QMessageBox(QMessageBox.Icon.Question, f"导入{what}",
                      f"{file_name} 有 {file_rows} 行；表格中另有 {lost} 行是文件里没有的。\n\n"
                      f"合并：保留这 {lost} 行，文件中的行新增或替换同名的行。\n"
                      f"替换：删除这 {lost} 行，表格只剩文件的内容。\n\n点「保存」之后才写入知识库。", parent=parent)
    merge = box.addButton(f"合并（保留 {lost} 行）", QMessageBox.ButtonRole.AcceptRole)
    replace = box.addButton(f"替换（删除 {lost} 行）", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("取消", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(merge)
    box.exec()
    clicked = box.clickedButton()
    return True if clicked is replace else False if clicked is merge else None


class ListTab(DirectoryTab):
    """Filter, editable table, add/remove rows, save the whole list, import/export a file, a "试一试" box."""

    headers: tuple[str, ...] = ()
    key_columns: tuple[int, ...] = (0,)  # the columns naming a row: an imported row replaces its namesake
    import_filter = ""
    export_name = ""
    try_placeholder = ""

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.dirty = False
        self.filter = filter_box("筛选")
        self.table = EditTable(list(self.headers))
        self.table.setAccessibleName(self.title)
        self.add_button = QPushButton("添加一行")
        self.remove_button = QPushButton("删除所选行")
        self.revert_button = QPushButton("放弃修改")
        self.revert_button.setToolTip("重新载入知识库中已保存的内容")
        self.save_button = QPushButton("保存")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("检查并保存整个列表 (Ctrl+S)")
        self.import_button = QPushButton("导入…")
        self.export_button = QPushButton("导出…")
        self.dirty_label = QLabel("")
        self.dirty_label.setObjectName("outboxLabel")
        self.count = hint("")
        self.try_input = QLineEdit()
        self.try_input.setPlaceholderText(self.try_placeholder)
        self.try_input.setAccessibleName("试一试")
        self.try_result = QTextBrowser()
        self.try_result.setAccessibleName("试一试结果")
        self.try_result.setMaximumHeight(96)
        self._try_timer = QTimer(self)
        self._try_timer.setSingleShot(True)
        self._try_timer.setInterval(TRY_DEBOUNCE_MS)
        self._try_timer.timeout.connect(self.run_try)

        self.filter.textChanged.connect(lambda _t: self.apply_filter())
        self.table.edited.connect(self.mark_dirty)
        self.add_button.clicked.connect(lambda: self.table.add_row())
        self.remove_button.clicked.connect(self.table.remove_selected)
        self.revert_button.clicked.connect(self.refresh)
        self.save_button.clicked.connect(self.save)
        self.import_button.clicked.connect(self.ask_import)
        self.export_button.clicked.connect(self.ask_export)
        self.try_input.textChanged.connect(lambda _t: self._try_timer.start())
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)

    def _layout(self, top_extra: list[QWidget], body: QWidget, help_text: str) -> None:
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        for w in top_extra:
            top.addWidget(w)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.revert_button, self.save_button):
            buttons.addWidget(b)
        buttons.addWidget(self.dirty_label)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.export_button)
        trial = QWidget()
        tv = QVBoxLayout(trial)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.addWidget(section_label("试一试（用表格中当前的内容，未保存也可以试）", self.try_input))
        tv.addWidget(self.try_input)
        tv.addWidget(self.try_result)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(hint(help_text))
        layout.addWidget(body, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        layout.addWidget(trial)
        layout.addWidget(self.status)

    # ------------------------------------------------------------ state
    def mark_dirty(self) -> None:
        self.dirty = True
        self.dirty_label.setText("● 有未保存的修改")
        self._update_count()  # not a re-filter: a row being edited must not vanish under the cursor
        if self.try_input.text().strip():
            self._try_timer.start()

    def mark_clean(self) -> None:
        self.dirty = False
        self.dirty_label.setText("")

    def apply_filter(self) -> None:
        self.table.apply_filter(self.filter.text(), self.row_filter())
        self._update_count()

    def _update_count(self) -> None:
        shown = sum(not self.table.isRowHidden(r) for r in range(self.table.rowCount()))
        self.count.setText(f"显示 {shown} 行，共 {len(self.table.rows())} 条")

    def row_filter(self) -> Callable[[list[str]], bool] | None:
        return None

    # ------------------------------------------------------------ load
    def refresh(self) -> None:
        kb = self.ctx.kb
        self._read(lambda: self.load_rows(kb), self.show_rows)

    def load_rows(self, kb: KnowledgeBase) -> list[list[str]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def show_rows(self, rows: list[list[str]]) -> None:
        self.table.set_rows(rows)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(self.table.columnCount() - 1,
                                                           QHeaderView.ResizeMode.Stretch)
        self.mark_clean()
        self.error.clear()
        self.apply_filter()
        self.run_try()

    # ------------------------------------------------------------ save
    def collect(self) -> Any:  # pragma: no cover - overridden
        """The table as the service's input; ValidationError (rows marked) when something is wrong."""
        raise NotImplementedError

    def persist(self, kb: KnowledgeBase, payload: Any, actor: Actor) -> Changes:  # pragma: no cover - overridden
        raise NotImplementedError

    def saved_message(self, payload: Any) -> str:
        return f"已保存 {len(payload)} 条{self.title}"

    def validated(self) -> Any | None:
        """The payload, or None after showing why not (nothing is written then)."""
        self.table.clear_marks()
        try:
            return self.collect()
        except ImportRejected as exc:
            self._mark_errors(exc.errors)
            return None
        except ValidationError as exc:
            self.show_error(exc)
            self.error.setText(self.error.text() + "；未保存")
            return None

    def _mark_errors(self, errors: list[RowError]) -> None:
        for e in errors:
            if 0 <= e.row < self.table.rowCount():
                self.table.mark_row(e.row, f"{e.field}：{e.reason}")
        lines = [f"第 {e.row + 1} 行 {e.field}：{e.reason}" for e in errors[:5]]
        more = f"……共 {len(errors)} 处" if len(errors) > 5 else ""
        self.error.setText("；".join(lines) + more)

    def save(self) -> None:
        payload = self.validated()
        if payload is None:
            return
        kb, actor = self.ctx.kb, self.ctx.actor

        def work() -> Changes:
            changes = self.persist(kb, payload, actor)
            self.apply_to_engine(changes)
            return changes

        self.error.clear()
        self.save_button.setEnabled(False)
        self._write(work, lambda ch: self._saved(ch, payload), self._save_failed)

    def _saved(self, changes: Changes, payload: Any) -> None:
        self.save_button.setEnabled(True)
        self.committed(changes, self.saved_message(payload))
        self.refresh()

    def _save_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(exc, ImportRejected):
            self._mark_errors(exc.errors)
        else:
            self.show_error(exc)

    # ------------------------------------------------------------ files
    def read_file(self, path: Path) -> list[list[str]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def import_from(self, path: Path, *, replace: bool | None = None) -> None:
        """Load a file into the table (the knowledge base changes only on 保存).

        The file's rows are merged in: a row naming the same key replaces the table's, new rows are added,
        the others stay. When the table has rows the file does not name, the editor chooses between keeping
        them and dropping them (``replace`` answers in advance).
        """
        try:
            rows = self.read_file(path)
        except (ValidationError, OSError, UnicodeDecodeError) as exc:
            self.show_error(exc)
            return
        merged, lost = merge_rows([values for _r, values in self.table.rows()], rows, self.key_columns)
        if lost and replace is None:
            replace = ask_merge_or_replace(self, self.title, path.name, len(rows), lost)
            if replace is None:
                self.status.setText("已取消导入，表格未改动")
                return
        self.table.set_rows(rows if replace else merged)
        self.mark_dirty()
        self.error.clear()
        kept = (f"，删除了表格中文件没有的 {lost} 行" if replace else f"，表格中其他 {lost} 行保留") if lost else ""
        self.status.setText(f"已从 {path.name} 载入 {len(rows)} 行{kept}：核对后点「保存」生效（保存前知识库不变）")
        self.run_try()

    def ask_import(self) -> None:
        path = self.ask_open(f"导入{self.title}", self.import_filter)
        if path is not None:
            self.import_from(path)

    def write_file(self, kb: KnowledgeBase, path: Path) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def export_to(self, path: Path) -> None:
        """Export what is saved in the knowledge base (not unsaved edits)."""
        kb = self.ctx.kb
        self._read(lambda: self.write_file(kb, path),
                   lambda n: self.status.setText(f"已导出 {n} 条到 {path}（知识库中已保存的内容）"), key="export")

    def ask_export(self) -> None:
        path = self.ask_save(f"导出{self.title}", self.export_name, self.import_filter)
        if path is not None:
            self.export_to(path)

    # ------------------------------------------------------------ try
    def run_try(self) -> None:
        """Overridden by tabs with a "试一试" box."""



class FormTab(DirectoryTab):
    """Records of one :mod:`kb.exchange` kind (departments, rules, scripts) in a table, one at a time in a form.

    Left: filter, table and count; right: a scrollable form with its buttons and
    inline error. Import goes through the wizard pre-set to this kind; export
    writes a file. The base makes the filter box, the table (``columns``), the
    ``external_id`` field and the 新建/保存 buttons; a subclass builds the rest
    of its form and calls :meth:`_build`.
    """

    exchange_kind = ""
    view_type: type = object  # the record dataclass the table rows carry
    columns: tuple[str, ...] = ()
    stretch_column = 0
    filter_placeholder = ""
    import_dialog: QDialog | None = None

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.rows: list[Any] = []
        self.current: Any = None
        self._select_after: str | None = None
        self.filter = filter_box(self.filter_placeholder)
        self.table = read_only_table(list(self.columns))
        self.table.setAccessibleName(f"{self.title}列表")
        self.table.horizontalHeader().setSectionResizeMode(self.stretch_column, QHeaderView.ResizeMode.Stretch)
        self.external_id = QLineEdit()
        self.external_id.setPlaceholderText("留空自动编号")
        self.new_button = QPushButton("新建")
        self.save_button = QPushButton("保存")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("保存 (Ctrl+S)")
        self.import_button = QPushButton("导入…")
        self.export_button = QPushButton("导出…")
        self.import_button.setToolTip("从 Excel、CSV 或 JSON 文件导入（先检查，确认后才写入）")
        self.export_button.setToolTip("导出为 Excel、CSV 或 JSON 文件（字段名同导入）")
        self.count = hint("")

    def _filter_row(self, *extra: QWidget) -> QWidget:
        """The filter box and ``extra`` widgets (checkboxes, a combo box) in a row."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter, 1)
        for w in extra:
            layout.addWidget(w)
        return row

    def _build(self, filters: QWidget, form: QWidget, buttons: list[QPushButton]) -> None:
        """Lay the tab out; the form's buttons are 新建, 保存, ``buttons`` (the last one set apart on the right)."""
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(filters)
        lv.addWidget(self.table, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.export_button)
        lv.addLayout(bottom)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form)
        row = QHBoxLayout()
        for b in (self.new_button, self.save_button, *buttons[:-1]):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(buttons[-1])
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(scroll, 1)
        rv.addWidget(self.error)
        rv.addLayout(row)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([820, 560])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self.filter.textChanged.connect(lambda _t: self.apply_filter())
        self.table.itemSelectionChanged.connect(self._selected)
        self.new_button.clicked.connect(self.new)
        self.save_button.clicked.connect(self.save)
        self.import_button.clicked.connect(self.ask_import)
        self.export_button.clicked.connect(self.ask_export)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)

    def save(self) -> None:  # pragma: no cover - every tab overrides
        raise NotImplementedError

    def load(self, view: Any) -> None:  # pragma: no cover - every tab overrides
        raise NotImplementedError

    def apply_filter(self) -> None:  # pragma: no cover - every tab overrides
        raise NotImplementedError

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        cell = self.table.item(rows[0].row(), 0)
        view = cell.data(ROW_ROLE) if cell is not None else None
        if isinstance(view, self.view_type):
            self.load(view)

    def new(self) -> None:
        self.table.clearSelection()
        self.load(None)

    def _filter_and_reselect(self) -> bool:
        """After the rows are (re)filled: filter them and select the record just saved; True when it was."""
        self.apply_filter()
        if self._select_after and self._select(self.table, self._select_after):
            self._select_after = None
            return True
        return False

    @staticmethod
    def _select(table: QTableWidget, external_id: str) -> bool:
        for row in range(table.rowCount()):
            cell = table.item(row, 0)
            if cell is not None and cell.text() == external_id and not table.isRowHidden(row):
                table.selectRow(row)
                table.scrollToItem(cell)
                return True
        return False

    # ------------------------------------------------------------ save, delete
    def saved_message(self, view: Any) -> str:
        return f"已保存{self.title} {view.external_id}"

    def _save_record(self, data: dict[str, Any], save: Callable[..., tuple[Any, Changes]]) -> None:
        """Save ``data`` with the service call ``save(data, actor=)`` on the write queue."""
        if self.current is None and data["external_id"] and any(r.external_id == data["external_id"]
                                                                 for r in self.rows):
            self.show_error(f"编号 {data['external_id']} 已被使用：请改用其他编号或在列表中选中它再编辑")
            return
        actor = self.ctx.actor

        def work() -> tuple[Any, Changes]:
            view, changes = save(data, actor=actor)
            self.apply_to_engine(changes)
            return view, changes

        def done(result: tuple[Any, Changes]) -> None:
            view, changes = result
            self._select_after = str(view.external_id)
            self.load(view)
            self.committed(changes, self.saved_message(view))
            self.refresh()

        self.error.clear()
        self._write(work, done)

    def delete_button_for(self, delete: Callable[..., Changes]) -> ConfirmButton:
        """A 删除 button (a second click confirms) for the service call ``delete(external_id, actor=)``."""
        button = ConfirmButton("删除", "再点一次确认删除")
        button.confirmed.connect(lambda: self._delete_record(delete))
        return button

    def _delete_record(self, delete: Callable[..., Changes]) -> None:
        if self.current is None:
            return
        actor, ext = self.ctx.actor, self.current.external_id

        def work() -> Changes:
            changes = delete(ext, actor=actor)
            self.apply_to_engine(changes)
            return changes

        def done(changes: Changes) -> None:
            self.new()
            self.committed(changes, f"已删除{self.title} {ext}")
            self.refresh()

        self._write(work, done)

    # ------------------------------------------------------------ files
    def open_import(self, path: Path | None = None) -> ImportWizard:
        """The import wizard pre-set to this kind (in a window of its own); checks ``path`` right away."""
        dialog = QDialog(self)
        dialog.setWindowTitle(f"导入{self.title}")
        wizard = ImportWizard(self.ctx.kb, self.ctx.tasks, self.ctx.actor)
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
