"""Entry form with a live preview exactly as the agent sees the entry, and the workflow buttons."""

from __future__ import annotations

from datetime import date, datetime

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop.editor.texts import error_text
from desktop.widgets.answer_view import AnswerView
from desktop.widgets.common import section_label
from desktop.widgets.layout import FlowLayout, ScrollPane, lines_tall
from kb.convert import parse_date, split_list
from kb.dto import DepartmentView, EntryDraft, EntryView
from kb.editorial import STATUS_LABELS, allowed_transitions, draft_of
from kb.errors import ValidationError
from kb.vocab import STATUS_ACTIONS

PREVIEW_DEBOUNCE_MS = 120
# Workflow buttons: target status → label with its Alt+letter.
TRANSITION_LABELS: dict[str, str] = {status: f"{label}(&{STATUS_ACTIONS.keys[status]})"
                                     for status, label in STATUS_ACTIONS.items()}


class EntryForm(QWidget):
    """Edits one entry. Emits requests; the workspace does the saving in the background.

    ``entry`` is the saved entry being edited (``None`` for a new one) and
    ``base_revision`` the revision the edit started from (the optimistic check).
    """

    save_requested = Signal(object)  # EntryDraft
    transition_requested = Signal(str)  # target status
    new_requested = Signal()

    def __init__(self, user: str, parent: QWidget | None = None, *, today: date | None = None) -> None:
        super().__init__(parent)
        self.user = user
        self.today = today
        self.entry: EntryView | None = None
        self.base_revision: int | None = None
        self._departments: dict[str, DepartmentView] = {}
        self._loading = False
        self.dirty = False

        self.heading = QLabel("新建条目")
        self.heading.setObjectName("sectionLabel")
        self.meta = QLabel("")
        self.meta.setObjectName("hintLabel")
        self.meta.setWordWrap(True)
        self.title = QLineEdit()
        self.title.setPlaceholderText("来电人会怎么问，例如：社保卡丢失如何补办")
        self.aliases = QPlainTextEdit()
        self.aliases.setPlaceholderText("其他问法，每行一个")
        self.aliases.setTabChangesFocus(True)  # Tab goes on to the next field, never into the text
        lines_tall(self.aliases, 2.5, fixed=True)
        self.keywords = QLineEdit()
        self.keywords.setPlaceholderText("关键词，用、或逗号分隔")
        self.answer = QPlainTextEdit()
        self.answer.setPlaceholderText("答复口径：坐席照读给来电人的话")
        self.answer.setTabChangesFocus(True)
        lines_tall(self.answer, 4)
        self.basis = QLineEdit()
        self.basis.setPlaceholderText("政策依据：文件名称、文号或链接")
        self.valid_from = QLineEdit()
        self.valid_from.setPlaceholderText("2026-01-01（可空）")
        self.valid_to = QLineEdit()
        self.valid_to.setPlaceholderText("可空：长期有效")
        self.department = QComboBox()
        self.department.setEditable(False)
        self.category = QComboBox()
        self.category.setEditable(True)
        self.category.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        category_line = self.category.lineEdit()
        if category_line is not None:
            category_line.setPlaceholderText("一级/二级，可输入新分类")
            category_line.setAccessibleName("分类")  # the combo's own text field
        for widget, name in ((self.title, "标题"), (self.aliases, "问法"), (self.keywords, "关键词"),
                             (self.answer, "答复口径"), (self.basis, "政策依据"), (self.valid_from, "生效日期"),
                             (self.valid_to, "失效日期"), (self.department, "承办单位"), (self.category, "分类")):
            widget.setAccessibleName(name)

        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.save_button = QPushButton("保存 (Ctrl+S)")
        self.save_button.setDefault(True)
        self.new_button = QPushButton("新建(&N)")
        self.transition_buttons: dict[str, QPushButton] = {}
        for status, label in TRANSITION_LABELS.items():
            button = QPushButton(label)
            button.setObjectName(f"transition_{status}")
            button.clicked.connect(lambda _c=False, st=status: self.transition_requested.emit(st))
            button.hide()  # shown by load() for the statuses the entry can move to (and so not widening the form)
            self.transition_buttons[status] = button
        self.save_button.clicked.connect(self.request_save)
        self.new_button.clicked.connect(self.new_requested.emit)
        QShortcut(QKeySequence.StandardKey.Save, self, self.request_save,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # large fonts: the field below its label
        form.addRow("标题(&T)", self.title)  # Alt+letter goes to the field
        form.addRow("问法(&Q)", self.aliases)
        form.addRow("关键词(&K)", self.keywords)
        form.addRow("答复口径(&A)", self.answer)
        form.addRow("政策依据(&B)", self.basis)
        dates = QHBoxLayout()
        dates.addWidget(self.valid_from)
        dates.addWidget(QLabel("至"))
        dates.addWidget(self.valid_to)
        valid_label = QLabel("有效期(&V)")
        valid_label.setBuddy(self.valid_from)
        form.addRow(valid_label, dates)
        form.addRow("承办单位(&U)", self.department)
        form.addRow("分类(&C)", self.category)
        buttons = FlowLayout(spacing=6)  # one row, or more at a large font
        buttons.addWidget(self.save_button)
        for b in self.transition_buttons.values():
            buttons.addWidget(b)
        buttons.addWidget(self.new_button)

        editor = QWidget()
        left = QVBoxLayout(editor)
        left.setContentsMargins(4, 4, 4, 4)
        left.addWidget(self.heading)
        left.addWidget(self.meta)
        left.addLayout(form, 1)
        left.addWidget(self.error)
        left.addLayout(buttons)

        self.preview = AnswerView()
        self.preview.setAccessibleName("坐席看到的效果")
        preview_box = QWidget()
        right = QVBoxLayout(preview_box)
        right.setContentsMargins(0, 4, 0, 0)
        right.addWidget(section_label("预览：坐席看到的样子"))
        right.addWidget(self.preview, 1)

        # Side by side; the preview goes under the form when both do not fit (a large font).
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(ScrollPane(editor))
        splitter.addWidget(ScrollPane(preview_box))
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DEBOUNCE_MS)
        self._preview_timer.timeout.connect(self.update_preview)
        for line in (self.title, self.keywords, self.basis, self.valid_from, self.valid_to):
            line.textChanged.connect(self._edited)
        for text in (self.aliases, self.answer):
            text.textChanged.connect(self._edited)
        self.department.currentIndexChanged.connect(self._edited)
        self.category.currentTextChanged.connect(self._edited)
        self.load(None)

    # ------------------------------------------------------------- layout
    def minimumSizeHint(self) -> QSize:
        """As narrow as the wider of the form and the preview: below that they stack (see resizeEvent)."""
        hints = [self.splitter.widget(i).minimumSizeHint() for i in range(self.splitter.count())]
        return QSize(max(h.width() for h in hints), max(h.height() for h in hints))

    def resizeEvent(self, event: QResizeEvent) -> None:
        panes = [self.splitter.widget(i).minimumSizeHint().width() for i in range(self.splitter.count())]
        side_by_side = sum(panes) + self.splitter.handleWidth()
        orientation = Qt.Orientation.Horizontal if event.size().width() >= side_by_side else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)
            self.splitter.setSizes([1, 1])  # half and half: the preview is no afterthought
        super().resizeEvent(event)

    # ---------------------------------------------------------- reference data
    def set_departments(self, departments: list[DepartmentView]) -> None:
        current = self.department.currentData()
        self._departments = {d.external_id: d for d in departments}
        self._loading = True
        self.department.clear()
        self.department.addItem("（未指定）", "")
        for d in departments:
            self.department.addItem(f"{d.name}（{d.external_id}）", d.external_id)
        self.department.setCurrentIndex(max(self.department.findData(current), 0))
        self._loading = False

    def set_categories(self, paths: list[str]) -> None:
        text = self.category.currentText()
        self._loading = True
        self.category.clear()
        self.category.addItems(paths)
        completer = QCompleter(paths, self.category)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.category.setCompleter(completer)
        self.category.setEditText(text)
        self._loading = False

    # -------------------------------------------------------------- loading
    def load(self, entry: EntryView | None, draft: EntryDraft | None = None) -> None:
        """Show ``entry`` (or a new entry), optionally with ``draft`` as the unsaved content."""
        self.entry = entry
        self.base_revision = entry.revision if entry else None
        d = draft or (draft_of(entry) if entry else EntryDraft(title="", answer=""))
        self._loading = True
        self.title.setText(d.title)
        self.aliases.setPlainText("\n".join(d.aliases))
        self.keywords.setText("、".join(d.keywords))
        self.answer.setPlainText(d.answer)
        self.basis.setText(d.basis)
        self.valid_from.setText(d.valid_from.isoformat() if d.valid_from else "")
        self.valid_to.setText(d.valid_to.isoformat() if d.valid_to else "")
        index = self.department.findData(d.department)
        if index < 0 and d.department:  # not loaded yet or inactive: keep the reference
            self.department.addItem(d.department, d.department)
            index = self.department.count() - 1
        self.department.setCurrentIndex(max(index, 0))
        self.category.setEditText(d.category)
        for line in (self.title, self.keywords, self.basis):
            line.setCursorPosition(0)  # show the beginning of a long 文号, not its end
        self._loading = False
        self.dirty = draft is not None and (entry is None or draft != draft_of(entry))
        self.error.setText("")
        self._update_header()
        self.update_preview()

    def _update_header(self) -> None:
        e = self.entry
        mark = "（未保存）" if self.dirty else ""
        if e is None:
            self.heading.setText("新建条目" + mark)
            self.meta.setText("保存后为草稿，提交审核并由他人发布后坐席可见")
        else:
            status = STATUS_LABELS.get(e.status, e.status)
            self.heading.setText(f"{e.external_id}　{status}{mark}")
            reviewed = f" · {e.reviewed_by} 审核于 {e.reviewed_at:%Y-%m-%d}" if e.reviewed_at else ""
            self.meta.setText(f"第 {e.revision} 版 · {e.updated_by} 更新于 {e.updated_at:%Y-%m-%d %H:%M}{reviewed}")
        allowed = allowed_transitions(e.status) if e is not None else ()
        for status, button in self.transition_buttons.items():
            button.setVisible(status in allowed)
            button.setEnabled(not self.dirty)
            button.setToolTip("请先保存修改" if self.dirty else "")
        publish = self.transition_buttons["published"]
        if e is not None and e.status == "review" and e.updated_by == self.user:
            publish.setEnabled(False)
            publish.setToolTip("发布需要作者以外的审核人")

    def _edited(self, *_args: object) -> None:
        if self._loading:
            return
        if not self.dirty:
            self.dirty = True
            self._update_header()
        self._preview_timer.start()

    # ---------------------------------------------------------------- draft
    def draft(self) -> EntryDraft:
        """The form as a draft; raises :class:`ValidationError` for a malformed date."""
        e = self.entry
        return EntryDraft(
            external_id=e.external_id if e else "",
            title=self.title.text().strip(),
            answer=self.answer.toPlainText().strip(),
            aliases=tuple(a.strip() for a in self.aliases.toPlainText().splitlines() if a.strip()),
            keywords=split_list(self.keywords.text()),
            category=self.category.currentText().strip(),
            department=str(self.department.currentData() or ""),
            basis=self.basis.text().strip(),
            valid_from=parse_date(self.valid_from.text(), "valid_from"),
            valid_to=parse_date(self.valid_to.text(), "valid_to"),
            # Status changes only through the workflow buttons, never by saving.
            status=e.status if e else "draft",
            publish_at=e.publish_at if e else None,
        )

    def request_save(self) -> None:
        try:
            draft = self.draft()
        except ValidationError as exc:
            self.show_error(exc)
            return
        self.error.setText("")
        self.save_requested.emit(draft)

    def show_error(self, exc: BaseException | str) -> None:
        self.error.setText(error_text(exc) if isinstance(exc, BaseException) else exc)

    # -------------------------------------------------------------- preview
    def preview_entry(self) -> EntryView | None:
        """The entry as agents would see it after saving (``None`` while a date is malformed)."""
        try:
            d = self.draft()
        except ValidationError:
            return None
        e = self.entry
        dept = self._departments.get(d.department)
        now = datetime.now().replace(microsecond=0)
        return EntryView(
            id=e.id if e else 0, external_id=e.external_id if e else "（新条目）", title=d.title or "（无标题）",
            answer=d.answer, aliases=d.aliases, keywords=d.keywords, category=d.category,
            department_id=dept.id if dept else None, department_external_id=d.department,
            department_name=dept.name if dept else "", basis=d.basis, valid_from=d.valid_from, valid_to=d.valid_to,
            status=d.status, revision=e.revision if e else 0, created_at=e.created_at if e else now,
            created_by=e.created_by if e else self.user, updated_at=now if self.dirty or not e else e.updated_at,
            updated_by=self.user if self.dirty or not e else e.updated_by)

    def update_preview(self) -> None:
        self._preview_timer.stop()
        view = self.preview_entry()
        if view is None:
            self.preview.show_text("预览", "日期格式不正确（应为 2026-01-31），修正后显示预览")
            return
        self.preview.show_entry(view, self._departments.get(view.department_external_id),
                                matched=view.keywords, today=self.today)
        # The preview is read-only: its feedback row belongs to agents.
        self.preview.set_feedback_visible(False)
