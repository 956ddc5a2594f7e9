"""The one ``sys.excepthook``: log the error, keep the draft, show the details to copy."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.errors import is_known, user_message

log = logging.getLogger("huiyin.crash")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class CrashDialog(QDialog):
    """Shown after an unexpected error: what happened, that the draft is safe, details to copy."""

    def __init__(self, details: str, log_dir: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("回音 — 程序出错")
        self.setAccessibleName("程序出错")
        message = QLabel("很抱歉，程序出现了意外错误。当前来电的内容已保存为草稿，重启后可以恢复。\n"
                         f"请把下面的详情复制给管理员（日志在 {log_dir}）。")
        message.setWordWrap(True)
        self.details = QPlainTextEdit(details)
        self.details.setReadOnly(True)
        self.details.setAccessibleName("错误详情")
        self.details.setMinimumSize(560, 220)
        buttons = QDialogButtonBox()
        copy = QPushButton("复制详情")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(details))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton("继续", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("退出程序", QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(message)
        layout.addWidget(self.details, 1)
        layout.addWidget(buttons)


class CrashHandler:
    """Installed once by :mod:`desktop.app`; ``save_draft`` keeps what the agent typed."""

    def __init__(self, log_dir: str, *, show_dialog: bool = True) -> None:
        self.log_dir = log_dir
        self.show_dialog = show_dialog
        self.save_draft: Callable[[], None] | None = None
        self._handling = False
        self._previous = sys.excepthook
        self.last_details = ""

    def install(self) -> CrashHandler:
        sys.excepthook = self.handle
        return self

    def uninstall(self) -> None:
        sys.excepthook = self._previous

    def handle(self, etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt):
            QApplication.quit()
            return
        details = "".join(traceback.format_exception(etype, value, tb))
        self.last_details = details
        if self._handling:  # an error while handling an error: log only, never loop
            log.critical("error inside the crash handler:\n%s", details)
            return
        self._handling = True
        try:
            level = logging.ERROR if is_known(value) else logging.CRITICAL
            log.log(level, "unhandled %s: %s\n%s", etype.__name__, user_message(value), details)
            if self.save_draft is not None:
                try:
                    self.save_draft()
                except Exception:
                    log.exception("draft not saved by the crash handler")
            if self.show_dialog and QApplication.instance() is not None:
                # Show after the current event, so a half-finished paint or slot is not re-entered.
                QTimer.singleShot(0, lambda: self._show(details))
        finally:
            self._handling = False

    def _show(self, details: str) -> None:
        dialog = CrashDialog(details, self.log_dir)
        if dialog.exec() == QDialog.DialogCode.Rejected:
            QApplication.exit(1)
