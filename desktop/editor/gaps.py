"""Knowledge gaps: what agents searched for and did not find, and entries they flagged."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kb.editorial import Gap

GAP_ROLE = Qt.ItemDataRole.UserRole + 1
PERIODS: tuple[tuple[str, int], ...] = (("近7天", 7), ("近30天", 30), ("近90天", 90), ("全部", 0))
COLUMNS = ("类型", "内容", "次数", "最近", "说明")


class GapsPanel(QWidget):
    """Gaps ranked by frequency; each one click from a new entry or the flagged entry.

    Emits :attr:`create_entry` for a search gap, :attr:`open_entry` for a
    flagged entry, :attr:`resolve_entry` to mark an entry's feedback handled,
    and :attr:`refresh_requested` with the period in days (0 = all).
    """

    create_entry = Signal(object)  # Gap
    open_entry = Signal(int)  # entry id
    resolve_entry = Signal(int)  # entry id
    refresh_requested = Signal(int)  # days

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gaps: list[Gap] = []
        self.period = QComboBox()
        self.period.setAccessibleName("统计时段")
        for label, days in PERIODS:
            self.period.addItem(label, days)
        self.period.setCurrentIndex(1)
        self.refresh = QPushButton("刷新")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setAccessibleName("知识缺口列表")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.action = QPushButton("新建条目")
        self.action.setEnabled(False)
        self.resolve = QPushButton("标记反馈已处理")
        self.resolve.setEnabled(False)
        self.hint = QLabel("双击一行：搜索无结果/推荐未采用 → 新建条目；坐席反馈 → 打开该条目修改")
        self.hint.setObjectName("hintLabel")
        self.hint.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.period)
        top.addWidget(self.refresh)
        top.addStretch(1)
        top.addWidget(self.action)
        top.addWidget(self.resolve)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.hint)

        self.refresh.clicked.connect(self.request_refresh)
        self.period.currentIndexChanged.connect(lambda _i: self.request_refresh())
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellDoubleClicked.connect(lambda _r, _c: self.activate())
        self.table.cellActivated.connect(lambda _r, _c: self.activate())
        self.action.clicked.connect(self.activate)
        self.resolve.clicked.connect(self._resolve)

    def request_refresh(self) -> None:
        self.refresh_requested.emit(int(self.period.currentData() or 0))

    def set_gaps(self, gaps: list[Gap]) -> None:
        self.gaps = list(gaps)
        self.table.setRowCount(len(gaps))
        for row, g in enumerate(gaps):
            text = g.entry_title or g.query
            if g.entry_external_id:
                text = f"{g.entry_external_id}　{text}"
            note = "；".join(g.notes) if g.notes else "、".join(s for s in g.samples if s != g.query)
            for col, value in enumerate((g.label, text, str(g.count), f"{g.last_at:%m-%d %H:%M}", note)):
                cell = QTableWidgetItem(value)
                cell.setData(GAP_ROLE, g)
                cell.setToolTip(value)
                if col == 2:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, cell)
        self.table.resizeColumnToContents(0)
        self.table.resizeColumnToContents(2)
        self.table.resizeColumnToContents(3)
        self._selection_changed()

    def selected(self) -> Gap | None:
        row = self.table.currentRow()
        return self.gaps[row] if 0 <= row < len(self.gaps) and self.table.selectedItems() else None

    def _selection_changed(self) -> None:
        g = self.selected()
        self.action.setEnabled(g is not None)
        self.action.setText("打开条目修改" if g is not None and g.entry_id is not None else "新建条目")
        self.resolve.setEnabled(g is not None and g.entry_id is not None)

    def activate(self) -> None:
        g = self.selected()
        if g is None:
            return
        if g.entry_id is not None:
            self.open_entry.emit(g.entry_id)
        else:
            self.create_entry.emit(g)

    def _resolve(self) -> None:
        g = self.selected()
        if g is not None and g.entry_id is not None:
            self.resolve_entry.emit(g.entry_id)
