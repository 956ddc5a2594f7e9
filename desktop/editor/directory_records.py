"""Directory tabs with a table and a form: departments (承办单位), routing rules (路由规则), scripts (话术)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.editor import directory_data as dd
from desktop.editor.directory_common import (
    INACTIVE_BRUSH,
    ROW_ROLE,
    STALE_BRUSH,
    ConfirmButton,
    DirectoryContext,
    RecordTab,
    filter_box,
    hint,
    item,
    read_only_table,
)
from desktop.widgets.common import section_label
from kb.convert import split_list
from kb.dto import Changes, DepartmentView, RoutingRuleView, ScriptView
from kb.service import STALE_DAYS


def _button_row(*widgets: QWidget, stretch_at: int | None = None) -> QHBoxLayout:
    row = QHBoxLayout()
    for i, w in enumerate(widgets):
        if stretch_at == i:
            row.addStretch(1)
        row.addWidget(w)
    if stretch_at is None or stretch_at >= len(widgets):
        row.addStretch(1)
    return row


class _FormTab(RecordTab):
    """Left: filter, table and count; right: a scrollable form with its buttons and inline error."""

    def _build(self, filters: QWidget, table: QTableWidget, form: QWidget, form_buttons: QHBoxLayout) -> None:
        self.import_button = QPushButton("导入…")
        self.export_button = QPushButton("导出…")
        self.import_button.setToolTip("从 Excel、CSV 或 JSON 文件导入（先检查，确认后才写入）")
        self.export_button.setToolTip("导出为 Excel、CSV 或 JSON 文件（字段名同导入）")
        self.count = hint("")
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(filters)
        lv.addWidget(table, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.import_button)
        bottom.addWidget(self.export_button)
        lv.addLayout(bottom)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(form)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(scroll, 1)
        rv.addWidget(self.error)
        rv.addLayout(form_buttons)

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
        self.import_button.clicked.connect(self.ask_import)
        self.export_button.clicked.connect(self.ask_export)
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)

    view_type: type = object  # the record dataclass the table rows carry

    def save(self) -> None:  # pragma: no cover - every tab overrides
        raise NotImplementedError

    def load(self, view: Any) -> None:  # pragma: no cover - every tab overrides
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

    def _save_record(self, data: dict[str, Any], save: Callable[..., tuple[Any, Changes]]) -> None:
        """Save ``data`` with the service call ``save(data, user=)`` on the write queue."""
        if self.current is None and data["external_id"] and any(r.external_id == data["external_id"]
                                                                 for r in self.rows):
            self.show_error(f"编号 {data['external_id']} 已被使用")
            return
        user = self.ctx.user

        def work() -> tuple[str, Changes]:
            view, changes = save(data, user=user)
            self.apply_to_engine(changes)
            return str(view.external_id), changes

        def done(result: tuple[str, Changes]) -> None:
            ext, changes = result
            self._select_after = ext
            self.committed(changes, f"已保存{self.title} {ext}")
            self.refresh()

        self.error.clear()
        self._write(work, done)

    def _delete_record(self, delete: Callable[..., Changes]) -> None:
        """Delete the current record with the service call ``delete(external_id, user=)``."""
        if self.current is None:
            return
        user, ext = self.ctx.user, self.current.external_id

        def work() -> Changes:
            changes = delete(ext, user=user)
            self.apply_to_engine(changes)
            return changes

        def done(changes: Changes) -> None:
            self.new()
            self.committed(changes, f"已删除{self.title} {ext}")
            self.refresh()

        self._write(work, done)

    @staticmethod
    def _select(table: QTableWidget, external_id: str) -> bool:
        for row in range(table.rowCount()):
            cell = table.item(row, 0)
            if cell is not None and cell.text() == external_id and not table.isRowHidden(row):
                table.selectRow(row)
                table.scrollToItem(cell)
                return True
        return False


# =================================================================== departments
DEPT_COLUMNS = ["编号", "名称", "层级", "属地", "电话", "办公时间", "核实"]


class DepartmentsTab(_FormTab):
    """承办单位: duties, phones, hours; stale ones (not verified for 180 days) flagged, "已核实" stamps today."""

    title = "承办单位"
    view_type = DepartmentView
    key = "departments"
    exchange_kind = "departments"

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.rows: list[DepartmentView] = []
        self.current: DepartmentView | None = None
        self._select_after: str | None = None

        self.filter = filter_box("筛选：名称、简称、职责、电话、属地、编号")
        self.only_stale = QCheckBox(f"只看待核实（超过 {STALE_DAYS} 天）")
        self.show_inactive = QCheckBox("含已停用")
        filters = QWidget()
        fl = QGridLayout(filters)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.filter, 0, 0, 1, 2)
        fl.addWidget(self.only_stale, 1, 0)
        fl.addWidget(self.show_inactive, 1, 1)
        self.table = read_only_table(DEPT_COLUMNS)
        self.table.setAccessibleName("承办单位列表")
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

        self.external_id = QLineEdit()
        self.external_id.setPlaceholderText("留空自动编号")
        self.name = QLineEdit()
        self.short_name = QLineEdit()
        self.level = QComboBox()
        for code, label in dd.LEVEL_LABELS.items():
            self.level.addItem(label, code)
        self.district = QLineEdit()
        self.district.setPlaceholderText("如 朝阳区（市级单位留空）")
        self.parent_dept = QComboBox()
        self.parent_dept.setAccessibleName("上级单位")
        self.duties = QPlainTextEdit()
        self.duties.setPlaceholderText("职责范围：派单时据此判断是否归口")
        self.duties.setMinimumHeight(90)
        self.phone = QLineEdit()
        self.phone.setPlaceholderText("对外服务电话")
        self.duty_phone = QLineEdit()
        self.duty_phone.setPlaceholderText("值班电话（非工作时间）")
        self.transfer_phone = QLineEdit()
        self.transfer_phone.setPlaceholderText("三方转接电话")
        self.hours = QLineEdit()
        self.hours.setPlaceholderText("如 工作日 9:00-17:00")
        self.address = QLineEdit()
        self.last_verified = QLineEdit()
        self.last_verified.setPlaceholderText("YYYY-MM-DD，空 = 从未核实")
        self.active = QCheckBox("启用（停用后不再出现在派单建议中）")
        self.active.setChecked(True)
        self.stale = QLabel("")
        self.stale.setObjectName("fieldError")
        self.stale.setWordWrap(True)
        form = QWidget()
        fv = QFormLayout(form)
        fv.addRow(section_label("承办单位"))
        fv.addRow("编号", self.external_id)
        fv.addRow("名称*", self.name)
        fv.addRow("简称", self.short_name)
        fv.addRow("层级", self.level)
        fv.addRow("属地", self.district)
        fv.addRow("上级单位", self.parent_dept)
        fv.addRow("职责", self.duties)
        fv.addRow("服务电话", self.phone)
        fv.addRow("值班电话", self.duty_phone)
        fv.addRow("转接电话", self.transfer_phone)
        fv.addRow("办公时间", self.hours)
        fv.addRow("地址", self.address)
        fv.addRow("最近核实", self.last_verified)
        fv.addRow("", self.stale)
        fv.addRow("", self.active)

        self.new_button = QPushButton("新建")
        self.save_button = QPushButton("保存")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("保存 (Ctrl+S)")
        self.verified_button = QPushButton("已核实")
        self.verified_button.setToolTip("已与该单位核对过电话、时间、职责：核实日期记为今天并保存")
        self.deactivate_button = ConfirmButton("停用", "再点一次确认停用")
        self.deactivate_button.setToolTip("承办单位不直接删除（条目、工单、规则引用它）：停用后不再用于派单")
        self._build(filters, self.table, form, _button_row(
            self.new_button, self.save_button, self.verified_button, self.deactivate_button, stretch_at=3))

        self.filter.textChanged.connect(lambda _t: self.apply_filter())
        self.only_stale.toggled.connect(lambda _on: self.apply_filter())
        self.show_inactive.toggled.connect(lambda _on: self.apply_filter())
        self.table.itemSelectionChanged.connect(self._selected)
        self.new_button.clicked.connect(self.new)
        self.save_button.clicked.connect(self.save)
        self.verified_button.clicked.connect(self.mark_verified)
        self.deactivate_button.confirmed.connect(self.toggle_active)
        self.new()

    # ------------------------------------------------------------ list
    def refresh(self) -> None:
        kb = self.ctx.kb
        self._read(lambda: kb.departments(include_inactive=True), self.set_rows)

    def set_rows(self, rows: list[DepartmentView]) -> None:
        today = self.ctx.current_day()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, d in enumerate(rows):
            stale = dd.is_stale(d, today)
            verified = d.last_verified.isoformat() if d.last_verified else "从未核实"
            cells = [item(d.external_id, data=d), item(d.name, tip=d.duties),
                     item(dd.LEVEL_LABELS.get(d.level, d.level)), item(d.district), item(d.phone), item(d.hours),
                     item(f"⚠ {verified}" if stale else verified, tip=dd.stale_text(d, today))]
            for j, cell in enumerate(cells):
                if stale and d.active:
                    cell.setBackground(STALE_BRUSH)
                if not d.active:
                    cell.setForeground(INACTIVE_BRUSH)
                self.table.setItem(i, j, cell)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(1, max(self.table.columnWidth(1), 220))
        self._fill_parents()
        self.apply_filter()
        if self._select_after and self._select(self.table, self._select_after):
            self._select_after = None

    def _fill_parents(self) -> None:
        current = self.parent_dept.currentData()
        self.parent_dept.blockSignals(True)
        self.parent_dept.clear()
        self.parent_dept.addItem("（无）", "")
        for d in self.rows:
            self.parent_dept.addItem(f"{d.name}  {d.external_id}", d.external_id)
        self.parent_dept.setCurrentIndex(max(self.parent_dept.findData(current), 0))
        self.parent_dept.blockSignals(False)

    def apply_filter(self) -> None:
        today = self.ctx.current_day()
        needle = self.filter.text().strip()
        shown = stale = 0
        for i, d in enumerate(self.rows):
            is_stale = d.active and dd.is_stale(d, today)
            stale += is_stale
            ok = ((not needle or dd.department_matches(d, needle))
                  and (self.show_inactive.isChecked() or d.active)
                  and (not self.only_stale.isChecked() or is_stale))
            self.table.setRowHidden(i, not ok)
            shown += ok
        self.count.setText(f"显示 {shown} / {len(self.rows)} 个单位；{stale} 个待核实（底色标出）")

    def stale_rows(self) -> list[str]:
        """External ids of the rows painted as stale (tests, screenshots)."""
        out = []
        for row in range(self.table.rowCount()):
            cell = self.table.item(row, 0)
            if cell is not None and cell.background() == STALE_BRUSH:
                out.append(cell.text())
        return out

    # ------------------------------------------------------------ form
    def new(self) -> None:
        super().new()
        self.name.setFocus()

    def load(self, d: DepartmentView | None) -> None:
        self.current = d
        rec: dict[str, Any] = dd.department_record(d) if d else {"level": "district", "active": True}
        self.external_id.setText(rec.get("external_id", ""))
        self.external_id.setReadOnly(d is not None)
        self.name.setText(rec.get("name", ""))
        self.short_name.setText(rec.get("short_name", ""))
        self.level.setCurrentIndex(max(self.level.findData(rec.get("level", "district")), 0))
        self.district.setText(rec.get("district", ""))
        self.parent_dept.setCurrentIndex(max(self.parent_dept.findData(rec.get("parent", "")), 0))
        self.duties.setPlainText(rec.get("duties", ""))
        self.phone.setText(rec.get("phone", ""))
        self.duty_phone.setText(rec.get("duty_phone", ""))
        self.transfer_phone.setText(rec.get("transfer_phone", ""))
        self.hours.setText(rec.get("hours", ""))
        self.address.setText(rec.get("address", ""))
        self.last_verified.setText(rec.get("last_verified", ""))
        self.active.setChecked(bool(rec.get("active", True)))
        today = self.ctx.current_day()
        stale = d is not None and dd.is_stale(d, today)
        self.stale.setText(f"⚠ 待核实：{dd.stale_text(d, today)}（超过 {STALE_DAYS} 天）" if stale and d else "")
        self.verified_button.setEnabled(d is not None)
        self.deactivate_button.setEnabled(d is not None)
        if d is not None:
            verb = "停用" if d.active else "启用"
            self.deactivate_button.set_label(verb, f"再点一次确认{verb}")
        self.error.clear()

    def record(self) -> dict[str, Any]:
        return {"external_id": self.external_id.text().strip(), "name": self.name.text().strip(),
                "short_name": self.short_name.text().strip(), "level": self.level.currentData(),
                "district": self.district.text().strip(), "parent": self.parent_dept.currentData() or "",
                "duties": self.duties.toPlainText().strip(), "phone": self.phone.text().strip(),
                "duty_phone": self.duty_phone.text().strip(), "transfer_phone": self.transfer_phone.text().strip(),
                "address": self.address.text().strip(), "hours": self.hours.text().strip(),
                "last_verified": self.last_verified.text().strip(), "active": self.active.isChecked()}

    def save(self, **override: Any) -> None:
        data = {**self.record(), **override}
        if self.current is None and data["external_id"] and any(
                d.external_id == data["external_id"] for d in self.rows):
            self.show_error(f"编号 {data['external_id']} 已被使用：请改用其他编号或在列表中选中它再编辑")
            return
        kb, user = self.ctx.kb, self.ctx.user

        def work() -> tuple[DepartmentView, Changes]:
            view, changes = kb.save_department(data, user=user, new=self.current is None)
            self.apply_to_engine(changes)
            return view, changes

        self.error.clear()
        self._write(work, self._saved)

    def _saved(self, result: tuple[DepartmentView, Changes]) -> None:
        view, changes = result
        self._select_after = view.external_id
        self.load(view)
        self.committed(changes, f"已保存承办单位 {view.external_id} {view.name}")
        self.refresh()

    def mark_verified(self) -> None:
        """Stamp today's date as the last verification and save the form."""
        if self.current is None:
            return
        today = self.ctx.current_day().isoformat()
        self.last_verified.setText(today)
        self.save(last_verified=today)

    def toggle_active(self) -> None:
        if self.current is None:
            return
        self.active.setChecked(not self.current.active)
        self.save()


