"""The editor's entry table with its filter bar and search box."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import style
from desktop.widgets.layout import FlowLayout
from kb.dto import DepartmentView
from kb.editorial import STATUS_LABELS, EntryFilter, EntryListItem

ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
FILTER_DEBOUNCE_MS = 250
COLUMNS = ("编号", "标题", "状态", "提示", "分类", "承办单位", "有效期至", "更新")
HINT_COLUMN = 3


class EntryFilterBar(QWidget):
    """Status, category and department pickers, four check filters and a search box.

    Emits :attr:`changed` (debounced) with the :class:`EntryFilter` to apply; the
    search text travels in ``EntryFilter.text``.
    """

    changed = Signal(object)  # EntryFilter

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setObjectName("searchBox")
        self.search.setPlaceholderText("全文搜索：标题、口径、问法、关键词、编号")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("搜索条目")
        self.status = QComboBox()
        self.status.setAccessibleName("状态")
        self.status.addItem("全部状态", "")
        for code, label in STATUS_LABELS.items():
            self.status.addItem(label, code)
        self.category = QComboBox()
        self.category.setAccessibleName("分类")
        self.category.addItem("全部分类", "")
        self.department = QComboBox()
        self.department.setAccessibleName("承办单位")
        self.department.addItem("全部承办单位", "")
        self.expiring = QCheckBox("30天内到期")
        self.expired = QCheckBox("已过期")
        self.flagged = QCheckBox("坐席反馈")
        self.unreviewed = QCheckBox("超180天未审核")

        # The pickers and the check filters wrap onto more rows at a large font (the pane stays narrow).
        pickers, checks = QWidget(), QWidget()
        pick_flow, check_flow = FlowLayout(pickers, spacing=6, fill=True), FlowLayout(checks, spacing=12)
        for combo in (self.status, self.category, self.department):
            # Long department names show in the drop-down; the closed box needs no room for them.
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(6)
            pick_flow.addWidget(combo)
        for box in (self.expiring, self.expired, self.flagged, self.unreviewed):
            check_flow.addWidget(box)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.search)
        column.addWidget(pickers)
        column.addWidget(checks)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_DEBOUNCE_MS)
        self._timer.timeout.connect(self.emit_now)
        self.search.textChanged.connect(lambda _t: self._timer.start())
        for combo in (self.status, self.category, self.department):
            combo.currentIndexChanged.connect(lambda _i: self.emit_now())
        for box in (self.expiring, self.expired, self.flagged, self.unreviewed):
            box.toggled.connect(lambda _on: self.emit_now())

    def set_categories(self, paths: list[str]) -> None:
        current = self.category.currentData()
        self.category.blockSignals(True)
        self.category.clear()
        self.category.addItem("全部分类", "")
        for path in paths:
            self.category.addItem(path, path)
        index = self.category.findData(current)
        self.category.setCurrentIndex(max(index, 0))
        self.category.blockSignals(False)

    def set_departments(self, departments: list[DepartmentView]) -> None:
        current = self.department.currentData()
        self.department.blockSignals(True)
        self.department.clear()
        self.department.addItem("全部承办单位", "")
        for d in departments:
            self.department.addItem(d.name, d.external_id)
        index = self.department.findData(current)
        self.department.setCurrentIndex(max(index, 0))
        self.department.blockSignals(False)

    def current(self) -> EntryFilter:
        return EntryFilter(
            status=str(self.status.currentData() or ""), category=str(self.category.currentData() or ""),
            department=str(self.department.currentData() or ""), expiring=self.expiring.isChecked(),
            expired=self.expired.isChecked(), flagged=self.flagged.isChecked(),
            unreviewed=self.unreviewed.isChecked(), text=self.search.text().strip())

    def emit_now(self) -> None:
        self._timer.stop()
        self.changed.emit(self.current())


def _hints(item: EntryListItem) -> str:
    parts = []
    if item.flags:
        parts.append(f"反馈 {item.flags}")
    if item.expired:
        parts.append("已过期")
    elif item.expiring:
        parts.append("即将到期")
    if item.unreviewed:
        parts.append("超期未审")
    return "、".join(parts)


class EntryTable(QTableWidget):
    """Rows of :class:`EntryListItem`; Enter or double-click opens one."""

    entry_selected = Signal(object)  # EntryListItem
    entry_activated = Signal(object)  # EntryListItem

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.setAccessibleName("知识条目列表")
        self.setTabKeyNavigation(False)  # Tab leaves the table; the arrow keys move in it, Ctrl+Tab switches pages
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.rows: list[EntryListItem] = []
        self.itemSelectionChanged.connect(self._selected)
        self.cellActivated.connect(lambda row, _c: self._activate(row))
        self.cellDoubleClicked.connect(lambda row, _c: self._activate(row))

    def set_items(self, items: list[EntryListItem]) -> None:
        selected = self.current_item()
        keep = selected.entry.id if selected else None
        self.blockSignals(True)
        self.rows = list(items)
        self.setRowCount(len(items))
        warn = QBrush(QColor(style.color("warn")))  # the theme's, 4.5:1 on the rows
        for row, it in enumerate(items):
            e = it.entry
            values = (e.external_id, e.title, STATUS_LABELS.get(e.status, e.status), _hints(it), e.category,
                      e.department_name, e.valid_to.isoformat() if e.valid_to else "",
                      f"{e.updated_at:%Y-%m-%d} {e.updated_by}")
            for col, text in enumerate(values):
                cell = QTableWidgetItem(text)
                cell.setData(ITEM_ROLE, it)
                if col in (1, 4, 5):
                    cell.setToolTip(text)
                if col == HINT_COLUMN and text:
                    cell.setForeground(warn)
                self.setItem(row, col, cell)
        for col in (0, 2, HINT_COLUMN, 6):
            self.resizeColumnToContents(col)
        # Titles first: the rest scrolls sideways when the pane is narrow.
        for col, width in ((1, 240), (4, 110), (5, 120)):
            self.setColumnWidth(col, width)
        self.blockSignals(False)
        if keep is not None:
            self.select_entry(keep, emit=False)

    def current_item(self) -> EntryListItem | None:
        row = self.currentRow()
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def select_entry(self, entry_id: int, *, emit: bool = True) -> bool:
        for row, it in enumerate(self.rows):
            if it.entry.id == entry_id:
                if not emit:
                    self.blockSignals(True)
                self.selectRow(row)
                self.blockSignals(False)
                return True
        return False

    def _selected(self) -> None:
        item = self.current_item()
        if item is not None:
            self.entry_selected.emit(item)

    def _activate(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.entry_activated.emit(self.rows[row])


class EntryListPanel(QWidget):
    """Filter bar + count + table, as one tab of the editor workspace."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filters = EntryFilterBar()
        self.table = EntryTable()
        self.count = QLabel("")
        self.count.setObjectName("hintLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filters)
        layout.addWidget(self.count)
        layout.addWidget(self.table, 1)

    def set_items(self, items: list[EntryListItem], *, searched: bool = False) -> None:
        self.table.set_items(items)
        self.count.setText(f"共 {len(items)} 条" + ("（按相关度排序）" if searched else ""))
