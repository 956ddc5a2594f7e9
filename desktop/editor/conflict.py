"""Conflict view: someone else saved the entry first; show both texts and let the editor choose."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.style import color
from kb.diff import diff_fields, side_by_side_document
from kb.editorial import FIELD_LABELS, Conflict, draft_of, draft_values


class ConflictView(QWidget):
    """Both versions side by side (theirs left, mine right, differences marked).

    Choices (emitted by :attr:`chosen`): ``"mine"`` save my text over theirs,
    ``"theirs"`` keep theirs (my text is kept in the audit log), ``"merge"``
    open the automatic three-way merge in the form to finish by hand,
    ``"cancel"`` go back to my unsaved edit. Nothing is saved by this widget.
    """

    chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.conflict: Conflict | None = None
        self.setObjectName("conflictView")
        self.headline = QLabel("")
        self.headline.setWordWrap(True)
        self.headline.setObjectName("conflictHeadline")
        self.headline.setStyleSheet("QLabel#conflictHeadline { background:#fff4cc; border:1px solid #e0c060;"
                                    " padding:8px; color:#5a3d00; font-weight:bold; }")
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setObjectName("hintLabel")
        self.theirs_title = QLabel("对方已保存的版本")
        self.mine_title = QLabel("我的修改（尚未保存）")
        for label in (self.theirs_title, self.mine_title):
            label.setObjectName("sectionLabel")
        self.theirs = QTextBrowser()
        self.theirs.setAccessibleName("对方的版本")
        self.mine = QTextBrowser()
        self.mine.setAccessibleName("我的修改")
        self.keep_mine = QPushButton("保留我的修改")
        self.keep_mine.setToolTip("用我的内容保存为新版本；对方的版本保留在历史中")
        self.keep_theirs = QPushButton("采用对方版本")
        self.keep_theirs.setToolTip("放弃保存我的修改；我的内容记录在审计日志中，不会丢失")
        self.merge = QPushButton("合并后编辑")
        self.merge.setToolTip("只有一方改过的字段自动合并，两人都改过的字段先用我的内容，再由我修改后保存")
        self.cancel = QPushButton("返回继续编辑")
        for button, choice in ((self.keep_mine, "mine"), (self.keep_theirs, "theirs"), (self.merge, "merge"),
                               (self.cancel, "cancel")):
            button.setObjectName(f"conflict_{choice}")
            button.clicked.connect(lambda _c=False, ch=choice: self.chosen.emit(ch))

        theirs_box = QWidget()
        tv = QVBoxLayout(theirs_box)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.addWidget(self.theirs_title)
        tv.addWidget(self.theirs, 1)
        mine_box = QWidget()
        mv = QVBoxLayout(mine_box)
        mv.setContentsMargins(0, 0, 0, 0)
        mv.addWidget(self.mine_title)
        mv.addWidget(self.mine, 1)
        sides = QSplitter(Qt.Orientation.Horizontal)
        sides.addWidget(theirs_box)
        sides.addWidget(mine_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.keep_mine)
        buttons.addWidget(self.merge)
        buttons.addWidget(self.keep_theirs)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.headline)
        layout.addWidget(self.detail)
        layout.addWidget(sides, 1)
        layout.addLayout(buttons)

    def show_conflict(self, conflict: Conflict) -> None:
        self.conflict = conflict
        t = conflict.theirs
        self.headline.setText(
            f"保存冲突：条目「{html.escape(t.title)}」在你编辑期间已被 {html.escape(t.updated_by or '他人')} "
            f"于 {t.updated_at:%m-%d %H:%M} 修改（第 {conflict.base_revision} 版 → 第 {t.revision} 版）。"
            "你的修改还没有保存，请选择如何处理。")
        labels = [FIELD_LABELS.get(f, f) for f in conflict.conflicting]
        auto = [FIELD_LABELS.get(f, f) for f in conflict.changed_theirs if f not in conflict.conflicting]
        parts = []
        if labels:
            parts.append("两人都改了：" + "、".join(labels))
        if auto:
            parts.append("只有对方改了（合并时自动采用对方的）：" + "、".join(auto))
        self.detail.setText("；".join(parts) or "两个版本的差异见下方")
        self.theirs_title.setText(f"对方已保存的版本（第 {t.revision} 版，{t.updated_by}）")
        diffs = diff_fields(draft_values(draft_of(t)), draft_values(conflict.mine), FIELD_LABELS)
        left, right = side_by_side_document(diffs, only_changed=True)
        same = f"<p style='color:{color('dim')}'>内容相同</p>"  # the theme's grey, 4.5:1 on the page
        self.theirs.setHtml(left or same)
        self.mine.setHtml(right or same)