# =================================================================== routing rules
RULE_COLUMNS = ["编号", "承办单位", "分类", "关键词", "属地", "优先级", "备注"]


class RulesTab(_FormTab):
    """路由规则: keywords/category/district → department, by priority (派单建议用)."""

    title = "路由规则"
    view_type = RoutingRuleView
    key = "rules"
    exchange_kind = "rules"

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.rows: list[RoutingRuleView] = []
        self.departments: dict[str, str] = {}  # external_id → name
        self.current: RoutingRuleView | None = None
        self._select_after: str | None = None

        self.filter = filter_box("筛选：关键词、承办单位、分类、属地、备注")
        self.show_inactive = QCheckBox("含已停用")
        self.show_inactive.setChecked(True)
        filters = QWidget()
        fl = QHBoxLayout(filters)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.filter, 1)
        fl.addWidget(self.show_inactive)
        self.table = read_only_table(RULE_COLUMNS)
        self.table.setAccessibleName("路由规则列表")
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

        self.external_id = QLineEdit()
        self.external_id.setPlaceholderText("留空自动编号")
        self.department = QComboBox()
        self.department.setAccessibleName("承办单位")
        self.category = QComboBox()
        self.category.setEditable(True)
        self.category.setAccessibleName("分类")
        category_edit = self.category.lineEdit()
        if category_edit is not None:
            category_edit.setPlaceholderText("一级/二级，如 供暖/供暖质量（可空）")
        self.keywords = QLineEdit()
        self.keywords.setPlaceholderText("关键词，用顿号或逗号分隔：暖气不热、室温不达标")
        self.district = QLineEdit()
        self.district.setPlaceholderText("只用于该区的来电（可空）")
        self.priority = QSpinBox()
        self.priority.setRange(0, 1000)
        self.priority.setValue(50)
        self.priority.setToolTip("多条规则同时命中时，优先级高的在前")
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("说明：为什么派这个单位、注意事项（坐席可见）")
        self.note.setMinimumHeight(80)
        self.active = QCheckBox("启用")
        self.active.setChecked(True)
        form = QWidget()
        fv = QFormLayout(form)
        fv.addRow(section_label("路由规则"))
        fv.addRow("编号", self.external_id)
        fv.addRow("承办单位*", self.department)
        fv.addRow("分类", self.category)
        fv.addRow("关键词", self.keywords)
        fv.addRow("属地", self.district)
        fv.addRow("优先级", self.priority)
        fv.addRow("备注", self.note)
        fv.addRow("", self.active)

        self.new_button = QPushButton("新建")
        self.save_button = QPushButton("保存")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("保存 (Ctrl+S)")
        self.delete_button = ConfirmButton("删除", "再点一次确认删除")
        self._build(filters, self.table, form, _button_row(
            self.new_button, self.save_button, self.delete_button, stretch_at=2))

        self.filter.textChanged.connect(lambda _t: self.apply_filter())
        self.show_inactive.toggled.connect(lambda _on: self.apply_filter())
        self.table.itemSelectionChanged.connect(self._selected)
        self.new_button.clicked.connect(self.new)
        self.save_button.clicked.connect(self.save)
        self.delete_button.confirmed.connect(self.delete)
        self.new()

    def refresh(self) -> None:
        kb = self.ctx.kb

        def load() -> tuple[list[RoutingRuleView], list[DepartmentView], list[str]]:
            return kb.routing_rules(), kb.departments(include_inactive=True), kb.categories()

        self._read(load, self.set_data)

    def set_data(self, data: tuple[list[RoutingRuleView], list[DepartmentView], list[str]]) -> None:
        rules, departments, categories = data
        self.departments = {d.external_id: d.name for d in departments}
        current = self.department.currentData()
        self.department.clear()
        self.department.addItem("（请选择）", "")
        for d in departments:
            self.department.addItem(f"{d.name}  {d.external_id}" + ("" if d.active else "（已停用）"), d.external_id)
        self.department.setCurrentIndex(max(self.department.findData(current), 0))
        text = self.category.currentText()
        self.category.clear()
        self.category.addItems(["", *categories])
        self.category.setEditText(text)
        self.rows = rules
        self.table.setRowCount(len(rules))
        for i, r in enumerate(rules):
            cells = [item(r.external_id, data=r), item(self.departments.get(r.department_external_id,
                                                                            r.department_external_id)),
                     item(r.category), item("、".join(r.keywords), tip="、".join(r.keywords)), item(r.district),
                     item(r.priority), item(r.note, tip=r.note)]
            for j, cell in enumerate(cells):
                if not r.active:
                    cell.setForeground(INACTIVE_BRUSH)
                self.table.setItem(i, j, cell)
        self.table.resizeColumnsToContents()
        for col, width in ((1, 200), (3, 260), (6, 240)):
            self.table.setColumnWidth(col, min(self.table.columnWidth(col), width))
        self.apply_filter()
        if self._select_after and self._select(self.table, self._select_after):
            self._select_after = None

    def apply_filter(self) -> None:
        needle = self.filter.text().strip()
        shown = 0
        for i, r in enumerate(self.rows):
            ok = ((not needle or dd.rule_matches(r, needle, self.departments.get(r.department_external_id, "")))
                  and (self.show_inactive.isChecked() or r.active))
            self.table.setRowHidden(i, not ok)
            shown += ok
        self.count.setText(f"显示 {shown} / {len(self.rows)} 条规则（优先级从高到低）")

    def load(self, r: RoutingRuleView | None) -> None:
        self.current = r
        rec: dict[str, Any] = dd.rule_record(r) if r else {"priority": 50, "active": True}
        self.external_id.setText(rec.get("external_id", ""))
        self.external_id.setReadOnly(r is not None)
        self.department.setCurrentIndex(max(self.department.findData(rec.get("department", "")), 0))
        self.category.setEditText(rec.get("category", ""))
        self.keywords.setText("、".join(rec.get("keywords", [])))
        self.district.setText(rec.get("district", ""))
        self.priority.setValue(int(rec.get("priority", 50)))
        self.note.setPlainText(rec.get("note", ""))
        self.active.setChecked(bool(rec.get("active", True)))
        self.delete_button.setEnabled(r is not None)
        self.error.clear()

    def record(self) -> dict[str, Any]:
        return {"external_id": self.external_id.text().strip(), "department": self.department.currentData() or "",
                "category": self.category.currentText().strip(),
                "keywords": list(split_list(self.keywords.text())), "district": self.district.text().strip(),
                "priority": self.priority.value(), "note": self.note.toPlainText().strip(),
                "active": self.active.isChecked()}

    def save(self) -> None:
        data = self.record()
        if not data["department"]:
            self.show_error("承办单位：请选择这条规则派往的单位")
            return
        if not data["keywords"] and not data["category"]:
            self.show_error("关键词和分类至少填一项，否则这条规则永远不会命中")
            return
        self._save_record(data, self.ctx.kb.save_rule)

    def delete(self) -> None:
        self._delete_record(self.ctx.kb.delete_rule)


