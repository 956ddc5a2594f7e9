"""承办单位 (departments): the tab, and which of them are due for re-verification."""

from __future__ import annotations

import functools
from datetime import date, timedelta
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)

from desktop.editor.directory.common import DirectoryContext, FormTab
from desktop.editor.directory.widgets import (
    INACTIVE_BRUSH,
    STALE_BRUSH,
    ConfirmButton,
    item,
    refill,
)
from desktop.widgets.common import section_label
from kb.dto import DepartmentView
from kb.services.entries import STALE_DAYS
from kb.vocab import DEPARTMENT_LEVELS

LEVEL_LABELS = DEPARTMENT_LEVELS.labels


def stale_since(today: date) -> date:
    return today - timedelta(days=STALE_DAYS)


def is_stale(d: DepartmentView, today: date) -> bool:
    """Not verified within :data:`kb.services.entries.STALE_DAYS` days (or never)."""
    return d.last_verified is None or d.last_verified < stale_since(today)


def stale_text(d: DepartmentView, today: date) -> str:
    if d.last_verified is None:
        return "从未核实"
    return f"上次核实 {d.last_verified.isoformat()}，已 {(today - d.last_verified).days} 天"


def department_record(d: DepartmentView) -> dict[str, Any]:
    """The view as the import field names ``save_department`` takes."""
    return {"external_id": d.external_id, "name": d.name, "short_name": d.short_name, "level": d.level,
            "district": d.district, "parent": d.parent_external_id, "duties": d.duties, "phone": d.phone,
            "duty_phone": d.duty_phone, "transfer_phone": d.transfer_phone, "address": d.address,
            "hours": d.hours, "last_verified": d.last_verified.isoformat() if d.last_verified else "",
            "active": d.active}


def department_matches(d: DepartmentView, needle: str) -> bool:
    hay = " ".join((d.external_id, d.name, d.short_name, d.district, d.duties, d.phone, d.duty_phone,
                    d.transfer_phone, d.address))
    return needle.lower() in hay.lower()


class DepartmentsTab(FormTab):
    """承办单位: duties, phones, hours; stale ones (not verified for 180 days) flagged, "已核实" stamps today."""

    title = "承办单位"
    view_type = DepartmentView
    key = "departments"
    exchange_kind = "departments"
    columns = ("编号", "名称", "层级", "属地", "电话", "办公时间", "核实")
    stretch_column = 1
    filter_placeholder = "筛选：名称、简称、职责、电话、属地、编号"
    rows: list[DepartmentView]
    current: DepartmentView | None

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.only_stale = QCheckBox(f"只看待核实（超过 {STALE_DAYS} 天）")
        self.show_inactive = QCheckBox("含已停用")
        filters = QWidget()
        fl = QGridLayout(filters)
        fl.setContentsMargins(0, 0, 0, 0)
        fl.addWidget(self.filter, 0, 0, 1, 2)
        fl.addWidget(self.only_stale, 1, 0)
        fl.addWidget(self.show_inactive, 1, 1)

        self.name = QLineEdit()
        self.short_name = QLineEdit()
        self.level = QComboBox()
        for code, label in LEVEL_LABELS.items():
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

        self.verified_button = QPushButton("已核实")
        self.verified_button.setToolTip("已与该单位核对过电话、时间、职责：核实日期记为今天并保存")
        self.deactivate_button = ConfirmButton("停用", "再点一次确认停用")
        self.deactivate_button.setToolTip("承办单位不直接删除（条目、工单、规则引用它）：停用后不再用于派单")
        self._build(filters, form, [self.verified_button, self.deactivate_button])

        self.only_stale.toggled.connect(lambda _on: self.apply_filter())
        self.show_inactive.toggled.connect(lambda _on: self.apply_filter())
        self.verified_button.clicked.connect(self.mark_verified)
        self.deactivate_button.confirmed.connect(self.toggle_active)
        self.new()

    # ------------------------------------------------------------ list
    def refresh(self) -> None:
        kb = self.ctx.kb
        self._read(lambda: kb.directory.departments(include_inactive=True), self.set_rows)

    def set_rows(self, rows: list[DepartmentView]) -> None:
        today = self.ctx.current_day()
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, d in enumerate(rows):
            stale = is_stale(d, today)
            verified = d.last_verified.isoformat() if d.last_verified else "从未核实"
            cells = [item(d.external_id, data=d), item(d.name, tip=d.duties),
                     item(LEVEL_LABELS.get(d.level, d.level)), item(d.district), item(d.phone), item(d.hours),
                     item(f"⚠ {verified}" if stale else verified, tip=stale_text(d, today))]
            for j, cell in enumerate(cells):
                if stale and d.active:
                    cell.setBackground(STALE_BRUSH)
                if not d.active:
                    cell.setForeground(INACTIVE_BRUSH)
                self.table.setItem(i, j, cell)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(1, max(self.table.columnWidth(1), 220))
        self._fill_parents()
        self._filter_and_reselect()

    def _fill_parents(self) -> None:
        refill(self.parent_dept, [("（无）", ""), *((f"{d.name}  {d.external_id}", d.external_id) for d in self.rows)])

    def apply_filter(self) -> None:
        today = self.ctx.current_day()
        needle = self.filter.text().strip()
        shown = stale = 0
        for i, d in enumerate(self.rows):
            flagged = d.active and is_stale(d, today)
            stale += flagged
            ok = ((not needle or department_matches(d, needle))
                  and (self.show_inactive.isChecked() or d.active)
                  and (not self.only_stale.isChecked() or flagged))
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
        rec: dict[str, Any] = department_record(d) if d else {"level": "district", "active": True}
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
        stale = d is not None and is_stale(d, today)
        self.stale.setText(f"⚠ 待核实：{stale_text(d, today)}（超过 {STALE_DAYS} 天）" if stale and d else "")
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
        self._save_record({**self.record(), **override},
                          functools.partial(self.ctx.kb.directory.save_department, new=self.current is None))

    def saved_message(self, view: DepartmentView) -> str:
        return f"已保存承办单位 {view.external_id} {view.name}"

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

