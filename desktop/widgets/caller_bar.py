"""Caller bar: phone number with the repeat-caller badge, caller name, place, call timer."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QWidget


class CallerBar(QFrame):
    """The top strip of the workspace. Emits ``phone_changed`` on every edit (the window debounces)."""

    phone_changed = Signal(str)
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callerBar")
        self._started: float | None = None
        self._elapsed_final: float | None = None

        self.phone = QLineEdit()
        self.phone.setObjectName("phoneEdit")
        self.phone.setPlaceholderText("来电号码")
        self.phone.setAccessibleName("来电号码")
        self.phone.setMaxLength(32)
        self.phone.setMinimumWidth(150)
        phone_label = QLabel("来电(&P)")
        phone_label.setBuddy(self.phone)

        self.repeat_badge = QLabel()
        self.repeat_badge.setObjectName("repeatBadge")
        self.repeat_badge.setAccessibleDescription("重复来电提示")
        self.repeat_badge.hide()

        self.name = QLineEdit()
        self.name.setPlaceholderText("称呼，如：王女士")
        self.name.setAccessibleName("来电人称呼")
        self.name.setMaxLength(40)
        self.name.setMinimumWidth(110)
        name_label = QLabel("称呼(&N)")
        name_label.setBuddy(self.name)

        self.place = QLabel()
        self.place.setObjectName("placeLabel")
        self.place.setAccessibleDescription("属地")
        self.place.setWordWrap(True)  # a long district and street take a second line, not the timer's room

        self.timer_label = QLabel("未在通话")
        self.timer_label.setObjectName("callTimer")
        self.timer_label.setAccessibleDescription("通话计时")  # the name is the text shown: "通话 00:12"
        self.timer_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(phone_label)
        layout.addWidget(self.phone, 2)
        layout.addWidget(self.repeat_badge)
        layout.addSpacing(12)
        layout.addWidget(name_label)
        layout.addWidget(self.name, 1)
        layout.addSpacing(12)
        layout.addWidget(self.place, 2)
        layout.addStretch(1)
        layout.addWidget(self.timer_label)

        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._update_timer)

        self.phone.textChanged.connect(self.phone_changed)
        self.phone.textEdited.connect(lambda _t: self.edited.emit())
        self.name.textEdited.connect(lambda _t: self.edited.emit())

    # ------------------------------------------------------------------ call
    def start_call(self, already_elapsed: float = 0.0) -> None:
        self._started = time.monotonic() - already_elapsed
        self._elapsed_final = None
        self._tick.start()
        self._update_timer()

    def stop_call(self) -> None:
        if self._started is not None:
            self._elapsed_final = time.monotonic() - self._started
        self._tick.stop()
        self._update_timer()

    @property
    def elapsed(self) -> float:
        if self._elapsed_final is not None:
            return self._elapsed_final
        return 0.0 if self._started is None else time.monotonic() - self._started

    def _update_timer(self) -> None:
        if self._started is None:
            self.timer_label.setText("未在通话")
            return
        secs = int(self.elapsed)
        prefix = "通话" if self._tick.isActive() else "已结束"
        self.timer_label.setText(f"{prefix} {secs // 60:02d}:{secs % 60:02d}")

    # ----------------------------------------------------------------- values
    def set_values(self, phone: str, name: str) -> None:
        self.phone.setText(phone)
        self.name.setText(name)

    def set_repeat(self, count: int) -> None:
        """Show the badge when the number called before (``count`` earlier work orders)."""
        if count <= 0:
            self.repeat_badge.hide()
            self.repeat_badge.setText("")
            return
        self.repeat_badge.setText(f"重复来电 {count} 次")
        self.repeat_badge.setAccessibleDescription(f"重复来电提示：该号码近 30 天来电 {count} 次")
        self.repeat_badge.show()

    def set_place(self, district: str | None, street: str | None) -> None:
        parts = [p for p in (district, street) if p]
        self.place.setText("属地：" + " · ".join(parts) if parts else "")
