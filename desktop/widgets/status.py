"""Status bar: messages, user and seat, database (local/shared), index freshness and size, outbox.

The message is a wrapping label (a long message takes a second line at a large
font instead of being cut), and the permanent items wrap onto a second row when
they do not fit: at 22 pt on a 1366-pixel screen nothing goes off-screen.
Each label's accessible name is the text it shows; what it is goes in the description.
"""

from __future__ import annotations

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from desktop.widgets.layout import FlowLayout

ITEMS_SHARE = 2 / 3  # the items wrap before they take more of the width: the message keeps the rest


class StatusPanel(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPanel")
        self.message = QLabel()
        self.message.setObjectName("statusMessage")
        self.message.setWordWrap(True)
        self.message.setAccessibleDescription("状态消息")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.messageChanged.connect(self.message.setText)
        self.user = QLabel()
        self.database = QLabel()
        self.index = QLabel("索引：正在打开…")
        self.outbox = QLabel()
        self.outbox.setObjectName("outboxLabel")
        self.outbox.hide()
        self.mode = QLabel()
        self.mode.setObjectName("modeLabel")
        self.mode.hide()
        self.safety = QLabel()  # red: the seat's alert lexicon is incomplete (set_safety)
        self.safety.setObjectName("safetyLabel")
        self.safety.hide()
        self.items = QWidget()
        self.items.setObjectName("statusItems")
        self._flow = FlowLayout(self.items, spacing=4, align_right=True)
        for w, what in ((self.safety, "警报词库"), (self.mode, "模式"), (self.user, "当前用户"),
                        (self.database, "数据库"), (self.index, "搜索索引"), (self.outbox, "待保存工单")):
            w.setAccessibleDescription(what)
            self._flow.addWidget(w)
        # The message label covers the area where QStatusBar would paint the message itself.
        self.addPermanentWidget(self.message, 1)
        self.addPermanentWidget(self.items)

    def add_item(self, widget: QWidget) -> None:
        """A permanent item after the others (the settings button)."""
        self._flow.addWidget(widget)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.items.setMaximumWidth(max(int(event.size().width() * ITEMS_SHARE), self.items.minimumSizeHint().width()))
        super().resizeEvent(event)

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

    def set_safety(self, problems: list[str]) -> None:
        """Problems of the safety lexicon (kb.sample.check_lexicon), shown until they are fixed."""
        self.safety.setText(f"⚠ 警报词库不完整：部分紧急情况不会报警（{len(problems)} 项，见提示）" if problems else "")
        self.safety.setToolTip("\n".join(problems) + "\n请运行 huiyin init 补齐，或在编辑器中恢复" if problems else "")
        self.safety.setVisible(bool(problems))

    def set_outbox(self, count: int) -> None:
        self.outbox.setText(f"待保存工单 {count} 件（自动重试）")
        self.outbox.setVisible(count > 0)