# =================================================================== scripts
SCRIPT_COLUMNS = ["编号", "类型", "标题", "内容"]


class ScriptsTab(_FormTab):
    """话术: standard phrases with variables ({caller_name}, {department}, {phone} …), previewed with sample values."""

    title = "话术"
    view_type = ScriptView
    key = "scripts"
    exchange_kind = "scripts"

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.rows: list[ScriptView] = []
        self.current: ScriptView | None = None
        self._select_after: str | None = None

        self.filter = filter_box("筛选：标题、内容、编号")
        self.kind_filter = QComboBox()
        self.kind_filter.setAccessibleName("话术类型")
        filters = QWidget()
        fl = QHBoxLayout(filters)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.filter, 1)
        fl.addWidget(self.kind_filter)
        self.table = read_only_table(SCRIPT_COLUMNS)
        self.table.setAccessibleName("话术列表")
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)

        self.external_id = QLineEdit()
        self.external_id.setPlaceholderText("留空自动编号")
        self.kind = QComboBox()
        self.kind.setEditable(True)
        self.kind.setAccessibleName("类型")
        self.script_title = QLineEdit()
        self.body = QPlainTextEdit()
        self.body.setAccessibleName("话术内容")
        self.body.setMinimumHeight(110)
        var_row = QHBoxLayout()
        var_row.setContentsMargins(0, 0, 0, 0)
        var_row.addWidget(QLabel("插入变量："))
        self.var_buttons: dict[str, QPushButton] = {}
        for name, label in dd.SCRIPT_VARIABLES.items():
            b = QPushButton(label)
            b.setToolTip(f"插入 {{{name}}}")
            b.clicked.connect(lambda _c=False, n=name: self.insert_variable(n))
            self.var_buttons[name] = b
            var_row.addWidget(b)
        var_row.addStretch(1)
        self.samples: dict[str, QLineEdit] = {}
        sample_grid = QGridLayout()
        sample_grid.setContentsMargins(0, 0, 0, 0)
        for i, (name, label) in enumerate(dd.SCRIPT_VARIABLES.items()):
            edit = QLineEdit(dd.SAMPLE_VALUES.get(name, ""))
            edit.setAccessibleName(f"示例{label}")
            edit.setToolTip(f"{{{name}}} 的示例值（只用于预览）")
            self.samples[name] = edit
            sample_grid.addWidget(QLabel(label), i // 3, (i % 3) * 2)
            sample_grid.addWidget(edit, i // 3, (i % 3) * 2 + 1)
            edit.textChanged.connect(lambda _t: self.update_preview())
        self.preview = QTextBrowser()
        self.preview.setObjectName("answerScript")
        self.preview.setAccessibleName("话术预览")
        self.preview.setMinimumHeight(90)
        self.variables_note = hint("")
        form = QWidget()
        fv = QVBoxLayout(form)
        grid = QFormLayout()
        grid.addRow(section_label("话术"))
        grid.addRow("编号", self.external_id)
        grid.addRow("类型*", self.kind)
        grid.addRow("标题*", self.script_title)
        fv.addLayout(grid)
        fv.addWidget(QLabel("内容*（变量写成 {caller_name}，坐席使用时自动填入来电信息）"))
        fv.addWidget(self.body, 2)
        fv.addLayout(var_row)
        fv.addWidget(section_label("预览（示例值，可修改）"))
        fv.addLayout(sample_grid)
        fv.addWidget(self.preview, 1)
        fv.addWidget(self.variables_note)

        self.new_button = QPushButton("新建")
        self.save_button = QPushButton("保存")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("保存 (Ctrl+S)")
        self.delete_button = ConfirmButton("删除", "再点一次确认删除")
        self._build(filters, self.table, form, _button_row(
            self.new_button, self.save_button, self.delete_button, stretch_at=2))

        self.filter.textChanged.connect(lambda _t: self.apply_filter())
        self.kind_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.table.itemSelectionChanged.connect(self._selected)
        self.body.textChanged.connect(self.update_preview)
        self.new_button.clicked.connect(self.new)
        self.save_button.clicked.connect(self.save)
        self.delete_button.confirmed.connect(self.delete)
        self._fill_kinds([])
        self.new()

    def refresh(self) -> None:
        kb = self.ctx.kb
        self._read(lambda: kb.scripts(), self.set_rows)

    def _fill_kinds(self, kinds: list[str]) -> None:
        all_kinds = list(dict.fromkeys([*dd.SCRIPT_KIND_LABELS, *kinds]))
        wanted = self.kind_filter.currentData()
        self.kind_filter.blockSignals(True)
        self.kind_filter.clear()
        self.kind_filter.addItem("全部类型", "")
        for k in all_kinds:
            self.kind_filter.addItem(dd.SCRIPT_KIND_LABELS.get(k, k), k)
        self.kind_filter.setCurrentIndex(max(self.kind_filter.findData(wanted), 0))
        self.kind_filter.blockSignals(False)
        text = self.kind.currentText()
        self.kind.clear()
        for k in all_kinds:
            self.kind.addItem(dd.SCRIPT_KIND_LABELS.get(k, k), k)
        self.kind.setEditText(text)

    def set_rows(self, rows: list[ScriptView]) -> None:
        self.rows = rows
        self._fill_kinds([s.kind for s in rows])
        self.table.setRowCount(len(rows))
        for i, sc in enumerate(rows):
            first = sc.body.splitlines()[0] if sc.body else ""
            cells = [item(sc.external_id, data=sc), item(dd.SCRIPT_KIND_LABELS.get(sc.kind, sc.kind)),
                     item(sc.title), item(first, tip=sc.body)]
            for j, cell in enumerate(cells):
                self.table.setItem(i, j, cell)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(2, min(self.table.columnWidth(2), 200))
        self.apply_filter()
        if self._select_after and self._select(self.table, self._select_after):
            self._select_after = None
        elif self.current is not None:
            self.load(next((s for s in rows if s.external_id == self.current.external_id), None))

    def apply_filter(self) -> None:
        needle = self.filter.text().strip()
        kind = self.kind_filter.currentData() or ""
        shown = 0
        for i, sc in enumerate(self.rows):
            ok = (not needle or dd.script_matches(sc, needle)) and (not kind or sc.kind == kind)
            self.table.setRowHidden(i, not ok)
            shown += ok
        self.count.setText(f"显示 {shown} / {len(self.rows)} 条话术")

    def load(self, sc: ScriptView | None) -> None:
        self.current = sc
        self.external_id.setText(sc.external_id if sc else "")
        self.external_id.setReadOnly(sc is not None)
        kind = sc.kind if sc else str(self.kind_filter.currentData() or "greeting")
        index = self.kind.findData(kind)
        if index >= 0:
            self.kind.setCurrentIndex(index)
        else:
            self.kind.setEditText(kind)
        self.script_title.setText(sc.title if sc else "")
        self.body.setPlainText(sc.body if sc else "")
        self.delete_button.setEnabled(sc is not None)
        self.error.clear()
        self.update_preview()

    def insert_variable(self, name: str) -> None:
        self.body.insertPlainText(f"{{{name}}}")
        self.body.setFocus()

    def sample_values(self) -> dict[str, str]:
        return {name: edit.text().strip() for name, edit in self.samples.items()}

    def update_preview(self) -> None:
        body = self.body.toPlainText()
        self.preview.setHtml(dd.preview_html(body, self.sample_values()))
        used = dd.script_variables(body)
        unknown = dd.unknown_variables(body)
        parts = []
        if used:
            parts.append("用到的变量：" + "、".join(f"{{{v}}}" for v in used))
        if unknown:
            parts.append("⚠ 未知变量（坐席看到的是空白 ____）：" + "、".join(f"{{{v}}}" for v in unknown)
                         + "；可用：" + "、".join(f"{{{v}}}" for v in dd.SCRIPT_VARIABLES))
        self.variables_note.setText("；".join(parts))

    def preview_text(self) -> str:
        return dd.fill_script(self.body.toPlainText(), self.sample_values())

    def _kind_code(self) -> str:
        text = self.kind.currentText().strip()
        index = self.kind.currentIndex()
        if index >= 0 and self.kind.itemText(index) == text:
            return str(self.kind.itemData(index))
        for code, label in dd.SCRIPT_KIND_LABELS.items():
            if label == text:
                return code
        return text

    def record(self) -> dict[str, Any]:
        return {"external_id": self.external_id.text().strip(), "kind": self._kind_code(),
                "title": self.script_title.text().strip(), "body": self.body.toPlainText().strip()}

    def save(self) -> None:
        self._save_record(self.record(), self.ctx.kb.save_script)

    def delete(self) -> None:
        self._delete_record(self.ctx.kb.delete_script)
