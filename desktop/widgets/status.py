"""Status bar: user and seat, database (local/shared), index freshness and size, outbox."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


class StatusPanel(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPanel")
        self.user = QLabel()
        self.database = QLabel()
        self.index = QLabel("索引：正在打开…")
        self.outbox = QLabel()
        self.outbox.setObjectName("outboxLabel")
        self.outbox.hide()
        self.mode = QLabel()
        self.mode.setObjectName("modeLabel")
        self.mode.hide()
        for w, name in ((self.mode, "模式"), (self.user, "当前用户"), (self.database, "数据库"),
                        (self.index, "搜索索引"), (self.outbox, "待保存工单")):
            w.setAccessibleName(name)
            self.addPermanentWidget(w)

    def set_user(self, user: str, seat: str) -> None:
        self.user.setText(f"坐席 {seat} · {user}" if seat else f"用户 {user}")

    def set_database(self, shared: bool, url: str) -> None:
        self.database.setText("数据库：共享" if shared else "数据库：本机")
        self.database.setToolTip(url)

    def set_index(self, text: str) -> None:
        self.index.setText(text)

    def set_mode(self, text: str) -> None:
        """The current mode and the key that switches it (editor roles only)."""
        self.mode.setText(text)
        self.mode.setVisible(bool(text))

    def set_outbox(self, count: int) -> None:
        self.outbox.setText(f"待保存工单 {count} 件（自动重试）")
        self.outbox.setVisible(count > 0)
