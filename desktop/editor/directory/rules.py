"""路由规则 (routing rules): keywords, category and district → the department a case goes to."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from desktop.editor.directory.common import DirectoryContext, FormTab
from desktop.editor.directory.widgets import INACTIVE_BRUSH, item, refill
from desktop.widgets.common import section_label
from kb.convert import split_list
from kb.dto import DepartmentView, RoutingRuleView


def rule_record(r: RoutingRuleView) -> dict[str, Any]:
    return {"external_id": r.external_id, "department": r.department_external_id, "category": r.category,
            "keywords": list(r.keywords), "district": r.district, "priority": r.priority, "note": r.note,
            "active": r.active}


def rule_matches(r: RoutingRuleView, needle: str, department_name: str = "") -> bool:
    hay = " ".join((r.external_id, r.department_external_id, department_name, r.category, r.district, r.note,
                    *r.keywords))
    return needle.lower() in hay.lower()


class RulesTab(FormTab):
    """路由规则: keywords/category/district → department, by priority (派单建议用)."""

    title = "路由规则"
    view_type = RoutingRuleView
    key = "rules"
    exchange_kind = "rules"
    columns = ("编号", "承办单位", "分类", "关键词", "属地", "优先级", "备注")
    stretch_column = 3
    filter_placeholder = "筛选：关键词、承办单位、分类、属地、备注"
    rows: list[RoutingRuleView]
    current: RoutingRuleView | None

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.departments: dict[str, str] = {}  # external_id → name
        self.show_inactive = QCheckBox("含已停用")
        self.show_inactive.setChecked(True)

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

        self.delete_button = self.delete_button_for(self.ctx.kb.directory.delete_rule)
        self._build(self._filter_row(self.show_inactive), form, [self.delete_button])

        self.show_inactive.toggled.connect(lambda _on: self.apply_filter())
        self.new()

    def refresh(self) -> None:
        kb = self.ctx.kb

        def load() -> tuple[list[RoutingRuleView], list[DepartmentView], list[str]]:
            return (kb.directory.routing_rules(), kb.directory.departments(include_inactive=True),
                    kb.entries.categories())

        self._read(load, self.set_data)

    def set_data(self, data: tuple[list[RoutingRuleView], list[DepartmentView], list[str]]) -> None:
        rules, departments, categories = data
        self.departments = {d.external_id: d.name for d in departments}
        choices = [(f"{d.name}  {d.external_id}" + ("" if d.active else "（已停用）"), d.external_id)
                   for d in departments]
        refill(self.department, [("（请选择）", ""), *choices])
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
        self._filter_and_reselect()

    def apply_filter(self) -> None:
        needle = self.filter.text().strip()
        shown = 0
        for i, r in enumerate(self.rows):
            ok = ((not needle or rule_matches(r, needle, self.departments.get(r.department_external_id, "")))
                  and (self.show_inactive.isChecked() or r.active))
            self.table.setRowHidden(i, not ok)
            shown += ok
        self.count.setText(f"显示 {shown} / {len(self.rows)} 条规则（优先级从高到低）")

    def load(self, r: RoutingRuleView | None) -> None:
        self.current = r
        rec: dict[str, Any] = rule_record(r) if r else {"priority": 50, "active": True}
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
        self._save_record(data, self.ctx.kb.directory.save_rule)
