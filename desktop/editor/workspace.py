"""The knowledge editor's workspace: entry table, form with preview, history, conflicts, import, gaps.

The workspace is the controller: its widgets show plain data and emit
signals; every database or index call runs through :class:`desktop.tasks.Op`
(writes on the single write worker, reads on the pool).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from typing import Any, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from desktop import accessibility
from desktop.editor.conflict import ConflictView
from desktop.editor.directory import DirectoryWorkspace
from desktop.editor.entry_form import EntryForm
from desktop.editor.entry_list import EntryListPanel
from desktop.editor.gaps import GapsPanel
from desktop.editor.history import HistoryPanel
from desktop.editor.import_wizard import ImportWizard
from desktop.editor.texts import error_text
from desktop.services import SearchEngine
from desktop.tasks import Op, TaskManager
from desktop.widgets.layout import ScrollPane, size_by_current_page
from kb import editorial as ed
from kb.actor import Actor
from kb.dto import Changes, DepartmentView, EntryDraft, EntryVersionView, EntryView
from kb.errors import ConflictError
from kb.exchange import ImportResult
from kb.service import KnowledgeBase

log = logging.getLogger(__name__)

T = TypeVar("T")
SCHEDULE_MS = 10 * 60 * 1000  # scheduled publishing and expiry
SEARCH_LIMIT = 300


class EditorWorkspace(QWidget):
    """The editor mode of the main window: ``EditorWorkspace(kb, engine, tasks, actor)``.

    ``engine`` may be ``None`` while the index is still opening; pass it later
    with :meth:`set_engine`. Without an engine the search box matches text in
    the database only, and index updates are skipped (the engine's start-up
    sync catches up).
    """

    changed = Signal(object)  # Changes committed by this workspace (for the agent side / status bar)
    # The editor's keys, for the window's F1 help (the page's Alt+letters are listed from the page itself).
    KEYS = (("Ctrl+F", "搜索条目"), ("Ctrl+N", "新建条目"), ("Ctrl+S", "保存条目（焦点在编辑表单中时）"),
            ("Ctrl+Tab / Ctrl+Shift+Tab", "切换标签页：条目、知识缺口、导入导出 / 编辑、版本历史 / 名录与规则"),
            ("↑ ↓ Enter", "在条目列表中选择并打开"))

    def __init__(self, kb: KnowledgeBase, engine: SearchEngine | None, tasks: TaskManager, actor: Actor,
                 parent: QWidget | None = None, *, today: date | None = None,
                 run_schedule: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("editorWorkspace")
        self.kb, self.engine, self.tasks, self.actor = kb, engine, tasks, actor
        self.today = today
        self._pending_conflict: ed.Conflict | None = None
        self._open_after_list: int | None = None

        self.entries = EntryListPanel()
        self.gaps = GapsPanel()
        self.importer = ImportWizard(kb, tasks, actor)
        self.left = QTabWidget()
        self.left.addTab(self.entries, "条目")
        self.left.addTab(self.gaps, "知识缺口")
        self.left.addTab(self.importer, "导入导出")

        self.form = EntryForm(actor.user_id, today=today)
        self.history = HistoryPanel()
        self.conflict = ConflictView()
        self.right_tabs = QTabWidget()
        self.right_tabs.addTab(self.form, "编辑")
        self.right_tabs.addTab(self.history, "版本历史")
        self.right = QStackedWidget()
        self.right.addWidget(self.right_tabs)
        self.right.addWidget(self.conflict)

        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.left)
        splitter.addWidget(self.right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([620, 880])  # the table needs room for titles and hints
        # Second page: the department directory, routing rules, scripts and lexicons.
        self.directory = DirectoryWorkspace(kb, engine, tasks, actor, today=today)
        self.pages = QTabWidget()
        self.pages.setObjectName("editorPages")
        self.pages.addTab(splitter, "知识条目")
        # Its tables are wide: at a large font the page scrolls instead of widening the window.
        self.pages.addTab(ScrollPane(self.directory, sideways=True), "名录与规则")
        for pages in (self.left, self.right, self.right_tabs, self.pages):
            size_by_current_page(pages)  # a hidden page never sets the window's minimum size
        self.status = QLabel("")
        self.status.setObjectName("hintLabel")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages, 1)
        layout.addWidget(self.status)
        self.directory.changed.connect(self._directory_changed)

        QShortcut(QKeySequence("Ctrl+F"), self, self.focus_search,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        QShortcut(QKeySequence("Ctrl+N"), self, lambda: self.new_entry(),
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        accessibility.prepare(self)  # Tab leaves tables and text fields; inner parts get names

        self.entries.filters.changed.connect(lambda _f: self.refresh_list())
        self.entries.table.entry_selected.connect(lambda item: self.open_entry(item.entry.id))
        self.form.save_requested.connect(self.save)
        self.form.transition_requested.connect(self.transition)
        self.form.new_requested.connect(lambda: self.new_entry())
        self.history.rollback_requested.connect(self.rollback)
        self.conflict.chosen.connect(self.resolve)
        self.gaps.refresh_requested.connect(self.refresh_gaps)
        self.gaps.create_entry.connect(lambda gap: self.new_entry(ed.draft_for_gap(gap)))
        self.gaps.open_entry.connect(self._open_from_gap)
        self.gaps.resolve_entry.connect(self.resolve_feedback)
        self.importer.imported.connect(self._imported)

        self._schedule = QTimer(self)
        self._schedule.setInterval(SCHEDULE_MS)
        self._schedule.timeout.connect(self.run_scheduled)
        if run_schedule:
            self._schedule.start()
            QTimer.singleShot(0, self.run_scheduled)
        self.refresh_all()

    # ------------------------------------------------------------ plumbing
    def set_engine(self, engine: SearchEngine | None) -> None:
        self.engine = engine
        self.directory.set_engine(engine)

    def set_actor(self, actor: Actor) -> None:
        """The settings changed the user or role: later saves are recorded under it (and allowed by its role)."""
        self.actor = self.importer.actor = self.directory.ctx.actor = actor
        self.form.user = actor.user_id

    def _directory_changed(self, changes: Changes) -> None:
        """Departments or categories edited on the directory page: the entry form's pickers follow."""
        self.changed.emit(changes)
        if changes.departments or changes.categories:
            self.refresh_all()

    def focus_search(self) -> None:
        self.left.setCurrentWidget(self.entries)
        self.entries.filters.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.entries.filters.search.selectAll()

    def _read(self, key: str, fn: Callable[[], T], on_success: Callable[[T], None]) -> None:
        Op(self.tasks, self, fn).key(key).success(on_success).failure(self._report).run()

    def _write(self, fn: Callable[[], T], on_success: Callable[[T], None],
               on_failure: Callable[[BaseException], None] | None = None) -> None:
        Op(self.tasks, self, fn, writes=True).success(on_success).failure(on_failure or self._report).run()

    def _report(self, exc: BaseException) -> None:
        log.info("editor operation failed: %s", exc)
        self.status.setText(error_text(exc))

    def _apply_index(self, changes: Changes) -> None:
        """Runs on the write worker, right after the commit (the index follows the database)."""
        if self.engine is not None and not changes.empty:
            self.engine.apply_changes(changes)

    def _committed(self, changes: Changes, message: str) -> None:
        self.status.setText(message)
        self.changed.emit(changes)
        self.refresh_list()

    # ------------------------------------------------------------ loading
    def refresh_all(self) -> None:
        kb = self.kb

        def load() -> tuple[list[DepartmentView], list[str]]:
            return kb.directory.departments(), kb.entries.categories()

        self._read("editor-reference", load, self._set_reference)
        self.refresh_list()
        self.gaps.request_refresh()

    def _set_reference(self, data: tuple[list[DepartmentView], list[str]]) -> None:
        departments, categories = data
        self.entries.filters.set_departments(departments)
        self.entries.filters.set_categories(categories)
        self.form.set_departments(departments)
        self.form.set_categories(categories)

    def refresh_list(self) -> None:
        flt = self.entries.filters.current()
        kb, engine = self.kb, self.engine

        def load() -> tuple[list[ed.EntryListItem], bool]:
            if not flt.text or engine is None:
                return ed.list_entries(kb, flt), False
            # Full-text hits first (ranked by the index), then exact substring matches it missed.
            ranked = tuple(h.id for h in engine.search(flt.text, limit=SEARCH_LIMIT, audience="editor"))
            hits = ed.list_entries(kb, replace(flt, text="", ids=ranked)) if ranked else []
            seen = {i.entry.id for i in hits}
            extra = [i for i in ed.list_entries(kb, flt) if i.entry.id not in seen]
            return (hits + extra)[: flt.limit], bool(hits)

        self._read("editor-list", load, self._show_list)

    def _show_list(self, result: tuple[list[ed.EntryListItem], bool]) -> None:
        items, searched = result
        self.entries.set_items(items, searched=searched)
        if self._open_after_list is not None:
            self.entries.table.select_entry(self._open_after_list, emit=False)
            self._open_after_list = None

    def refresh_gaps(self, days: int) -> None:
        kb = self.kb
        now = kb.store.clock()
        since = now - timedelta(days=days) if days else None
        self._read("editor-gaps", lambda: ed.knowledge_gaps(kb, since=since), self.gaps.set_gaps)

    # ------------------------------------------------------------ entries
    def open_entry(self, entry_id: int) -> None:
        kb = self.kb

        def load() -> tuple[EntryView, list[EntryVersionView]]:
            return kb.entries.get(entry_id), kb.entries.history(entry_id)

        self._read("editor-entry", load, self._show_entry)

    def _show_entry(self, data: tuple[EntryView, list[EntryVersionView]]) -> None:
        entry, versions = data
        self.right.setCurrentWidget(self.right_tabs)
        self.form.load(entry)
        self.history.set_history(versions)
        self.status.setText("")

    def new_entry(self, draft: EntryDraft | None = None) -> None:
        self.right.setCurrentWidget(self.right_tabs)
        self.right_tabs.setCurrentWidget(self.form)
        self.form.load(None, draft)
        self.history.clear()
        self.form.title.setFocus()

    def _open_from_gap(self, entry_id: int) -> None:
        self.left.setCurrentWidget(self.entries)
        self._open_after_list = entry_id
        self.entries.table.select_entry(entry_id, emit=False)
        self.right_tabs.setCurrentWidget(self.form)
        self.open_entry(entry_id)

    def save(self, draft: EntryDraft) -> None:
        kb, actor = self.kb, self.actor
        entry = self.form.entry
        entry_id = entry.id if entry else None
        expected = self.form.base_revision

        def work() -> tuple[EntryView, Changes, list[EntryVersionView]]:
            view, changes = kb.entries.save(draft, actor=actor, entry_id=entry_id, expected_revision=expected)
            self._apply_index(changes)
            return view, changes, kb.entries.history(view.id)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ConflictError) and entry_id is not None and expected is not None:
                self._load_conflict(entry_id, draft, expected)
            else:
                self.form.show_error(exc)

        self._write(work, self._saved, failed)

    def _saved(self, result: tuple[EntryView, Changes, list[EntryVersionView]]) -> None:
        view, changes, versions = result
        self.form.load(view)
        self.history.set_history(versions)
        self.right.setCurrentWidget(self.right_tabs)
        msg = f"已保存 {view.external_id}（第 {view.revision} 版）" if changes.entries_upserted else "内容没有变化"
        self._open_after_list = view.id
        self._committed(changes, msg)

    def transition(self, to_status: str) -> None:
        expected = self.form.base_revision
        label = ed.ACTION_LABELS.get(to_status, to_status)
        self._entry_write(
            lambda kb, eid, actor: kb.entries.transition(eid, to_status, actor=actor, expected_revision=expected),
            lambda view: f"{view.external_id} 已{label}", on_error=self.form.show_error)

    def rollback(self, revision: int) -> None:
        expected = self.history.current_revision
        self._entry_write(
            lambda kb, eid, actor: kb.entries.rollback(eid, revision, actor=actor, expected_revision=expected),
            lambda view: f"已回滚到第 {revision} 版，保存为第 {view.revision} 版")

    def _entry_write(self, op: Callable[[KnowledgeBase, int, Actor], tuple[EntryView, Changes]],
                     message: Callable[[EntryView], str],
                     on_error: Callable[[BaseException], None] | None = None) -> None:
        """A write to the open entry (on the write queue), then the form and history reload."""
        entry = self.form.entry
        if entry is None:
            return
        kb, actor = self.kb, self.actor

        def work() -> tuple[EntryView, Changes, list[EntryVersionView]]:
            view, changes = op(kb, entry.id, actor)
            self._apply_index(changes)
            return view, changes, kb.entries.history(entry.id)

        def done(result: tuple[EntryView, Changes, list[EntryVersionView]]) -> None:
            view, changes, versions = result
            self.form.load(view)
            self.history.set_history(versions)
            self._committed(changes, message(view))

        self._write(work, done, on_error)

    # ------------------------------------------------------------ conflicts
    def _load_conflict(self, entry_id: int, mine: EntryDraft, base_revision: int) -> None:
        kb = self.kb
        self._read("editor-conflict", lambda: ed.load_conflict(kb, entry_id, mine, base_revision),
                   self.show_conflict)

    def show_conflict(self, conflict: ed.Conflict) -> None:
        self._pending_conflict = conflict
        self.conflict.show_conflict(conflict)
        self.right.setCurrentWidget(self.conflict)
        self.status.setText("保存冲突：请在右侧选择如何处理")

    def resolve(self, choice: str) -> None:
        conflict = self._pending_conflict
        if conflict is None:
            return
        if choice == "cancel":
            self.right.setCurrentWidget(self.right_tabs)
            self.status.setText("冲突未处理：你的修改仍在表单中，尚未保存")
            return
        if choice == "merge":
            # Edit the merge on top of the current version: the next save checks against it.
            self._pending_conflict = None
            self.right.setCurrentWidget(self.right_tabs)
            self.right_tabs.setCurrentWidget(self.form)
            self.form.load(conflict.theirs, conflict.merged)
            if conflict.conflicting:
                names = "、".join(ed.FIELD_LABELS.get(f, f) for f in conflict.conflicting)
                self.form.error.setText(f"已合并；{names} 两人都改过，当前为你的内容，请核对后保存")
            return
        kb, actor = self.kb, self.actor
        pick: Any = choice

        def work() -> tuple[EntryView, Changes, list[EntryVersionView]]:
            view, changes = ed.resolve_conflict(kb, conflict, pick, actor=actor)
            self._apply_index(changes)
            return view, changes, kb.entries.history(view.id)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, ConflictError):  # saved again meanwhile: show the newest state
                self._load_conflict(conflict.entry_id, conflict.mine, conflict.base_revision)
            else:
                self._report(exc)

        def done(result: tuple[EntryView, Changes, list[EntryVersionView]]) -> None:
            self._pending_conflict = None
            view, changes, versions = result
            self.form.load(view)
            self.history.set_history(versions)
            self.right.setCurrentWidget(self.right_tabs)
            msg = ("已保留你的修改" if choice == "mine" else "已采用对方版本，你的修改已记入审计日志")
            self._committed(changes, f"{msg}（{view.external_id} 第 {view.revision} 版）")

        self._write(work, done, failed)

    # ------------------------------------------------------------ gaps, import, schedule
    def resolve_feedback(self, entry_id: int) -> None:
        kb, actor = self.kb, self.actor

        def done(n: int) -> None:
            self.status.setText(f"已将 {n} 条反馈标记为已处理")
            self.gaps.request_refresh()
            self.refresh_list()

        self._write(lambda: kb.feedback.resolve(entry_id, actor=actor), done)

    def _imported(self, result: ImportResult) -> None:
        def work() -> Changes:
            self._apply_index(result.changes)
            return result.changes

        self._write(work, lambda ch: self._committed(ch, f"导入完成：{result.rows} 行"))
        self.refresh_all()

    def run_scheduled(self) -> None:
        """Scheduled publishing and automatic expiry (idempotent; safe on every seat)."""
        kb = self.kb

        def work() -> Changes:
            system = Actor.system()  # scheduled jobs act as the system
            changes = kb.entries.publish_due(actor=system) | kb.entries.expire_due(actor=system, today=self.today)
            self._apply_index(changes)
            return changes

        def done(changes: Changes) -> None:
            if changes.entries_upserted:
                self._committed(changes, f"定时任务：{len(changes.entries_upserted)} 条已按计划发布或到期下架")

        Op(self.tasks, self, work, writes=True).failure(
            lambda exc: log.warning("scheduled publish/expiry failed: %s", exc)).success(done).run()
