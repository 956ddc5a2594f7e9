"""Alert banner: emergency transfer number and script, impossible to miss."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from kb.alerts import Alert


class AlertBanner(QFrame):
    """Hidden when there is no alert; red for danger to life (transfer now), amber for other risks
    (群体风险: the team lead; 消防隐患: a work order, no transfer)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertBanner")
        self.setAccessibleName("紧急警报")
        self.headline = QLabel()
        self.headline.setObjectName("alertHeadline")
        self.headline.setWordWrap(True)
        self.script = QLabel()
        self.script.setObjectName("alertScript")
        self.script.setWordWrap(True)
        self.script.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.others = QLabel()
        self.others.setObjectName("alertOthers")
        self.others.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(4)
        layout.addWidget(self.headline)
        layout.addWidget(self.script)
        layout.addWidget(self.others)
        self.alerts: tuple[Alert, ...] = ()
        self.hide()

    def set_alerts(self, alerts: Sequence[Alert]) -> None:
        alerts = tuple(sorted(alerts, key=lambda a: -a.severity))
        if alerts == self.alerts:
            return
        self.alerts = alerts
        if not alerts:
            self.hide()
            return
        top = alerts[0]
        level = "alertDanger" if top.emergency else "alertRisk"
        if self.property("level") != level:
            self.setProperty("level", level)
            self.style().unpolish(self)
            self.style().polish(self)
        action = f"请立即转 {top.transfer_to}" if top.emergency else top.transfer_to
        self.headline.setText(f"⚠ {html.escape(top.label)}：{html.escape(action)}")
        self.script.setText(f"话术：{html.escape(top.script)}")
        self.others.setText("　".join(f"另：{html.escape(a.label)} → {html.escape(a.transfer_to)}"
                                     for a in alerts[1:]))
        self.others.setVisible(len(alerts) > 1)
        self.setAccessibleDescription(f"{top.label}，{action}。匹配「{top.matched}」")
        self.show()
