"""话术 (scripts): standard phrases with variables the agent workspace fills from the call, previewed here."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.editor.directory.common import DirectoryContext, FormTab
from desktop.editor.directory.widgets import hint, item, refill
from desktop.widgets.common import section_label
from kb.dto import ScriptView
from kb.vocab import SCRIPT_KINDS

SCRIPT_KIND_LABELS = SCRIPT_KINDS.labels
# Variables a script may use; the agent workspace fills them from the call (desktop.main_window.fill_script).
SCRIPT_VARIABLES: dict[str, str] = {"caller_name": "来电人称呼", "department": "承办单位", "phone": "电话",
                                    "seat": "工号", "due_at": "办理时限"}
SAMPLE_VALUES: dict[str, str] = {"caller_name": "张先生", "department": "朝阳区城市管理委员会",
                                 "phone": "010-65001234", "seat": "0123", "due_at": "12月3日17:00"}
BLANK = "____"
_VAR_RE = re.compile(r"\{(\w+)\}")


def script_matches(sc: ScriptView, needle: str) -> bool:
    return needle.lower() in " ".join((sc.external_id, sc.kind, sc.title, sc.body)).lower()


def script_variables(body: str) -> list[str]:
    """Variable names used in ``body``, in order of first use."""
    return list(dict.fromkeys(_VAR_RE.findall(body)))


def unknown_variables(body: str) -> list[str]:
    return [v for v in script_variables(body) if v not in SCRIPT_VARIABLES]


def fill_script(body: str, values: Mapping[str, str]) -> str:
    """Same rule as the agent workspace: a missing or empty value becomes a blank to say."""
    return _VAR_RE.sub(lambda mt: values.get(mt.group(1)) or BLANK, body)


def preview_html(body: str, values: Mapping[str, str]) -> str:
    """The filled script as HTML: filled values highlighted, unknown variables in red."""
    parts: list[str] = []
    last = 0
    for mt in _VAR_RE.finditer(body):
        parts.append(html.escape(body[last:mt.start()]))
        name = mt.group(1)
        if name not in SCRIPT_VARIABLES:
            parts.append(f'<span style="color:#c40000;font-weight:bold;">{html.escape(mt.group(0))}</span>')
        else:
            value = values.get(name) or BLANK
            parts.append(f'<span style="background-color:#e3f0ff;color:#0b3d91;">{html.escape(value)}</span>')
        last = mt.end()
    parts.append(html.escape(body[last:]))
    return "".join(parts).replace("\n", "<br>")


class ScriptsTab(FormTab):
    """话术: standard phrases with variables ({caller_name}, {department}, {phone} …), previewed with sample values."""

    title = "话术"
    view_type = ScriptView
    key = "scripts"
    exchange_kind = "scripts"
    columns = ("编号", "类型", "标题", "内容")
    stretch_column = 3
    filter_placeholder = "筛选：标题、内容、编号"
    rows: list[ScriptView]
    current: ScriptView | None

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.kind_filter = QComboBox()
        self.kind_filter.setAccessibleName("话术类型")

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
        for name, label in SCRIPT_VARIABLES.items():
            b = QPushButton(label)
            b.setToolTip(f"插入 {{{name}}}")
            b.clicked.connect(lambda _c=False, n=name: self.insert_variable(n))
            self.var_buttons[name] = b
            var_row.addWidget(b)
        var_row.addStretch(1)
        self.samples: dict[str, QLineEdit] = {}
        sample_grid = QGridLayout()
        sample_grid.setContentsMargins(0, 0, 0, 0)
        for i, (name, label) in enumerate(SCRIPT_VARIABLES.items()):
            edit = QLineEdit(SAMPLE_VALUES.get(name, ""))
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

        self.delete_button = self.delete_button_for(self.ctx.kb.directory.delete_script)
        self._build(self._filter_row(self.kind_filter), form, [self.delete_button])

        self.kind_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.body.textChanged.connect(self.update_preview)
        self._fill_kinds([])
        self.new()

    def refresh(self) -> None:
        kb = self.ctx.kb
        self._read(lambda: kb.directory.scripts(), self.set_rows)

    def _fill_kinds(self, kinds: list[str]) -> None:
        all_kinds = list(dict.fromkeys([*SCRIPT_KIND_LABELS, *kinds]))
        refill(self.kind_filter, [("全部类型", ""), *((SCRIPT_KIND_LABELS.get(k, k), k) for k in all_kinds)])
        text = self.kind.currentText()
        self.kind.clear()
        for k in all_kinds:
            self.kind.addItem(SCRIPT_KIND_LABELS.get(k, k), k)
        self.kind.setEditText(text)

    def set_rows(self, rows: list[ScriptView]) -> None:
        self.rows = rows
        self._fill_kinds([s.kind for s in rows])
        self.table.setRowCount(len(rows))
        for i, sc in enumerate(rows):
            first = sc.body.splitlines()[0] if sc.body else ""
            cells = [item(sc.external_id, data=sc), item(SCRIPT_KIND_LABELS.get(sc.kind, sc.kind)),
                     item(sc.title), item(first, tip=sc.body)]
            for j, cell in enumerate(cells):
                self.table.setItem(i, j, cell)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(2, min(self.table.columnWidth(2), 200))
        if not self._filter_and_reselect() and self.current is not None:
            self.load(next((s for s in rows if s.external_id == self.current.external_id), None))

    def apply_filter(self) -> None:
        needle = self.filter.text().strip()
        kind = self.kind_filter.currentData() or ""
        shown = 0
        for i, sc in enumerate(self.rows):
            ok = (not needle or script_matches(sc, needle)) and (not kind or sc.kind == kind)
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
        self.preview.setHtml(preview_html(body, self.sample_values()))
        used = script_variables(body)
        unknown = unknown_variables(body)
        parts = []
        if used:
            parts.append("用到的变量：" + "、".join(f"{{{v}}}" for v in used))
        if unknown:
            parts.append("⚠ 未知变量（坐席看到的是空白 ____）：" + "、".join(f"{{{v}}}" for v in unknown)
                         + "；可用：" + "、".join(f"{{{v}}}" for v in SCRIPT_VARIABLES))
        self.variables_note.setText("；".join(parts))

    def preview_text(self) -> str:
        return fill_script(self.body.toPlainText(), self.sample_values())

    def _kind_code(self) -> str:
        text = self.kind.currentText().strip()
        index = self.kind.currentIndex()
        if index >= 0 and self.kind.itemText(index) == text:
            return str(self.kind.itemData(index))
        for code, label in SCRIPT_KIND_LABELS.items():
            if label == text:
                return code
        return text

    def record(self) -> dict[str, Any]:
        return {"external_id": self.external_id.text().strip(), "kind": self._kind_code(),
                "title": self.script_title.text().strip(), "body": self.body.toPlainText().strip()}

    def save(self) -> None:
        self._save_record(self.record(), self.ctx.kb.directory.save_script)
