"""Composition root: logging, crash hook, services, window. Nothing else builds objects."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import TYPE_CHECKING

from kb.paths import AppPaths
from kb.service import KnowledgeBase
from kb.settings import Settings

if TYPE_CHECKING:  # Qt is imported when the GUI starts, not for the command line
    from PySide6.QtCore import QCoreApplication, QTimer

log = logging.getLogger("huiyin.app")

LOG_FILE = "huiyin.log"
WINDOW_SIZE = (1366, 740)
NO_DISPLAY = ("没有图形显示 (no display)：找不到 DISPLAY 或 WAYLAND_DISPLAY，无法打开回音窗口。"
              "请在桌面会话中启动；远程或无显示器的机器可用 xvfb-run -a huiyin 启动，或设置 DISPLAY（例如 DISPLAY=:0）"
              "指向一个正在运行的 X 显示；测试和自检可设 QT_QPA_PLATFORM=offscreen。")


def missing_display(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> str | None:
    """Why no window can open here, or None. Linux without a display: Qt would abort the process."""
    if not platform.startswith("linux"):
        return None
    if any(environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
        return None
    return NO_DISPLAY


def setup_logging(logs_dir: Path) -> None:
    """A rotating log in the data folder (the only place handlers are configured)."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    if any(isinstance(h, RotatingFileHandler) for h in root.handlers):
        return
    handler = RotatingFileHandler(logs_dir / LOG_FILE, maxBytes=2_000_000, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    for other in root.handlers:  # the console stays quiet unless --verbose set it lower
        if other.level == logging.NOTSET:
            other.setLevel(root.level if root.level > logging.INFO else logging.WARNING)
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)


def open_knowledge_base(db_url: str) -> KnowledgeBase:
    """Open (upgrading the schema); a fresh install starts on the sample knowledge base, loaded whole or
    not at all. An incomplete safety lexicon is logged here and shown by the window, not rewritten."""
    from kb.sample import open_and_set_up

    kb, _result = open_and_set_up(db_url, sample=True, repair=False)
    return kb


def _quit_on_termination(app: QCoreApplication) -> QTimer:
    """SIGTERM/SIGINT (logout, shutdown, Ctrl+C) quit the event loop so the window closes normally.

    Python runs signal handlers only between bytecodes; the timer wakes the
    interpreter while Qt's event loop waits.
    """
    from PySide6.QtCore import QTimer

    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(ValueError, OSError):  # not the main thread, or not on this OS
            signal.signal(sig, lambda _s, _f: app.quit())
    wake = QTimer()
    wake.setInterval(500)
    wake.timeout.connect(lambda: None)
    wake.start()
    return wake


def run_gui(paths: AppPaths, settings: Settings, db_url: str, self_test: bool = False) -> int:
    """Start the agent workspace; with ``self_test`` run the offscreen self-test instead."""
    if self_test:
        from desktop.selftest import run_self_test

        return run_self_test(paths, settings, db_url)

    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop.crash import CrashHandler
    from desktop.errors import user_message
    from desktop.main_window import MainWindow
    from desktop.services import Services
    from desktop.tasks import TaskManager
    from indexer import analysis
    from indexer.engine import Engine
    from kb.errors import KbError

    setup_logging(paths.logs_dir)
    if QApplication.instance() is None:  # fractional scaling (150 %) without blurry rounding
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Huiyin")
    app.setApplicationDisplayName("回音")
    crash = CrashHandler(str(paths.logs_dir)).install()

    try:
        kb = open_knowledge_base(db_url)
    except KbError as exc:
        log.error("knowledge base unavailable: %s", exc)
        QMessageBox.critical(None, "回音 — 无法打开知识库", f"{user_message(exc)}\n\n{exc}")
        return 3
    tasks = TaskManager()
    # The engine's long jobs (jieba, routing profiles, history catch-up) run on the task manager's background pool.
    # The window does not wait for it.
    analysis.start_background_load(tasks.background, kb.lexicons.dict_words(), paths.cache_dir)
    window = MainWindow(Services(kb=kb, paths=paths, settings=settings, tasks=tasks))
    crash.save_draft = window.save_draft_now
    window.start_engine(lambda: Engine.open(paths, kb, executor=tasks.background, sync=False))
    if not window.restore_ui_state():  # first start: fit the smallest agent screen (1366×768)
        screen = app.primaryScreen().availableGeometry()
        window.resize(min(WINDOW_SIZE[0], screen.width()), min(WINDOW_SIZE[1], screen.height()))
    window.show()
    log.info("window shown (database %s)", kb.url)
    wake = _quit_on_termination(app)
    try:
        return app.exec()
    finally:
        wake.stop()
        if window.isVisible():  # ended by a signal (logout, shutdown): close properly, keeping the draft
            window.close()
        window.save_draft_now()
        tasks.shutdown(wait=True)
        engine = window.engine
        if isinstance(engine, Engine):
            engine.close()
        kb.close()
        crash.uninstall()
