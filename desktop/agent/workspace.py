"""The agent workspace: the call window (widgets, layout, keys), search, the answer and the briefing.

Widgets show plain data and emit signals; the call's lifecycle lives in
:class:`CallController` (``calls``), what the engine says about the call in
:class:`SuggestionController` (``suggest``). Everything that touches the
database or the index runs through :class:`desktop.tasks.Op`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QSplitter, QStackedWidget, QVBoxLayout, QWidget

from desktop import errors
from desktop.accessibility import alert_is_urgent, alert_message
from desktop.agent.call_controller import CallController
from desktop.agent.suggestion_controller import SuggestionController
from desktop.search_log import SearchRecord, SearchSession, SuggestSession
from desktop.services import SearchEngine
from desktop.tasks import Op
from desktop.widgets.alert_banner import AlertBanner
from desktop.widgets.answer_view import AnswerView
from desktop.widgets.briefing import BriefingPanel
from desktop.widgets.call_form import CallForm
from desktop.widgets.caller_bar import CallerBar
from desktop.widgets.layout import ScrollPane, size_by_current_page
from desktop.widgets.repeat_panel import RepeatCallerPanel
from desktop.widgets.restore_bar import RestoreBar
from desktop.widgets.search_panel import SearchPanel
from desktop.widgets.suggestion_pane import SuggestionPane
from desktop.workspaces import WorkspaceHost
from indexer.hits import SearchHit
from kb import editorial as ed
from kb.actor import Actor
from kb.alerts import AlertLexicon
from kb.dto import BulletinView, Changes, DepartmentView, EntryView

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 150
FIRST_SHIFT_DAYS = 7  # a user with no recorded shift end sees the updates of the last week


class AgentWorkspace(QWidget):
    """The call window, the page every seat starts on."""

    def __init__(self, host: WorkspaceHost) -> None:
        super().__init__()
        self.setObjectName("agentPage")
        self.host = host
        self.departments: dict[int, DepartmentView] = {}
        self._greeting: tuple[str, str] | None = None
        self._read_return: QWidget | None = None  # where F7 goes back to
        self.search_session = SearchSession()
        self.suggest_session = SuggestSession()
        self._shortcuts: list[QShortcut] = []
        self.key_table: list[tuple[str, str]] = []
        self._build()
        self.calls = CallController(self)
        self.suggest = SuggestionController(self)
        self._wire()
        self._bind_keys()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.restore_bar = RestoreBar()
        self.caller_bar = CallerBar()
        self.alert_banner = AlertBanner()
        self.call_form = CallForm()
        self.repeat_panel = RepeatCallerPanel()
        self.search_panel = SearchPanel()
        self.suggestions = SuggestionPane()
        self.answer_view = AnswerView()
        self.briefing = BriefingPanel()
        self.answer_stack = QStackedWidget()
        self.answer_stack.addWidget(self.briefing)
        self.answer_stack.addWidget(self.answer_view)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.call_form, 1)
        left_layout.addWidget(self.repeat_panel)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(6, 6, 6, 6)
        middle_layout.addWidget(self.search_panel, 2)
        middle_layout.addWidget(self.suggestions, 3)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        # Each column scrolls by itself when a large font makes it taller than the screen.
        for w, stretch, minimum in ((left, 4, 300), (middle, 4, 280), (self.answer_stack, 5, 320)):
            w.setMinimumWidth(minimum)  # the pane asks for this or the content's minimum width, the larger
            pane = ScrollPane(w)
            self.splitter.addWidget(pane)
            self.splitter.setStretchFactor(self.splitter.indexOf(pane), stretch)
        size_by_current_page(self.answer_stack)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.restore_bar)
        layout.addWidget(self.caller_bar)
        layout.addWidget(self.alert_banner)
        layout.addWidget(self.splitter, 1)

    def tab_chain(self) -> list[QWidget]:
        """Tab order = reading order: restore bar → caller → form → repeat calls (the left column)
        → search → suggestions → answer (or briefing). The window adds its own stops after these."""
        answer = self.answer_view
        return [self.restore_bar.restore_button, self.restore_bar.discard_button,
                self.caller_bar.phone, self.caller_bar.name, self.call_form.request_type, self.call_form.text,
                self.call_form.address, self.call_form.handling, self.call_form.department,
                self.call_form.due, self.call_form.entry_clear, self.repeat_panel.orders, self.search_panel.box,
                self.search_panel.results, self.suggestions.answers, self.suggestions.departments,
                answer.script, answer.copy_button, *answer.feedback_buttons.values(), answer.note,
                self.briefing.bulletins, self.briefing.updates]

    def _wire(self) -> None:
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self.run_search)
        self.search_panel.query_changed.connect(self._on_query)
        self.search_panel.hit_activated.connect(lambda hit: self.open_hit(hit, "search"))
        self.suggestions.answer_activated.connect(lambda hit: self.open_hit(hit, "suggest"))
        self.answer_view.copied.connect(lambda _t: self.host.status.showMessage("已复制答复口径", 3000))
        self.answer_view.feedback.connect(self.send_feedback)
        self.briefing.entry_requested.connect(self.open_entry)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)

    def _bind_keys(self) -> None:
        """The call's keys (switched off in other modes: the editor's Ctrl+S saves the entry), listed in F1."""

        def bind(keys: Sequence[QKeySequence | str], slot: Callable[[], Any], what: str = "") -> None:
            # Two shortcuts on one key are "ambiguous" and neither fires: bind each sequence once.
            unique = {QKeySequence(k).toString(): QKeySequence(k) for k in keys}
            for seq in unique.values():
                sc = QShortcut(seq, self)
                sc.setContext(Qt.ShortcutContext.WindowShortcut)
                sc.activated.connect(slot)
                self._shortcuts.append(sc)
            if what:
                self.key_table.append((" / ".join(unique), what))

        calls = self.calls
        bind(["F2"], calls.new_call, what="新来电（未保存时按两次放弃当前来电）")
        bind(["Ctrl+K", "F3"], self.search_panel.focus_search, what="搜索口径")
        bind(["F4"], self.focus_suggestions, what="到推荐口径列表")
        bind(["F7"], self.read_top_suggestion, what="朗读首条推荐（焦点移到那里；再按 F7 回到原处）")
        bind(["F8"], self.read_alert, what="重读紧急警报（不移动焦点）")
        bind([QKeySequence(QKeySequence.StandardKey.Save)], calls.save, what="保存工单")
        bind(["Esc"], self.back_to_form, what="回到诉求内容")
        bind(["Ctrl+R"], calls.restore_draft, what="恢复未保存的来电")
        for n in range(1, 10):
            bind([f"Alt+{n}"], partial(self.suggestions.pick_department, n))
            bind([f"Ctrl+{n}"], partial(self.suggestions.open_answer, n))
        self.key_table += [("Ctrl+1…9", "打开第 1…9 条推荐口径"), ("Alt+1…9", "选用第 1…9 个推荐承办单位（派单）"),
                           ("Ctrl+C", "复制答复口径（焦点在口径上时）")]
        copy = QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), self.answer_view)
        self._shortcuts.append(copy)
        copy.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        copy.activated.connect(self.answer_view.copy_script)

    # ---------------------------------------------------- the Workspace protocol
    @property
    def page(self) -> QWidget:
        return self

    @property
    def keys(self) -> Sequence[tuple[str, str]]:
        return self.key_table

    def main_splitter(self) -> QSplitter | None:
        return self.splitter

    def set_engine(self, engine: SearchEngine) -> None:
        self.search_panel.set_loading("")
        self.suggest.set_detector(engine.alerts, replace=True)
        if self.search_panel.query:
            self.run_search()
        self.suggest.engine_ready()

    def set_actor(self, actor: Actor) -> None:
        pass  # every write reads the actor from the services when it runs

    def leave_refusal(self) -> str:
        current = self.calls.collect()
        if self.calls.call_active and not current.saved and not current.is_blank:
            return "通话中：先 Ctrl+S 保存工单，再按 F9 进入编辑模式"
        return ""

    def enter(self) -> None:
        self._enable_keys(True)
        if self.calls.call_active:
            self.back_to_form()
        else:
            self.search_panel.focus_search()

    def leave(self) -> None:
        self._enable_keys(False)
        self.write_search_log(self.search_session.flush())

    def _enable_keys(self, on: bool) -> None:
        for sc in self._shortcuts:
            sc.setEnabled(on)

    def apply_changes(self, changes: Changes) -> None:
        if changes.departments or changes.scripts or changes.lexicon or changes.rules:
            self.load_reference_data()
        if changes.entries_upserted or changes.entries_deleted:
            self.refresh_briefing()
            if self.search_panel.query and self.host.engine is not None:
                self.run_search()

    # --------------------------------------------------------- reference data
    def load_reference_data(self) -> None:
        """Departments (the form's list, the answer's phones), the alert lexicon and the greeting script."""
        kb = self.host.services.kb

        def load() -> tuple[list[DepartmentView], AlertLexicon, tuple[str, str] | None]:
            departments = kb.directory.departments()
            terms, kinds = kb.lexicons.alert_records()
            greeting = next(iter(kb.directory.scripts("greeting")), None)
            return (departments, AlertLexicon.shared(terms, kinds),
                    (greeting.title, greeting.body) if greeting else None)

        def loaded(result: tuple[list[DepartmentView], AlertLexicon, tuple[str, str] | None]) -> None:
            departments, lexicon, greeting = result
            self.departments = {d.id: d for d in departments}
            self.call_form.set_departments(departments)
            self.suggest.set_detector(lexicon.detect, replace=False)
            self._greeting = greeting
            if self.calls.call_active and self.answer_view.entry is None:
                self.show_greeting()

        Op(self.host.tasks, self, load).success(loaded).failure(self.host.report_failure).run()

    def show_greeting(self) -> None:
        if self._greeting is not None:
            title, body = self._greeting
            self.answer_view.show_text(title, self.fill_script(body))

    def fill_script(self, body: str) -> str:
        """Fill a script's {seat}, {caller_name}, … from the call; unknown ones become a blank to say."""
        d = self.calls.collect()
        values = {"seat": self.host.services.settings.seat, "caller_name": d.caller_name, "phone": d.phone,
                  "department": self.call_form.department.currentText().split("  ")[0],
                  "due_at": f"{d.due_at:%m月%d日%H:%M}" if d.due_at else ""}
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1)) or "____", body)

    # ------------------------------------------------------------ focus keys
    def focus_suggestions(self) -> None:
        target = self.suggestions.answers if self.suggestions.answers.count() else self.suggestions.departments
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if target.currentRow() < 0 and target.count():
            target.setCurrentRow(0)

    def read_top_suggestion(self) -> None:
        """F7: the focus goes to the top suggestion (the screen reader reads it); F7 again goes back."""
        lists = (self.suggestions.answers, self.suggestions.departments)
        focus = QApplication.focusWidget()
        if focus in lists and self._read_return is not None:
            back, self._read_return = self._read_return, None
            back.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        target = next((view for view in lists if view.count()), None)
        if target is None:
            self.host.announcer.announce(self.suggestions, self.suggestions.state.text())
            return
        self._read_return = focus if focus is not None and focus not in lists else self.call_form.text
        target.setCurrentRow(0)
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def read_alert(self) -> None:
        """F8: the current alert again (the focus stays)."""
        alerts = self.alert_banner.alerts
        self.host.announcer.announce(self.alert_banner, alert_message(alerts) or "没有紧急警报",
                                     assertive=alert_is_urgent(alerts))

    def back_to_form(self) -> None:
        """Esc: back to the description, cursor at the end (between calls: back to the briefing)."""
        if not self.calls.call_active and self.answer_view.entry is not None \
                and not self.calls.collect().text.strip():
            self.answer_view.clear()
            self.update_idle()
        self.call_form.text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.call_form.text.moveCursor(self.call_form.text.textCursor().MoveOperation.End)

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self.window().isAncestorOf(new):
            self.calls.autosave()

    # ----------------------------------------------------------------- search
    def _on_query(self, query: str) -> None:
        if not query:
            self._search_timer.stop()
            self.host.tasks.invalidate("search")
            self.write_search_log(self.search_session.cleared())  # the list was left unused
            return
        if self.host.engine is None:
            self.search_panel.set_loading("正在加载…")
        self._search_timer.start()

    def run_search(self) -> None:
        query = self.search_panel.query
        engine = self.host.engine
        if not query or engine is None:
            return
        Op(self.host.tasks, self, lambda: engine.search(query, limit=20)).key("search") \
            .success(lambda hits: self._show_hits(query, hits)) \
            .failure(lambda exc: self.search_panel.set_error(errors.user_message(exc))).run()

    def _show_hits(self, query: str, hits: list[SearchHit]) -> None:
        self.search_panel.set_results(query, hits)
        if query == self.search_panel.query:
            # Knowledge gaps: only the final query of a search session is recorded (not every keystroke).
            self.write_search_log(self.search_session.shown(query, len(hits)))

    def open_hit(self, hit: SearchHit, source: str) -> None:
        """Enter on a result or a suggestion: show the entry and record it as the answer used."""
        if source == "search":
            query = self.search_session.query or self.search_panel.query
            records = self.search_session.picked(query, self.search_panel.results.count(), hit.id)
        else:
            records = self.suggest_session.picked(self.call_form.text.toPlainText(), hit.id)
        if not self.calls.draft.saved:  # shown only: a saved order keeps the answer it was saved with
            self.call_form.set_entry(hit.external_id, hit.title)
        self.answer_view.focus_script()
        self.open_entry(hit.id, hit.matched)
        self.write_search_log(records)

    def open_entry(self, entry_id: int, matched: tuple[str, ...] = ()) -> None:
        """Show an entry in the answer viewer (from a result, a suggestion or the briefing's updates)."""
        kb = self.host.services.kb
        Op(self.host.tasks, self, lambda: kb.entries.get(entry_id)).key("entry") \
            .success(lambda entry: self._show_entry(entry, matched)) \
            .failure(self.host.report_failure).run()

    def _show_entry(self, entry: EntryView, matched: tuple[str, ...]) -> None:
        dept = self.departments.get(entry.department_id) if entry.department_id is not None else None
        self.answer_view.show_entry(entry, dept, matched, today=self.host.today)
        self.update_idle()
        self.answer_view.focus_script()

    # ------------------------------------------------------- idle briefing
    def update_idle(self) -> None:
        """Between calls the answer column shows the bulletins and the updates since the last shift."""
        idle = not self.calls.call_active and self.answer_view.entry is None and not self.alert_banner.alerts
        self.answer_stack.setCurrentWidget(self.briefing if idle else self.answer_view)

    def refresh_briefing(self) -> None:
        """Bulletins active now and the answers changed since this user's last shift.

        The last shift ends when the database says so (``users.last_shift_end``);
        otherwise when this user last closed Huiyin on this seat (``ui-state.ini``). With
        neither (a first start), the changes of the last week are listed, without the
        "new" ones: to a new user every entry is new.
        """
        kb, user = self.host.services.kb, self.host.services.user
        local_end = self.host.ui_state.last_shift_end(user)

        def load() -> tuple[list[BulletinView], list[ed.EntryUpdate], datetime, bool]:
            now = datetime.now()
            since = kb.users.last_shift_end(user) or local_end
            first = since is None
            since = since or now - timedelta(days=FIRST_SHIFT_DAYS)
            updates = ed.updates_since(kb, since)
            if first:
                updates = [u for u in updates if u.kind != "new"]
            return kb.directory.bulletins(active_at=now), updates, since, first

        def show(result: tuple[list[BulletinView], list[ed.EntryUpdate], datetime, bool]) -> None:
            bulletins, updates, since, first = result
            self.briefing.set_bulletins(bulletins)
            self.briefing.set_updates(updates, since, first_shift=first)

        Op(self.host.tasks, self, load).key("briefing").success(show).failure(self.host.report_failure).run()

    # ------------------------------------------------------ writes (one worker)
    def write_search_log(self, records: Sequence[SearchRecord]) -> None:
        """Knowledge-gap log on the write worker (never on the UI thread)."""
        records = [r for r in records if r.query.strip()]
        if not records:
            return
        kb, actor = self.host.services.kb, self.host.services.actor

        def write() -> None:
            for r in records:
                kb.feedback.log_search(r.mode, r.query[:500], r.hits, picked_entry_id=r.picked_entry_id, actor=actor)

        Op(self.host.tasks, self, write, writes=True) \
            .failure(lambda exc: log.warning("search log not written: %s", exc)).run()

    def send_feedback(self, entry_id: int, kind: str, note: str) -> None:
        kb, actor = self.host.services.kb, self.host.services.actor
        query = self.search_panel.query or self.call_form.text.toPlainText()[:200]
        Op(self.host.tasks, self, lambda: kb.feedback.add(entry_id, kind, note=note, query=query, actor=actor),
           writes=True).success(lambda _r: self.host.status.showMessage("反馈已送交编辑", 3000)) \
            .failure(self.host.report_failure).run()
