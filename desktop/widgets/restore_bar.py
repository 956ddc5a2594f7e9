"""A non-modal bar offering to restore the draft left by a crash (never a dialog)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from desktop.drafts import Call


class RestoreBar(QFrame):
    restore = Signal()
    discard = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoreBar")
        self.setAccessibleName("恢复未保存的来电")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.restore_button = QPushButton("恢复 (Ctrl+R)")
        self.restore_button.setAccessibleName("恢复未保存的来电草稿")
        self.discard_button = QPushButton("丢弃(&Q)")
        self.discard_button.setAccessibleName("丢弃未保存的来电草稿")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.restore_button)
        layout.addWidget(self.discard_button)
        self.restore_button.clicked.connect(self.restore)
        self.discard_button.clicked.connect(self.discard)
        self.draft: Call | None = None
        self.hide()

    def offer(self, draft: Call, *, problem: str = "") -> None:
        """Offer ``draft``; ``problem``: why the database refused it (the bar then says so)."""
        self.draft = draft
        when = f"{draft.received_at:%m-%d %H:%M}"
        who = draft.phone or draft.caller_name or "未填号码"
        text = draft.text.strip().replace("\n", " ")
        preview = text[:30] + ("…" if len(text) > 30 else "")
        if problem:
            self.message.setText(f"工单未能保存（{problem}），已退回（{when}，{who}）：{preview}。请恢复后修改再保存")
        else:
            self.message.setText(f"上次有一通未保存的来电（{when}，{who}）：{preview}")
        self.show()

    def take(self) -> Call | None:
        draft, self.draft = self.draft, None
        self.hide()
        return draft
