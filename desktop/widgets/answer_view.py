"""Answer viewer: the answer script first (large), then basis, validity, owner department, feedback."""

from __future__ import annotations

import html
from datetime import date

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.style import rich_text_css
from desktop.widgets.common import mark_words_html, section_label, validity
from desktop.widgets.layout import FlowLayout
from kb.dto import DepartmentView, EntryView
from kb.phones import phone_lines
from kb.vocab import FEEDBACK_KINDS as FEEDBACK

FEEDBACK_KINDS = FEEDBACK.labels
FEEDBACK_KEYS = FEEDBACK.keys  # Alt+key
SCRIPT_MIN_LINES = 3  # at any font size the script shows this many lines; the column scrolls instead


class AnswerView(QFrame):
    """Shows one :class:`EntryView`. Ctrl+C anywhere in the view copies the script."""

    copied = Signal(str)
    feedback = Signal(int, str, str)  # entry id, kind, note
    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("answerView")
        self.setAccessibleName("口径")
        # A click on the view lets Ctrl+C copy the script; Tab goes to the script itself, not the frame.
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.entry: EntryView | None = None
        self._script_html = ""

        # Labels expose the text they show; what they are goes in the description.
        self.title = QLabel("未打开口径")
        self.title.setObjectName("answerTitle")
        self.title.setWordWrap(True)
        self.title.setAccessibleDescription("口径标题")
        self.badge = QLabel()
        self.badge.setAccessibleDescription("有效性")
        self.badge.hide()

        self.script = QTextBrowser()
        self.script.setObjectName("answerScript")
        self.script.setAccessibleName("答复口径")
        self.script.setOpenExternalLinks(False)
        self.script.setTabChangesFocus(True)
        self.script.setPlaceholderText("从推荐口径或搜索结果中按 Enter 打开一条口径")
        self.script.installEventFilter(self)

        self.basis = QLabel()
        self.basis.setWordWrap(True)
        self.basis.setAccessibleDescription("政策依据")
        self.basis.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.owner = QLabel()
        self.owner.setWordWrap(True)
        self.owner.setAccessibleDescription("承办单位及电话")
        self.owner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meta = QLabel()
        self.meta.setObjectName("hintLabel")
        self.meta.setWordWrap(True)

        self.copy_button = QPushButton("复制口径 (Ctrl+C)")
        self.copy_button.setAccessibleName("复制答复口径")
        self.copy_button.clicked.connect(self.copy_script)
        self.feedback_buttons: dict[str, QPushButton] = {}
        self.note = QLineEdit()
        self.note.setPlaceholderText("反馈说明（可选）")
        self.note.setAccessibleName("反馈说明")
        self.feedback_state = QLabel()
        self.feedback_state.setObjectName("hintLabel")

        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.badge, 0, Qt.AlignmentFlag.AlignTop)
        actions = QHBoxLayout()
        actions.addWidget(self.copy_button)
        actions.addStretch(1)
        fb = FlowLayout()  # one row, or two at a large font
        self.feedback_label = QLabel("反馈：")
        fb.addWidget(self.feedback_label)
        for kind, label in FEEDBACK_KINDS.items():
            button = QPushButton(f"{label}(&{FEEDBACK_KEYS[kind]})")
            button.setObjectName(f"feedback_{kind}")
            button.setAccessibleName(f"反馈：{label}")
            button.clicked.connect(lambda _c=False, k=kind: self._send_feedback(k))
            self.feedback_buttons[kind] = button
            fb.addWidget(button)
        fb.addWidget(self.note)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(section_label("口径"))
        layout.addLayout(head)
        layout.addWidget(self.script, 1)
        layout.addLayout(actions)
        layout.addWidget(self.basis)
        layout.addWidget(self.owner)
        layout.addWidget(self.meta)
        layout.addLayout(fb)
        layout.addWidget(self.feedback_state)
        self._set_enabled(False)

    def set_feedback_visible(self, on: bool) -> None:
        """The editor's preview shows the answer as agents see it, without the feedback row."""
        for w in (self.feedback_label, self.note, self.feedback_state, *self.feedback_buttons.values()):
            w.setVisible(on)
        for w in (self.note, *self.feedback_buttons.values()):
            w.setEnabled(on and self.entry is not None)

    def _set_enabled(self, on: bool) -> None:
        self.copy_button.setEnabled(on)
        for b in self.feedback_buttons.values():
            b.setEnabled(on)
        self.note.setEnabled(on)

    # ----------------------------------------------------------------- data
    def show_entry(self, entry: EntryView, department: DepartmentView | None = None,
                   matched: tuple[str, ...] = (), today: date | None = None) -> None:
        self.entry = entry
        today = today or date.today()
        self.title.setText(entry.title)
        badge, style = validity(entry.status, entry.valid_to, today)
        self.badge.setText(badge)
        self.badge.setObjectName(style)
        # Re-polish for the new object name (never setStyle(style()): that pins a style the app may replace).
        self.badge.style().unpolish(self.badge)
        self.badge.style().polish(self.badge)
        self.badge.show()
        self._set_script_html(f"<div style='line-height:150%'>{mark_words_html(entry.answer, matched)}</div>")
        self.basis.setText(f"<b>政策依据：</b>{html.escape(entry.basis) or '（未填写）'}")
        if department is not None:
            phones = "　".join(f"{label} {html.escape(num)}" for label, num in phone_lines(department.phones))
            self.owner.setText(f"<b>承办单位：</b>{html.escape(department.name)}　{phones}")
        else:
            self.owner.setText(f"<b>承办单位：</b>{html.escape(entry.department_name) or '（未指定）'}")
        valid = "起" + entry.valid_from.isoformat() if entry.valid_from else ""
        if entry.valid_to:
            valid += f" 至 {entry.valid_to.isoformat()}"
        self.meta.setText(" · ".join(p for p in (
            entry.external_id, entry.category, f"有效期 {valid}" if valid else "",
            f"{entry.updated_by} 更新于 {entry.updated_at:%Y-%m-%d}") if p))
        self.feedback_state.setText("")
        self.note.clear()
        self._set_enabled(True)

    def show_text(self, title: str, body: str) -> None:
        """A script that is not an entry (the greeting at the start of a call)."""
        self.clear()
        self.title.setText(title)
        self.script.setPlainText(body)

    def _set_script_html(self, rich: str) -> None:
        self._script_html = rich
        self.script.document().setDefaultStyleSheet(rich_text_css())  # the theme's highlight colours
        self.script.setHtml(rich)

    def _restyled(self) -> None:
        """A theme or font change: re-colour the highlighted words, keep room for the script's lines."""
        if self._script_html and self.entry is not None:
            self._set_script_html(self._script_html)
        margins = self.script.contentsMargins()
        lines = SCRIPT_MIN_LINES * 1.5  # the script's line height is 150 %
        self.script.setMinimumHeight(int(lines * self.script.fontMetrics().lineSpacing())
                                     + margins.top() + margins.bottom() + 12)

    def clear(self) -> None:
        self.entry = None
        self._script_html = ""
        self.title.setText("未打开口径")
        self.badge.hide()
        self.script.clear()
        for label in (self.basis, self.owner, self.meta, self.feedback_state):
            label.setText("")
        self._set_enabled(False)

    def focus_script(self) -> None:
        self.script.setFocus(Qt.FocusReason.ShortcutFocusReason)

    # -------------------------------------------------------------- actions
    def copy_script(self) -> str:
        if self.entry is None:
            return ""
        QGuiApplication.clipboard().setText(self.entry.answer)
        self.copied.emit(self.entry.answer)
        return self.entry.answer

    def _send_feedback(self, kind: str) -> None:
        if self.entry is None:
            return
        self.feedback.emit(self.entry.id, kind, self.note.text().strip())
        self.feedback_state.setText(f"已提交反馈「{FEEDBACK_KINDS[kind]}」，谢谢，编辑会尽快处理")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.script and event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._restyled()
        # Ctrl+C copies the whole script, unless the agent selected part of it on purpose.
        if (watched is self.script and isinstance(event, QKeyEvent)
                and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress)
                and event.matches(QKeySequence.StandardKey.Copy)
                and not self.script.textCursor().hasSelection()):
            if event.type() == QEvent.Type.KeyPress:
                self.copy_script()
            event.accept()
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_script()
            return
        super().keyPressEvent(event)
