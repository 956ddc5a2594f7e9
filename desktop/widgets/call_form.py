"""Call form: request type, description (live), address, handling, department, deadline."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import QDateTime, Qt, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QCompleter,
    QDateTimeEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.drafts import Call
from desktop.widgets.common import section_label
from kb import vocab
from kb.dto import DepartmentView

DEFAULT_DUE_HOURS = 24


class CallForm(QWidget):
    """The work order being written. Validation messages appear under the offending field."""

    description_changed = Signal(str)
    address_changed = Signal(str)
    request_type_changed = Signal(str)
    handling_changed = Signal(str)
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callForm")
        self._due_manual = False
        self._entry = ("", "")

        self.request_type = QComboBox()
        self.request_type.setAccessibleName("诉求类型")
        for code, label in vocab.REQUEST_TYPES.items():
            self.request_type.addItem(label, code)

        self.text = QPlainTextEdit()
        self.text.setObjectName("descriptionEdit")
        self.text.setAccessibleName("诉求内容")
        self.text.setPlaceholderText("边听边记：来电人的诉求……")
        self.text.setTabChangesFocus(True)
        self.text.setMinimumHeight(90)

        self.address = QLineEdit()
        self.address.setAccessibleName("地址")
        self.address.setPlaceholderText("区 / 街道 / 小区 门牌")

        self.handling = QComboBox()
        self.handling.setAccessibleName("办理方式")
        for code, label in vocab.HANDLINGS.items():
            self.handling.addItem(label, code)

        self.department = QComboBox()
        self.department.setAccessibleName("承办单位")
        self.department.setEditable(True)
        self.department.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        edit, completer = self.department.lineEdit(), self.department.completer()
        assert edit is not None and completer is not None  # editable combos have both
        edit.setPlaceholderText("Alt+数字 选用推荐单位，或输入名称")
        edit.setAccessibleName("承办单位")  # the combo's own text field: a screen reader stops on it
        completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.department.setMinimumContentsLength(12)
        self.department.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)

        self.due = QDateTimeEdit()
        self.due.setAccessibleName("办理时限")
        self.due.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.due.setCalendarPopup(True)
        self.due_hint = QLabel()
        self.due_hint.setObjectName("hintLabel")
        self.due_hint.setToolTip("派单时按诉求类型和紧急程度自动计算；手动修改后不再自动调整")

        self.entry_label = QLabel("未选用")
        self.entry_label.setObjectName("entryLabel")
        self.entry_label.setAccessibleDescription("选用的口径")
        self.entry_label.setWordWrap(True)
        self.entry_clear = QToolButton()
        self.entry_clear.setText("清除(&E)")
        self.entry_clear.setAccessibleName("清除选用的口径")
        self.entry_clear.clicked.connect(lambda: self.set_entry("", ""))

        # After a save the form is a summary of the saved order: the choices are locked, and typing
        # in a text field starts the next call (the window watches for that).
        self.saved_note = QLabel()
        self.saved_note.setObjectName("hintLabel")
        self.saved_note.setAccessibleDescription("已保存的工单")
        self.saved_note.setWordWrap(True)
        self.saved_note.hide()

        self.errors: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # large fonts: the field below its label
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self._add_row(form, "诉求类型(&T)", "request_type", self.request_type)
        self._add_row(form, "诉求内容(&D)", "text", self.text)
        self._add_row(form, "地址(&A)", "address", self.address)
        self._add_row(form, "办理方式(&H)", "handling", self.handling)
        self._add_row(form, "承办单位(&U)", "department", self.department)
        due_row = QHBoxLayout()
        due_row.setContentsMargins(0, 0, 0, 0)
        due_row.addWidget(self.due, 3)
        due_row.addWidget(self.due_hint, 1)
        due_box = QWidget()
        due_box.setLayout(due_row)
        self._add_row(form, "办理时限(&L)", "due_at", due_box, buddy=self.due)
        entry_row = QHBoxLayout()
        entry_row.setContentsMargins(0, 0, 0, 0)
        entry_row.addWidget(self.entry_label, 1)
        entry_row.addWidget(self.entry_clear)
        entry_box = QWidget()
        entry_box.setLayout(entry_row)
        self._add_row(form, "选用口径", "entry", entry_box)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(section_label("工单"))
        outer.addWidget(self.saved_note)
        outer.addLayout(form, 1)

        self.text.textChanged.connect(self._on_text)
        self.address.textChanged.connect(self.address_changed)
        self.address.textEdited.connect(lambda _t: self.edited.emit())
        self.request_type.currentIndexChanged.connect(self._on_request_type)
        self.handling.currentIndexChanged.connect(self._on_handling)
        self.department.currentIndexChanged.connect(lambda _i: self._clear_error("department"))
        self.department.currentIndexChanged.connect(lambda _i: self.edited.emit())
        self.due.dateTimeChanged.connect(self._on_due_edited)
        self.set_due_at(None)
        self._on_handling()

        QWidget.setTabOrder(self.request_type, self.text)
        QWidget.setTabOrder(self.text, self.address)
        QWidget.setTabOrder(self.address, self.handling)
        QWidget.setTabOrder(self.handling, self.department)
        QWidget.setTabOrder(self.department, self.due)
        QWidget.setTabOrder(self.due, self.entry_clear)

    def _add_row(self, form: QFormLayout, label: str, key: str, field: QWidget,
                 buddy: QWidget | None = None) -> None:
        error = QLabel()
        error.setObjectName("fieldError")
        error.setWordWrap(True)
        error.hide()
        self.errors[key] = error
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(1)
        col.addWidget(field)
        col.addWidget(error)
        caption = QLabel(label)
        caption.setBuddy(buddy or field)
        form.addRow(caption, box)

    # ------------------------------------------------------------- signals
    def _on_text(self) -> None:
        self._clear_error("text")
        self.description_changed.emit(self.text.toPlainText())
        self.edited.emit()

    def _on_request_type(self) -> None:
        self.request_type_changed.emit(self.request_type_code)
        self.edited.emit()

    def _on_handling(self) -> None:
        dispatched = self.handling_code == "dispatched"
        self.due.setEnabled(dispatched)
        if not dispatched:
            self._clear_error("department")
        self.due_hint.setText(self.due_hint.text() if dispatched else "无需时限")
        self.handling_changed.emit(self.handling_code)
        self.edited.emit()

    def _on_due_edited(self) -> None:
        if self.due.hasFocus():
            self._due_manual = True
            self.due_hint.setText("手动设置")
        self.edited.emit()

    # ------------------------------------------------------------- values
    @property
    def request_type_code(self) -> str:
        return str(self.request_type.currentData())

    @property
    def handling_code(self) -> str:
        return str(self.handling.currentData())

    @property
    def department_code(self) -> str:
        """External id of the chosen department ("" when none or free text not matching one)."""
        idx = self.department.currentIndex()
        if idx < 0 or self.department.currentText() != self.department.itemText(idx):
            return ""
        return str(self.department.itemData(idx) or "")

    def set_departments(self, departments: Sequence[DepartmentView]) -> None:
        current = self.department_code
        self.department.blockSignals(True)
        self.department.clear()
        # No blank first item (a screen reader would read it as nothing): "none" is index -1.
        for d in departments:
            phone = f"  {d.phone}" if d.phone else ""
            self.department.addItem(f"{d.name}{phone}", d.external_id)
        self.department.setCurrentIndex(-1)
        self.department.blockSignals(False)
        self.select_department(current)

    def select_department(self, external_id: str) -> bool:
        idx = self.department.findData(external_id) if external_id else -1  # "" selects none
        if idx < 0 and external_id:
            return False
        self.department.setCurrentIndex(idx)
        return True

    def set_request_type(self, code: str) -> None:
        idx = self.request_type.findData(code)
        if idx >= 0:
            self.request_type.setCurrentIndex(idx)

    def set_handling(self, code: str) -> None:
        idx = self.handling.findData(code)
        if idx >= 0:
            self.handling.setCurrentIndex(idx)

    def set_due_at(self, due: datetime | None, *, auto: bool = True) -> None:
        """Deadline from the rules (``auto``) unless the agent set one by hand."""
        if auto and self._due_manual:
            return
        self.due.blockSignals(True)
        if due is None:  # until the rules are known: the general 24-hour fallback
            self.due.setDateTime(QDateTime.currentDateTime().addSecs(DEFAULT_DUE_HOURS * 3600))
        else:
            self.due.setDateTime(QDateTime(due))
        self.due.blockSignals(False)
        if self.handling_code == "dispatched":
            self.due_hint.setText("自动计算" if auto and due else "")

    @property
    def due_at(self) -> datetime | None:
        if self.handling_code != "dispatched":
            return None
        value = self.due.dateTime().toPython()
        assert isinstance(value, datetime)
        return value.replace(second=0, microsecond=0)

    def set_entry(self, external_id: str, title: str) -> None:
        self._entry = (external_id, title)
        self.entry_label.setText(f"{external_id}  {title}" if external_id else "未选用")
        self.entry_clear.setEnabled(bool(external_id))
        self.edited.emit()

    @property
    def entry(self) -> tuple[str, str]:
        return self._entry

    def read(self, draft: Call) -> Call:
        """``draft`` with the form's current values."""
        return draft.with_(request_type=self.request_type_code, text=self.text.toPlainText(),
                           address=self.address.text(), handling=self.handling_code,
                           department=self.department_code, due_at=self.due_at,
                           entry=self._entry[0], entry_title=self._entry[1])

    def load(self, draft: Call) -> None:
        self._due_manual = False
        self.set_request_type(draft.request_type)
        self.text.setPlainText(draft.text)
        self.address.setText(draft.address)
        self.set_handling(draft.handling)
        self.select_department(draft.department)
        self.set_due_at(draft.due_at)
        self.set_entry(draft.entry, draft.entry_title)
        self.clear_errors()

    def set_saved(self, note: str | None) -> None:
        """``note`` shown and the choices locked while the form shows a saved order; None unlocks."""
        locked = note is not None
        choices = (self.request_type, self.handling, self.department, self.due, self.entry_clear)
        focus = QApplication.focusWidget()
        if locked and focus is not None and any(w is focus or w.isAncestorOf(focus) for w in choices):
            self.text.setFocus(Qt.FocusReason.OtherFocusReason)  # a disabled widget would pass it on anywhere
        if locked:
            self.clear_errors()
        self.saved_note.setText(note or "")
        self.saved_note.setVisible(locked)
        for w in choices:
            w.setEnabled(not locked and (w is not self.due or self.handling_code == "dispatched")
                         and (w is not self.entry_clear or bool(self._entry[0])))

    # ----------------------------------------------------------- validation
    def validate(self) -> dict[str, str]:
        """Messages by field for what the agent must fix before saving."""
        problems: dict[str, str] = {}
        if not self.text.toPlainText().strip():
            problems["text"] = "请填写诉求内容"
        if self.handling_code == "dispatched":
            if not self.department_code:
                problems["department"] = "派单需要选择承办单位（Alt+1…9 选用推荐单位）"
            due = self.due_at
            if self._due_manual and due is not None and due < datetime.now().replace(second=0, microsecond=0):
                problems["due_at"] = "办理时限早于当前时间"
        return problems

    def show_errors(self, problems: dict[str, str]) -> QWidget | None:
        """Show messages under their fields; returns the first field to focus."""
        self.clear_errors()
        first: QWidget | None = None
        order = ["request_type", "text", "address", "handling", "department", "due_at", "entry"]
        targets = {"request_type": self.request_type, "text": self.text, "address": self.address,
                   "handling": self.handling, "department": self.department, "due_at": self.due,
                   "entry": self.entry_clear}
        for key in order:
            if key in problems:
                self.errors[key].setText(problems[key])
                self.errors[key].show()
                targets[key].setAccessibleDescription(problems[key])
                first = first or targets[key]
        return first

    def _clear_error(self, key: str) -> None:
        label = self.errors.get(key)
        if label is not None and not label.isHidden():
            label.hide()

    def clear_errors(self) -> None:
        for label in self.errors.values():
            label.hide()
