"""Repeat-caller panel: the earlier work orders of the calling number."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from desktop.widgets.search_panel import RichList, html_item
from kb import vocab
from kb.dto import WorkOrderView


def order_html(w: WorkOrderView) -> str:
    kind = vocab.REQUEST_TYPES.label(w.request_type)
    state = vocab.WORKORDER_STATUSES.label(w.status)
    handling = vocab.HANDLINGS.label(w.handling)
    dept = f" → {html.escape(w.department_name)}" if w.department_name else ""
    text = html.escape(w.text[:60] + ("…" if len(w.text) > 60 else ""))
    return (f"<b>{w.received_at:%m-%d %H:%M}</b>　{kind} · {handling}{dept} · "
            f"<span class='state'>{state}</span><br>{text}")


class RepeatCallerPanel(QFrame):
    """Hidden unless the number called before; unresolved cases are what the agent must know."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("repeatPanel")
        self.heading = QLabel()
        self.heading.setObjectName("repeatHeading")
        self.heading.setWordWrap(True)
        self.orders = RichList("历史工单")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.orders)
        self.hide()

    def set_orders(self, orders: Sequence[WorkOrderView]) -> None:
        self.orders.clear()
        if not orders:
            self.hide()
            return
        open_count = sum(1 for w in orders if w.status != "closed")
        tail = f"，其中 {open_count} 件未办结" if open_count else ""
        self.heading.setText(f"重复来电：该号码近 30 天来电 {len(orders)} 次{tail}")
        self.setAccessibleName(self.heading.text())
        for w in orders:
            self.orders.addItem(html_item(order_html(w)))  # read as shown: date, type, handling, unit, state
        self.show()
        self.fit_rows()

    def fit_rows(self) -> None:
        """Room for up to three cases at the current font (the style sheet sets it after construction)."""
        rows = min(self.orders.count(), 3)
        self.ensurePolished()
        line = self.orders.fontMetrics().lineSpacing()
        self.orders.setFixedHeight(rows * (line * 3 + 12) + 6)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange) and self.orders.count():
            self.fit_rows()
