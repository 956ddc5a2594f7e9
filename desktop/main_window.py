"""The window: a shell around the workspaces registered in :mod:`desktop.workspaces`.

The shell owns what every mode shares: the status bar (and its settings button),
the mode switch (F9 / Ctrl+E), settings, font size and theme, the F1 key help,
the engine's start, index sync and scheduled publishing, and the window state.
The agent workspace (the call window) is always there; other workspaces are
created when the seat's role may use them.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QDialog, QSplitter, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from desktop import accessibility, errors, style
from desktop.accessibility import Announcer
from desktop.agent.workspace import AgentWorkspace
from desktop.services import SearchEngine, Services
from desktop.tasks import Op
from desktop.ui_state import UiState
from desktop.widgets.key_help import KeyHelpOverlay, page_keys
from desktop.widgets.layout import size_by_current_page
from desktop.widgets.status import StatusPanel
from desktop.workspaces import WORKSPACES, Workspace, WorkspaceSpec
from kb import settings as settings_mod
from kb.actor import Actor
from kb.dto import Changes
from kb.settings import Settings

if TYPE_CHECKING:
    from desktop.editor import EditorWorkspace  # editor roles only: created through desktop.workspaces

log = logging.getLogger(__name__)

FONT_MIN, FONT_MAX = 9, 22
SYNC_MS = 3_000  # other seats' changes (shared database) reach this seat: one max(id) query when none
SCHEDULE_MS = 10 * 60_000  # scheduled publishing and automatic expiry
MODE_KEYS = ("F9", "Ctrl+E")
SETTINGS_KEYS = ("Ctrl+,", "F10")
THEME_KEYS = ("Ctrl+Shift+H",)


class MainWindow(QWidget):
    """A top-level QWidget with its own status bar; one page per workspace the seat's role may use."""

    engine_ready = Signal()

    def __init__(self, services: Services, *, today: date | None = None,
                 workspaces: Sequence[WorkspaceSpec] | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("回音 Huiyin — 12345 坐席助手")
        self.services = services
        self.tasks = services.tasks
        self._engine: SearchEngine | None = None
        self.today = today
        self.ui_state = UiState(services.paths.root)
        self.specs = list(WORKSPACES if workspaces is None else workspaces)
        self.workspaces: dict[str, Workspace] = {}  # created, by mode name
        self.mode = self.specs[0].name
        self._build()
        self._bind_keys()
        self._timer(SYNC_MS, self.sync_index)
        self._timer(SCHEDULE_MS, self.run_scheduled)
        self.apply_font_size(services.settings.font_size, remember=False)
        self.status.set_user(services.user, services.settings.seat)
        self.status.set_database(services.kb.is_shared, services.kb.url)
        self._apply_role()
        self.agent.load_reference_data()
        self.refresh_status()
        self._check_safety_lexicon()
        self.agent.refresh_briefing()
        self.run_scheduled()
        self.agent.calls.start()
        self.agent.update_idle()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.status = StatusPanel()
        self.status.setSizeGripEnabled(False)
        self.settings_button = QToolButton()
        self.settings_button.setText("设置")
        self.settings_button.setToolTip("设置（Ctrl+, 或 F10，通话中不可用）")
        self.settings_button.setAccessibleName("设置")
        self.settings_button.setAutoRaise(True)
        self.settings_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # the last Tab stop
        self.settings_button.clicked.connect(self.open_settings)
        self.status.add_item(self.settings_button)
        # Screen readers: alerts assertively, suggestion counts politely (the status message is the fallback).
        self.announcer = Announcer(self, live_region=lambda text: self.status.showMessage(text, 10000))
        self.key_help = KeyHelpOverlay(self)

        self.modes = QStackedWidget()
        self._size_modes = size_by_current_page(self.modes)  # a hidden mode never sets the minimum size
        first = self.specs[0].create(self)
        self.workspaces[self.specs[0].name] = first
        self.modes.addWidget(first.page)
        assert isinstance(first, AgentWorkspace), "the first workspace is the call window"
        self.agent = first
        self.agent_page = first.page

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.modes, 1)
        layout.addWidget(self.status)
        for a, b in itertools.pairwise([*self.agent.tab_chain(), self.settings_button]):
            QWidget.setTabOrder(a, b)
        accessibility.prepare(self)

    def _timer(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        return timer

    def _bind_keys(self) -> None:
        """The keys of every mode, listed in the F1 help (each workspace binds and lists its own)."""
        self.general_keys: list[tuple[str, str]] = []

        def bind(keys: Sequence[QKeySequence | str], slot: Callable[[], Any], what: str, shown: str = "") -> None:
            unique = {QKeySequence(k).toString(): QKeySequence(k) for k in keys}  # one shortcut per key
            for seq in unique.values():
                QShortcut(seq, self, slot, context=Qt.ShortcutContext.WindowShortcut)
            self.general_keys.append((shown or " / ".join(unique), what))

        bind(["F1"], self.show_key_help, "快捷键帮助（再按 F1 或 Esc 关闭）")
        bind(list(MODE_KEYS), self.toggle_mode, "切换接听模式与知识编辑（编辑角色）")
        bind(list(SETTINGS_KEYS), self.open_settings, "设置（通话中不可用）")
        bind(list(THEME_KEYS), self.toggle_theme, "高对比度主题：开 / 关")
        bind([QKeySequence(QKeySequence.StandardKey.ZoomIn), "Ctrl+=", "Ctrl++"], lambda: self.change_font(+1),
             "放大字号", shown="Ctrl+加号")
        bind([QKeySequence(QKeySequence.StandardKey.ZoomOut), "Ctrl+-"], lambda: self.change_font(-1),
             "缩小字号", shown="Ctrl+减号")
        self.general_keys += [("Tab / Shift+Tab", "下一项 / 上一项（按屏幕阅读顺序）"),
                              ("Ctrl+Tab", "切换标签页"), ("↑ ↓", "在列表中移动"), ("Enter", "打开选中的一项")]

    def show_key_help(self) -> None:
        """F1: the keys of the current mode, the general ones and the Alt+letters of the page."""
        if self.key_help.is_open:
            self.key_help.close_help()
            return
        spec = self._spec(self.mode)
        sections = [(spec.title, list(self.workspaces[self.mode].keys)), ("通用", self.general_keys)]
        page = self.modes.currentWidget()
        if page is not None:
            sections.append(("本页（Alt+字母到达按钮或输入框）", page_keys(page)))
        self.key_help.open_help(sections)

    # ----------------------------------------------------------------- engine
    @property
    def engine(self) -> SearchEngine | None:
        return self._engine

    def start_engine(self, open_engine: Callable[[], SearchEngine]) -> None:
        """Open the engine off the UI thread (it loads jieba), then bring the index up to date."""
        self.agent.search_panel.set_loading("正在加载分词词典和索引…")
        self.status.set_index("索引：正在加载…")
        Op(self.tasks, self, open_engine).success(self.set_engine).failure(self._engine_failed).run()

    def set_engine(self, engine: SearchEngine) -> None:
        self._engine = engine
        self.status.set_index("索引：正在同步…")
        Op(self.tasks, self, engine.sync, writes=True).success(lambda _n: self.refresh_status()) \
            .failure(self._index_failed).run()
        for workspace in self.workspaces.values():
            workspace.set_engine(engine)
        self.engine_ready.emit()

    def _engine_failed(self, exc: BaseException) -> None:
        log.error("search engine unavailable: %s", exc, exc_info=exc)
        self.status.set_index("索引：不可用")
        self.agent.search_panel.set_error(errors.user_message(exc))

    def _index_failed(self, exc: BaseException) -> None:
        log.warning("index sync failed: %s", exc, exc_info=exc)
        self.status.set_index("索引：同步失败（" + errors.user_message(exc) + "）")

    def refresh_status(self) -> None:
        kb = self.services.kb
        engine = self._engine

        def read() -> tuple[int, int, int | None]:
            stats = kb.stats()
            indexed = engine.index_status().revision if engine is not None else None
            return stats.published, stats.revision, indexed

        def show(result: tuple[int, int, int | None]) -> None:
            published, revision, indexed = result
            if indexed is None:
                self.status.set_index(f"知识条目 {published} 条 · 索引加载中…")
            elif indexed >= revision:
                self.status.set_index(f"知识条目 {published} 条 · 索引已同步")
            else:
                self.status.set_index(f"知识条目 {published} 条 · 索引更新中（落后 {revision - indexed}）")

        Op(self.tasks, self, read).key("status").success(show).failure(self.report_failure).run()

    def _check_safety_lexicon(self) -> None:
        """An incomplete safety lexicon is said loudly at start (and after lexicon edits): red status, log."""
        from kb.sample import LexiconCheck, check_lexicon

        kb = self.services.kb

        def shown(check: LexiconCheck) -> None:
            if not check.ok:
                log.error("%s", check.summary())
            self.status.set_safety(check.problems())

        Op(self.tasks, self, lambda: check_lexicon(kb)).key("safety_lexicon").success(shown) \
            .failure(self.report_failure).run()

    def publish_changes(self, changes: Changes, source: Workspace | None = None) -> None:
        """Changes committed in one workspace (or by a scheduled job) reach the others and the status bar."""
        self.refresh_status()
        if changes.departments or changes.scripts or changes.lexicon or changes.rules:
            self._check_safety_lexicon()
        for workspace in self.workspaces.values():
            if workspace is not source:
                workspace.apply_changes(changes)

    def sync_index(self) -> None:
        """Catch up with edits made on other seats (a shared database); cheap when nothing changed."""
        engine = self._engine
        if engine is None:
            return

        def work() -> bool:
            before = engine.index.revision
            engine.sync()
            return engine.index.revision != before  # any kind of change: entries, bulletins, lexicons …

        def done(changed: bool) -> None:
            if changed:
                self.refresh_status()
                self.agent.refresh_briefing()

        Op(self.tasks, self, work, writes=True).success(done).failure(self._index_failed).run()

    def run_scheduled(self) -> None:
        """Scheduled publishing and automatic expiry, on the write worker (idempotent on every seat)."""
        kb, today = self.services.kb, self.today

        def work() -> Changes:
            system = Actor.system()  # scheduled jobs act as the system, on every seat
            changes = kb.entries.publish_due(actor=system) | kb.entries.expire_due(actor=system, today=today)
            engine = self._engine  # None while opening: its start-up sync catches up
            if engine is not None and not changes.empty:
                engine.apply_changes(changes)
            return changes

        def done(changes: Changes) -> None:
            if changes.entries_upserted or changes.entries_deleted:
                log.info("scheduled publish/expiry: %d entries", len(changes.entries_upserted))
                self.publish_changes(changes)

        Op(self.tasks, self, work, writes=True).success(done) \
            .failure(lambda exc: log.warning("scheduled publish/expiry failed: %s", exc)).run()

    # ------------------------------------------------------------------ modes
    def _spec(self, name: str) -> WorkspaceSpec:
        return next(s for s in self.specs if s.name == name)

    def _allowed(self) -> list[WorkspaceSpec]:
        return [s for s in self.specs if s.allowed(self.services.settings.role)]

    @property
    def editor(self) -> EditorWorkspace | None:
        """The editor workspace's page, when this seat's role has it."""
        mode = self.workspaces.get("editor")
        return cast("EditorWorkspace", mode.page) if mode is not None else None

    def _apply_role(self) -> None:
        """Create the workspaces the role may use (editors also get the editor, F9); leave one it may not."""
        for spec in self._allowed():
            if spec.name not in self.workspaces:
                workspace = spec.create(self)
                if self._engine is not None:
                    workspace.set_engine(self._engine)
                self.workspaces[spec.name] = workspace
                self.modes.addWidget(workspace.page)
                self._size_modes()
        if not self._spec(self.mode).allowed(self.services.settings.role):
            self.set_mode(self.specs[0].name)
        self._show_mode_hint()

    def _next_mode(self) -> WorkspaceSpec | None:
        allowed = [s for s in self._allowed() if s.name in self.workspaces]
        if len(allowed) < 2:
            return None
        names = [s.name for s in allowed]
        i = names.index(self.mode) if self.mode in names else -1
        return allowed[(i + 1) % len(allowed)]

    def _show_mode_hint(self) -> None:
        target = self._next_mode()
        self.status.set_mode(f"{self._spec(self.mode).status} · F9 {target.goto}" if target else "")

    def toggle_mode(self) -> None:
        """F9 / Ctrl+E: the next workspace this seat may use."""
        target = self._next_mode()
        if target is not None:
            self.set_mode(target.name)

    def set_mode(self, mode: str) -> bool:
        if mode == self.mode:
            return True
        target = self.workspaces.get(mode)
        if target is None or not self._spec(mode).allowed(self.services.settings.role):
            return False
        current = self.workspaces[self.mode]
        refusal = current.leave_refusal()
        if refusal:
            self.status.showMessage(refusal, 6000)
            return False
        current.leave()
        self.mode = mode
        self.modes.setCurrentWidget(target.page)
        target.enter()
        self._show_mode_hint()
        return True

    # --------------------------------------------------------------- settings
    def open_settings(self) -> None:
        """Ctrl+, / F10: the settings dialog, only between calls (no modal dialog during a call)."""
        calls = self.agent.calls
        if calls.call_active and not calls.collect().saved:
            self.status.showMessage("通话中不能打开设置：先 Ctrl+S 保存工单", 6000)
            return
        from desktop.dialogs.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.services.settings, self.services.paths, self.tasks, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.apply_settings(dialog.result_settings())
        dialog.deleteLater()

    def apply_settings(self, new: Settings) -> None:
        """Save ``new`` to huiyin.ini (write worker) and apply what can change without a restart."""
        old = self.services.settings
        self.services.settings = new
        path = self.services.paths.config_file
        Op(self.tasks, self, lambda: settings_mod.save(new, path), writes=True).failure(self.report_failure).run()
        if new.font_size != old.font_size or new.theme != old.theme:
            self.apply_font_size(new.font_size, remember=False)
        self.status.set_user(self.services.user, new.seat)
        for workspace in self.workspaces.values():
            workspace.set_actor(self.services.actor)
        if new.user != old.user:
            self.agent.refresh_briefing()
        self._apply_role()
        if new.database_url != old.database_url:
            self.status.showMessage("设置已保存。数据库地址已更改：请重新启动回音后生效", 15000)
        else:
            self.status.showMessage("设置已保存", 5000)

    # --------------------------------------------------------------- ui state
    def splitters(self) -> dict[str, QSplitter]:
        out: dict[str, QSplitter] = {}
        for name, workspace in self.workspaces.items():
            splitter = workspace.main_splitter()
            if splitter is not None:
                out[name] = splitter
        return out

    def restore_ui_state(self) -> bool:
        """Window geometry, splitter sizes and the last mode (``ui-state.ini``); False on a first start."""
        self.ui_state.restore_splitters(self.splitters())
        mode = self.ui_state.value("mode")
        if isinstance(mode, str) and mode != self.mode:
            self.set_mode(mode)  # refused when the role no longer has it
        return self.ui_state.restore_geometry(self)

    def save_ui_state(self) -> None:
        try:
            self.ui_state.save_window(self, self.splitters(), mode=self.mode)
        except OSError as exc:  # cosmetic: never block closing
            log.warning("window state not saved: %s", exc)

    # ------------------------------------------------------------------ font
    def change_font(self, step: int) -> None:
        size = max(FONT_MIN, min(FONT_MAX, self.services.settings.font_size + step))
        if size == self.services.settings.font_size:
            return
        self.apply_font_size(size)

    def apply_font_size(self, size: int, *, remember: bool = True) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            font = QFont(app.font())
            font.setPointSize(size)
            app.setFont(font)  # dialogs and metrics; the widgets take their sizes from the style sheet
            style.apply(app, size, self.services.settings.theme)  # re-polishes only on a change
        if not remember:
            return
        self.services.settings = replace(self.services.settings, font_size=size)
        self._save_settings()
        self.status.showMessage(f"字号 {size}", 2000)

    def _save_settings(self) -> None:
        settings, path = self.services.settings, self.services.paths.config_file
        Op(self.tasks, self, lambda: settings_mod.save(settings, path), writes=True) \
            .failure(self.report_failure).run()

    def toggle_theme(self) -> None:
        """Ctrl+Shift+H: the high-contrast theme on or off (remembered in huiyin.ini)."""
        theme = "default" if self.services.settings.theme == "high_contrast" else "high_contrast"
        self.services.settings = replace(self.services.settings, theme=theme)
        self.apply_font_size(self.services.settings.font_size, remember=False)
        self._save_settings()
        message = f"主题：{style.THEME_LABELS[theme]}（Ctrl+Shift+H 切换）"
        self.status.showMessage(message, 4000)
        self.announcer.announce(self, message)

    # --------------------------------------------------------------- errors
    def report_failure(self, exc: BaseException) -> None:
        if errors.is_known(exc):
            log.warning("operation failed: %s", exc)
            self.status.showMessage(errors.user_message(exc), 8000)
            return
        raise exc  # a bug: the crash handler logs it, keeps the draft and shows the details

    def save_draft_now(self) -> None:
        """Synchronous draft write, for the crash handler and for closing."""
        self.agent.calls.save_draft_now()

    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            self.save_draft_now()
        except OSError as exc:
            log.error("draft not saved on close: %s", exc)
        self.agent.write_search_log(self.agent.search_session.flush())
        self.save_ui_state()
        ended = datetime.now()
        self.ui_state.set_last_shift_end(self.services.user, ended)
        kb, actor = self.services.kb, self.services.actor
        # On the write queue; app.run_gui waits for it to drain before exiting.
        Op(self.tasks, self, lambda: kb.users.end_shift(actor=actor, at=ended), writes=True) \
            .failure(lambda exc: log.warning("shift end not recorded: %s", exc)).run()
        super().closeEvent(event)
