"""The agent workspace: one window, no modal dialogs during a call.

The window is the controller: widgets show plain data and emit signals, and
everything that touches the database or the index runs through
:class:`desktop.tasks.Op` (writes on the single write worker, reads on the pool).
The only work done on the UI thread per keystroke is the alert check, which is
pure Python and takes a few milliseconds.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QInputMethodEvent, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QDialog, QSplitter, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from desktop import accessibility, errors, style
from desktop.accessibility import Announcer, alert_is_urgent, alert_message, suggestion_message
from desktop.drafts import CallDraft, DraftStore, Outbox, Refused
from desktop.search_log import SearchRecord, SearchSession, SuggestSession
from desktop.services import SearchEngine, Services
from desktop.tasks import Op
from desktop.ui_state import UiState
from desktop.widgets.alert_banner import AlertBanner
from desktop.widgets.answer_view import AnswerView
from desktop.widgets.briefing import BriefingPanel
from desktop.widgets.call_form import CallForm
from desktop.widgets.caller_bar import CallerBar
from desktop.widgets.key_help import KeyHelpOverlay, page_keys
from desktop.widgets.layout import ScrollPane, size_by_current_page
from desktop.widgets.repeat_panel import RepeatCallerPanel
from desktop.widgets.restore_bar import RestoreBar
from desktop.widgets.search_panel import SearchPanel
from desktop.widgets.status import StatusPanel
from desktop.widgets.suggestion_pane import SuggestionPane
from indexer.hits import SearchHit
from kb import editorial as ed
from kb import settings as settings_mod
from kb import vocab
from kb.actor import Actor
from kb.alerts import Alert, AlertLexicon
from kb.dto import BulletinView, Changes, DepartmentView, EntryView, WorkOrderView
from kb.errors import ValidationError
from kb.phones import normalize_phone
from kb.settings import Settings

if TYPE_CHECKING:  # the engine (whoosh, numpy) loads in the background, not at window start
    from desktop.editor import EditorWorkspace  # editor roles only: imported in _apply_role (≈5 MB)
    from indexer.engine import Suggestion
    from indexer.routing import DepartmentSuggestion

log = logging.getLogger(__name__)

SUGGEST_DEBOUNCE_MS = 200
SEARCH_DEBOUNCE_MS = 150
PHONE_DEBOUNCE_MS = 400
AUTOSAVE_MS = 4000
OUTBOX_RETRY_MS = 30_000
FONT_MIN, FONT_MAX = 9, 22
DISCARD_CONFIRM_MS = 4000
SYNC_MS = 60_000  # other seats' edits (shared database) reach this seat's index
SCHEDULE_MS = 10 * 60_000  # scheduled publishing and automatic expiry
FIRST_SHIFT_DAYS = 7  # a user with no recorded shift end sees the updates of the last week
EDITOR_ROLES = vocab.EDITOR_ROLES
# Keys that would change a saved order's text rather than add new text (refused on a saved form).
EDIT_KEYS = frozenset({Qt.Key.Key_Backspace, Qt.Key.Key_Delete})
EDIT_SEQUENCES = (QKeySequence.StandardKey.Cut, QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo,
                  QKeySequence.StandardKey.DeleteStartOfWord, QKeySequence.StandardKey.DeleteEndOfWord,
                  QKeySequence.StandardKey.DeleteEndOfLine)
MODE_KEYS = ("F9", "Ctrl+E")
SETTINGS_KEYS = ("Ctrl+,", "F10")
THEME_KEYS = ("Ctrl+Shift+H",)

AlertFn = Callable[[str], Sequence[Alert]]


class MainWindow(QWidget):
    """The agent workspace, a top-level QWidget with its own status bar."""

    engine_ready = Signal()
    saved = Signal(object)  # WorkOrderView
    suggestion_shown = Signal(object)  # Suggestion

    def __init__(self, services: Services, *, today: date | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("回音 Huiyin — 12345 坐席助手")
        self.services = services
        self.tasks = services.tasks
        self.engine: SearchEngine | None = None
        self.today = today
        self.drafts = DraftStore(services.paths.drafts_dir)
        self.outbox = Outbox(services.paths.drafts_dir)
        self.draft = CallDraft()
        self.call_active = False
        self._handed_off: CallDraft | None = None  # the current call as last handed to a save (or the outbox)
        self._in_flight: Counter[str] = Counter()  # saves running, by work order id
        self._offered_refused: Refused | None = None  # what the restore bar offers, when a refused order
        self._last_saved_id = ""
        self._alerts_fn: AlertFn | None = None
        self._departments: dict[int, DepartmentView] = {}
        self._greeting: tuple[str, str] | None = None
        self._discard_armed_until = 0.0
        self._loading_form = False
        self._suggestion: Suggestion | None = None
        self.mode = "agent"
        self.editor: EditorWorkspace | None = None
        self.search_session = SearchSession()
        self.suggest_session = SuggestSession()
        self.ui_state = UiState(services.paths.root)
        self._agent_shortcuts: list[QShortcut] = []

        self._build()
        self._wire()
        self._shortcuts()
        self.apply_font_size(services.settings.font_size, remember=False)
        self.status.set_user(services.user, services.settings.seat)
        self.status.set_database(services.kb.is_shared, services.kb.url)
        self.status.set_outbox(len(self.outbox))
        self._apply_role()
        self._load_reference_data()
        self.refresh_briefing()
        self.run_scheduled()
        offer = self.drafts.load()
        if offer is not None:
            self.restore_bar.offer(offer)
        else:
            self.offer_refused()
        self._update_idle()

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
        self.status = StatusPanel()
        self.status.setSizeGripEnabled(False)
        self.settings_button = QToolButton()
        self.settings_button.setText("设置")
        self.settings_button.setToolTip("设置（Ctrl+, 或 F10，通话中不可用）")
        self.settings_button.setAccessibleName("设置")
        self.settings_button.setAutoRaise(True)
        self.settings_button.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # the last Tab stop
        self.status.add_item(self.settings_button)
        # Screen readers: alerts assertively, suggestion counts politely (the status message is the fallback).
        self.announcer = Announcer(self, live_region=lambda text: self.status.showMessage(text, 10000))
        self.key_help = KeyHelpOverlay(self)
        self._read_return: QWidget | None = None  # where F7 goes back to

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

        # The agent page is the call window; editor roles get the editor workspace as a second mode.
        self.agent_page = QWidget()
        self.agent_page.setObjectName("agentPage")
        agent_layout = QVBoxLayout(self.agent_page)
        agent_layout.setContentsMargins(0, 0, 0, 0)
        agent_layout.setSpacing(0)
        agent_layout.addWidget(self.restore_bar)
        agent_layout.addWidget(self.caller_bar)
        agent_layout.addWidget(self.alert_banner)
        agent_layout.addWidget(self.splitter, 1)
        self.modes = QStackedWidget()
        self.modes.addWidget(self.agent_page)
        self._size_modes = size_by_current_page(self.modes)  # the hidden editor never sets the minimum size
        size_by_current_page(self.answer_stack)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.modes, 1)
        layout.addWidget(self.status)

        # Tab order = reading order: restore bar → caller → form → repeat calls (the left column)
        # → search → suggestions → answer (or briefing) → settings.
        answer = self.answer_view
        chain = [self.restore_bar.restore_button, self.restore_bar.discard_button,
                 self.caller_bar.phone, self.caller_bar.name, self.call_form.request_type, self.call_form.text,
                 self.call_form.address, self.call_form.handling, self.call_form.department,
                 self.call_form.due, self.call_form.entry_clear, self.repeat_panel.orders, self.search_panel.box,
                 self.search_panel.results, self.suggestions.answers, self.suggestions.departments,
                 answer.script, answer.copy_button, *answer.feedback_buttons.values(), answer.note,
                 self.briefing.bulletins, self.briefing.updates, self.settings_button]
        for a, b in itertools.pairwise(chain):
            QWidget.setTabOrder(a, b)
        accessibility.prepare(self)

    def _wire(self) -> None:
        self._suggest_timer = self._single_shot(SUGGEST_DEBOUNCE_MS, self._run_suggest)
        self._search_timer = self._single_shot(SEARCH_DEBOUNCE_MS, self._run_search)
        self._phone_timer = self._single_shot(PHONE_DEBOUNCE_MS, self._run_repeat_lookup)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setInterval(AUTOSAVE_MS)
        self._autosave_timer.timeout.connect(self.autosave)
        self._autosave_timer.start()
        self._outbox_timer = QTimer(self)
        self._outbox_timer.setInterval(OUTBOX_RETRY_MS)
        self._outbox_timer.timeout.connect(self.retry_outbox)
        self._outbox_timer.start()
        self._sync_timer = QTimer(self)
        self._sync_timer.setInterval(SYNC_MS)
        self._sync_timer.timeout.connect(self.sync_index)
        self._sync_timer.start()
        self._schedule_timer = QTimer(self)
        self._schedule_timer.setInterval(SCHEDULE_MS)
        self._schedule_timer.timeout.connect(self.run_scheduled)
        self._schedule_timer.start()

        form = self.call_form
        form.description_changed.connect(self._on_description)
        form.address_changed.connect(lambda _t: self._suggest_timer.start())
        form.request_type_changed.connect(lambda _t: self._suggest_timer.start())
        form.handling_changed.connect(self._on_handling)
        form.edited.connect(self._on_edited)
        self.caller_bar.phone_changed.connect(lambda _t: self._phone_timer.start())
        self.caller_bar.edited.connect(self._on_edited)
        # Typing in these after a save starts the next call (see eventFilter); the choices are locked then.
        self._typing_fields = (self.caller_bar.phone, self.caller_bar.name, form.text, form.address)
        for field in self._typing_fields:
            field.installEventFilter(self)
        self.search_panel.query_changed.connect(self._on_query)
        self.search_panel.hit_activated.connect(lambda hit: self.open_hit(hit, "search"))
        self.suggestions.answer_activated.connect(lambda hit: self.open_hit(hit, "suggest"))
        self.suggestions.department_picked.connect(self.pick_department)
        self.answer_view.copied.connect(lambda _t: self.status.showMessage("已复制答复口径", 3000))
        self.answer_view.feedback.connect(self.send_feedback)
        self.restore_bar.restore.connect(self.restore_draft)
        self.restore_bar.discard.connect(self.discard_offered_draft)
        self.briefing.entry_requested.connect(self.open_entry)
        self.settings_button.clicked.connect(self.open_settings)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_focus_changed)

    def _single_shot(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def _shortcuts(self) -> None:
        """Every key of the window, bound once and listed in the F1 help (``self.key_table``)."""
        self.key_table: dict[str, list[tuple[str, str]]] = {"通话": [], "通用": []}

        def bind(keys: Sequence[QKeySequence | str], slot: Callable[[], Any], *, agent: bool = True,
                 what: str = "", shown: str = "") -> None:
            # Two shortcuts on one key are "ambiguous" and neither fires: bind each sequence once.
            # The call's shortcuts are switched off in the editor mode (its Ctrl+S saves the entry).
            unique = {QKeySequence(k).toString(): QKeySequence(k) for k in keys}
            for seq in unique.values():
                sc = QShortcut(seq, self)
                sc.setContext(Qt.ShortcutContext.WindowShortcut)
                sc.activated.connect(slot)
                if agent:
                    self._agent_shortcuts.append(sc)
            if what:
                self.key_table["通话" if agent else "通用"].append((shown or " / ".join(unique), what))

        bind(["F1"], self.show_key_help, agent=False, what="快捷键帮助（再按 F1 或 Esc 关闭）")
        bind(list(MODE_KEYS), self.toggle_mode, agent=False, what="切换接听模式与知识编辑（编辑角色）")
        bind(list(SETTINGS_KEYS), self.open_settings, agent=False, what="设置（通话中不可用）")
        bind(list(THEME_KEYS), self.toggle_theme, agent=False, what="高对比度主题：开 / 关")

        bind(["F2"], self.new_call, what="新来电（未保存时按两次放弃当前来电）")
        bind(["Ctrl+K", "F3"], self.search_panel.focus_search, what="搜索口径")
        bind(["F4"], self.focus_suggestions, what="到推荐口径列表")
        bind(["F7"], self.read_top_suggestion, what="朗读首条推荐（焦点移到那里；再按 F7 回到原处）")
        bind(["F8"], self.read_alert, what="重读紧急警报（不移动焦点）")
        bind([QKeySequence(QKeySequence.StandardKey.Save)], self.save, what="保存工单")
        bind(["Esc"], self.back_to_form, what="回到诉求内容")
        bind([QKeySequence(QKeySequence.StandardKey.ZoomIn), "Ctrl+=", "Ctrl++"], lambda: self.change_font(+1),
             agent=False, what="放大字号", shown="Ctrl+加号")
        bind([QKeySequence(QKeySequence.StandardKey.ZoomOut), "Ctrl+-"], lambda: self.change_font(-1), agent=False,
             what="缩小字号", shown="Ctrl+减号")
        bind(["Ctrl+R"], self.restore_draft, what="恢复未保存的来电")
        for n in range(1, 10):
            bind([f"Alt+{n}"], partial(self.suggestions.pick_department, n))
            bind([f"Ctrl+{n}"], partial(self.suggestions.open_answer, n))
        self.key_table["通话"] += [("Ctrl+1…9", "打开第 1…9 条推荐口径"),
                                   ("Alt+1…9", "选用第 1…9 个推荐承办单位（派单）"),
                                   ("Ctrl+C", "复制答复口径（焦点在口径上时）")]
        self.key_table["通用"] += [("Tab / Shift+Tab", "下一项 / 上一项（按屏幕阅读顺序）"),
                                   ("Ctrl+Tab", "切换标签页"), ("↑ ↓", "在列表中移动"), ("Enter", "打开选中的一项")]
        copy = QShortcut(QKeySequence(QKeySequence.StandardKey.Copy), self.answer_view)
        self._agent_shortcuts.append(copy)
        copy.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        copy.activated.connect(self.answer_view.copy_script)

    # --------------------------------------------------------- startup data
    def _load_reference_data(self) -> None:
        kb = self.services.kb

        def load() -> tuple[list[DepartmentView], AlertLexicon, tuple[str, str] | None]:
            departments = kb.directory.departments()
            terms, kinds = kb.lexicons.alert_records()
            greeting = next(iter(kb.directory.scripts("greeting")), None)
            return (departments, AlertLexicon.shared(terms, kinds),
                    (greeting.title, greeting.body) if greeting else None)

        def loaded(result: tuple[list[DepartmentView], AlertLexicon, tuple[str, str] | None]) -> None:
            departments, lexicon, greeting = result
            self._departments = {d.id: d for d in departments}
            self.call_form.set_departments(departments)
            if self._alerts_fn is None:
                self._alerts_fn = lexicon.detect
                self._check_alerts()
            self._greeting = greeting
            if self.call_active and self.answer_view.entry is None:
                self._show_greeting()

        Op(self.tasks, self, load).success(loaded).failure(self._report_failure).run()
        self.refresh_status()
        self._check_safety_lexicon()

    def _check_safety_lexicon(self) -> None:
        """An incomplete safety lexicon is said loudly at start (and after lexicon edits): red status, log."""
        from kb.sample import LexiconCheck, check_lexicon

        kb = self.services.kb

        def shown(check: LexiconCheck) -> None:
            if not check.ok:
                log.error("%s", check.summary())
            self.status.set_safety(check.problems())

        Op(self.tasks, self, lambda: check_lexicon(kb)).key("safety_lexicon").success(shown) \
            .failure(self._report_failure).run()

    def start_engine(self, open_engine: Callable[[], SearchEngine]) -> None:
        """Open the engine off the UI thread (it loads jieba), then bring the index up to date."""
        self.search_panel.set_loading("正在加载分词词典和索引…")
        self.status.set_index("索引：正在加载…")
        Op(self.tasks, self, open_engine).success(self.set_engine).failure(self._engine_failed).run()

    def set_engine(self, engine: SearchEngine) -> None:
        self.engine = engine
        self._alerts_fn = engine.alerts
        self.status.set_index("索引：正在同步…")
        self.search_panel.set_loading("")
        Op(self.tasks, self, engine.sync, writes=True).success(lambda _n: self.refresh_status()) \
            .failure(self._index_failed).run()
        if self.search_panel.query:
            self._run_search()
        if self.call_form.text.toPlainText().strip():
            self._run_suggest()
        self._check_alerts()
        if self.editor is not None:
            self.editor.set_engine(engine)
        self.engine_ready.emit()

    def _engine_failed(self, exc: BaseException) -> None:
        log.error("search engine unavailable: %s", exc, exc_info=exc)
        self.status.set_index("索引：不可用")
        self.search_panel.set_error(errors.user_message(exc))

    def _index_failed(self, exc: BaseException) -> None:
        log.warning("index sync failed: %s", exc, exc_info=exc)
        self.status.set_index("索引：同步失败（" + errors.user_message(exc) + "）")

    def refresh_status(self) -> None:
        kb = self.services.kb
        engine = self.engine

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

        Op(self.tasks, self, read).key("status").success(show).failure(self._report_failure).run()

    # --------------------------------------------------------------- the call
    def new_call(self) -> None:
        """F2: a fresh call. An unsaved call is never dropped silently: F2 twice within 4 s."""
        if self._is_unsaved(self.collect()) and time.monotonic() > self._discard_armed_until:
            self._discard_armed_until = time.monotonic() + DISCARD_CONFIRM_MS / 1000
            self.status.showMessage("当前来电尚未保存：Ctrl+S 保存；再按一次 F2 放弃并开始新来电",
                                    DISCARD_CONFIRM_MS)
            return
        self._discard_armed_until = 0.0
        self._start_call()
        self.caller_bar.phone.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.status.showMessage("新来电：输入号码，Tab 到诉求内容", 4000)

    def _start_call(self) -> None:
        """A blank call with a fresh work-order id, the timer running."""
        current = self.collect()
        if self.call_active and not current.saved:
            self._write_search_log(self.suggest_session.ended(current.entry or None))
        self.suggest_session.reset()
        self._load_draft(CallDraft())
        self.call_active = True
        self.caller_bar.start_call()
        self._show_greeting()
        self._update_idle()

    def _is_unsaved(self, current: CallDraft) -> bool:
        """The call on screen has content that is neither saved nor on its way (a save running, the outbox)."""
        return (self.call_active and not current.saved and not current.is_blank
                and not current.same_order(self._handed_off))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """After a save, new text typed (or pasted) in a text field starts the next call, then goes into it.

        The saved order stays as saved: the next caller's matter, typed without F2,
        gets a blank form and a fresh work-order id (the phone starts empty). Keys
        that would change the saved text (Backspace, Delete, Ctrl+X, Ctrl+Z) do nothing.
        """
        if self.draft.saved and watched in self._typing_fields:
            kind = _edit_kind(event)
            if kind == "change":
                self.status.showMessage("工单已保存，不能再修改；直接输入或按 F2 开始下一通来电", 6000)
                return True
            if kind == "input":
                self._start_call()
                self.status.showMessage(f"新来电：上一张工单已保存（{self._last_saved_id[:8]}），不会被修改", 6000)
        return super().eventFilter(watched, event)

    def _show_greeting(self) -> None:
        if self._greeting is not None:
            title, body = self._greeting
            self.answer_view.show_text(title, self.fill_script(body))

    def fill_script(self, body: str) -> str:
        """Fill a script's {seat}, {caller_name}, … from the call; unknown ones become a blank to say."""
        d = self.collect()
        values = {"seat": self.services.settings.seat, "caller_name": d.caller_name, "phone": d.phone,
                  "department": self.call_form.department.currentText().split("  ")[0],
                  "due_at": f"{d.due_at:%m月%d日%H:%M}" if d.due_at else ""}
        return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1)) or "____", body)

    def _load_draft(self, draft: CallDraft) -> None:
        self._loading_form = True
        try:
            if self.draft.saved:
                self._last_saved_id = self.draft.id
            self.draft = draft
            self._handed_off = None
            self.caller_bar.set_values(draft.phone, draft.caller_name)
            self.caller_bar.set_repeat(0)
            self.caller_bar.set_place(draft.district or None, draft.street or None)
            self.call_form.load(draft)
            self.call_form.set_saved(None)
            self.search_panel.box.clear()
            self.suggestions.clear()
            self.answer_view.clear()
            self.alert_banner.set_alerts([])
            self.repeat_panel.set_orders([])
            self._suggestion = None
        finally:
            self._loading_form = False
        self.tasks.invalidate("suggest")
        self.tasks.invalidate("repeat")
        if draft.text.strip():
            self._check_alerts()
            self._suggest_timer.start()
        if draft.phone.strip():
            self._phone_timer.start()

    def collect(self) -> CallDraft:
        """The current call as typed (the widgets are the truth; ``self.draft`` adds the rest)."""
        d = self.call_form.read(self.draft)
        return d.with_(phone=self.caller_bar.phone.text().strip(), caller_name=self.caller_bar.name.text().strip(),
                       query=self.search_panel.query or d.query)

    def _on_edited(self) -> None:
        if self._loading_form:
            return
        if self.draft.saved:
            self._detach_from_saved()
            return
        if not self.call_active:
            # Typing without F2 first still takes the call (and starts the timer).
            self.call_active = True
            self.caller_bar.start_call()
            self._update_idle()

    def _detach_from_saved(self) -> None:
        """An edit reached a saved form another way than typing (a menu's paste, a drop): never on the saved order.

        The form's content becomes a new work order with a fresh id; a change that
        changed nothing (the department list reloaded) leaves the saved form as it is.
        """
        current = self.collect()
        if current.same_order(self.draft):
            return
        fresh = CallDraft()
        self._last_saved_id = self.draft.id
        self.draft = self.draft.with_(id=fresh.id, received_at=fresh.received_at, saved=False)
        self.call_form.set_saved(None)
        self.call_active = True
        self.caller_bar.start_call()
        self._update_idle()
        self.status.showMessage(f"已保存的工单（{self._last_saved_id[:8]}）不会被修改：当前内容将另存为新工单；"
                                "F2 开始新来电", 10000)

    def _on_description(self, text: str) -> None:
        self._check_alerts(text)
        if text.strip():
            self.suggestions.set_pending()
            self._suggest_timer.start()
        else:
            self._suggest_timer.stop()
            self.tasks.invalidate("suggest")
            self.suggestions.clear()

    def _check_alerts(self, text: str | None = None) -> None:
        """Synchronous on purpose: an emergency must show within the keystroke."""
        if self._alerts_fn is None:
            return
        text = self.call_form.text.toPlainText() if text is None else text
        alerts = list(self._alerts_fn(text)) if text.strip() else []
        before = {a.kind for a in self.alert_banner.alerts}
        self.alert_banner.set_alerts(alerts)
        raised = [a for a in alerts if a.kind not in before]
        if raised:  # a new emergency or an escalation: spoken at once, the caret stays in 诉求内容
            self.announcer.announce(self.alert_banner, alert_message(raised), assertive=alert_is_urgent(raised))
        if alerts:
            self._update_idle()

    def _on_handling(self, handling: str) -> None:
        if handling == "dispatched" and self._suggestion is not None:
            self.call_form.set_due_at(self._suggestion.due_at)

    # ------------------------------------------------------------ suggestions
    def _run_suggest(self) -> None:
        text = self.call_form.text.toPlainText()
        if not text.strip():
            return
        engine = self.engine
        if engine is None:
            self.suggestions.set_pending("正在加载知识库…（加载完成后自动推荐）")
            return
        address = self.call_form.address.text()
        request_type = self.call_form.request_type_code
        Op(self.tasks, self, lambda: engine.suggest(text, address=address, request_type=request_type)) \
            .key("suggest").success(lambda s: self._show_suggestion(s, text)).failure(self._suggest_failed).run()

    def _show_suggestion(self, suggestion: Suggestion, text: str | None = None) -> None:
        self._suggestion = suggestion
        self.suggest_session.shown(self.call_form.text.toPlainText() if text is None else text,
                                   {h.external_id: h.id for h in suggestion.answers})
        shown = accessibility.rows_text(self.suggestions.answers, self.suggestions.departments)
        self.suggestions.set_suggestion(suggestion)
        if accessibility.rows_text(self.suggestions.answers, self.suggestions.departments) != shown:
            self.announcer.announce(self.suggestions, suggestion_message(
                self.suggestions.answers.count(), self.suggestions.departments.count()))
        if self.draft.saved:  # a late answer: the saved order is shown as it was saved
            return
        self.caller_bar.set_place(suggestion.place.district, suggestion.place.street)
        self.draft = self.draft.with_(
            district=suggestion.place.district or "", street=suggestion.place.street or "",
            urgency=suggestion.urgency, category=suggestion.categories[0].name if suggestion.categories else "")
        if self.call_form.handling_code == "dispatched":
            self.call_form.set_due_at(suggestion.due_at)
        self.suggestion_shown.emit(suggestion)

    def _suggest_failed(self, exc: BaseException) -> None:
        log.warning("suggest failed: %s", exc, exc_info=exc)
        self.suggestions.set_pending(errors.user_message(exc))

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
            self.announcer.announce(self.suggestions, self.suggestions.state.text())
            return
        self._read_return = focus if focus is not None and focus not in lists else self.call_form.text
        target.setCurrentRow(0)
        target.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def read_alert(self) -> None:
        """F8: the current alert again (the focus stays)."""
        alerts = self.alert_banner.alerts
        self.announcer.announce(self.alert_banner, alert_message(alerts) or "没有紧急警报",
                                assertive=alert_is_urgent(alerts))

    def show_key_help(self) -> None:
        """F1: the keys of the current mode, the general ones and the Alt+letters of the page."""
        if self.key_help.is_open:
            self.key_help.close_help()
            return
        sections = [("通用", self.key_table["通用"])]
        if self.mode == "agent":
            sections.insert(0, ("通话", self.key_table["通话"]))
        elif self.editor is not None:
            sections.insert(0, ("知识编辑", self.editor.KEYS))
        page = self.modes.currentWidget()
        if page is not None:
            sections.append(("本页（Alt+字母到达按钮或输入框）", page_keys(page)))
        self.key_help.open_help(sections)

    def pick_department(self, dept: DepartmentSuggestion) -> None:
        if self.draft.saved:
            self.status.showMessage("工单已保存，不能再修改；F2 或直接输入开始下一通来电", 6000)
            return
        form = self.call_form
        form.set_handling("dispatched")
        if not form.select_department(dept.external_id):
            self.status.showMessage(f"承办单位不在列表中：{dept.name}", 5000)
            return
        if self._suggestion is not None:
            form.set_due_at(self._suggestion.due_at)
        due = form.due_at
        when = f"，办理时限 {due:%m-%d %H:%M}" if due else ""
        self.status.showMessage(f"已选承办单位：{dept.name}{when}", 5000)

    # ----------------------------------------------------------- repeat caller
    def _run_repeat_lookup(self) -> None:
        phone = self.caller_bar.phone.text().strip()
        if len(phone) < 5:
            self.tasks.invalidate("repeat")
            self._show_repeat([])
            return
        kb, current = self.services.kb, self.draft.id
        Op(self.tasks, self, lambda: [w for w in kb.work_orders.by_phone(phone) if w.id != current]) \
            .key("repeat").success(self._show_repeat).failure(self._report_failure).run()

    def _show_repeat(self, orders: list[WorkOrderView]) -> None:
        self.caller_bar.set_repeat(len(orders))
        self.repeat_panel.set_orders(orders)

    # ----------------------------------------------------------------- search
    def _on_query(self, query: str) -> None:
        if not query:
            self._search_timer.stop()
            self.tasks.invalidate("search")
            self._write_search_log(self.search_session.cleared())  # the list was left unused
            return
        if self.engine is None:
            self.search_panel.set_loading("正在加载…")
        self._search_timer.start()

    def _run_search(self) -> None:
        query = self.search_panel.query
        engine = self.engine
        if not query or engine is None:
            return
        Op(self.tasks, self, lambda: engine.search(query, limit=20)).key("search") \
            .success(lambda hits: self._show_hits(query, hits)) \
            .failure(lambda exc: self.search_panel.set_error(errors.user_message(exc))).run()

    def _show_hits(self, query: str, hits: list[SearchHit]) -> None:
        self.search_panel.set_results(query, hits)
        if query == self.search_panel.query:
            # Knowledge gaps: only the final query of a search session is recorded (not every keystroke).
            self._write_search_log(self.search_session.shown(query, len(hits)))

    def open_hit(self, hit: SearchHit, source: str) -> None:
        """Enter on a result or a suggestion: show the entry and record it as the answer used."""
        if source == "search":
            query = self.search_session.query or self.search_panel.query
            records = self.search_session.picked(query, self.search_panel.results.count(), hit.id)
        else:
            records = self.suggest_session.picked(self.call_form.text.toPlainText(), hit.id)
        if not self.draft.saved:  # shown only: a saved order keeps the answer it was saved with
            self.call_form.set_entry(hit.external_id, hit.title)
        self.answer_view.focus_script()
        self.open_entry(hit.id, hit.matched)
        self._write_search_log(records)

    def open_entry(self, entry_id: int, matched: tuple[str, ...] = ()) -> None:
        """Show an entry in the answer viewer (from a result, a suggestion or the briefing's updates)."""
        kb = self.services.kb
        Op(self.tasks, self, lambda: kb.entries.get(entry_id)).key("entry") \
            .success(lambda entry: self._show_entry(entry, matched)) \
            .failure(self._report_failure).run()

    def _show_entry(self, entry: EntryView, matched: tuple[str, ...]) -> None:
        dept = self._departments.get(entry.department_id) if entry.department_id is not None else None
        self.answer_view.show_entry(entry, dept, matched, today=self.today)
        self._update_idle()
        self.answer_view.focus_script()

    def back_to_form(self) -> None:
        """Esc: back to the description, cursor at the end (between calls: back to the briefing)."""
        if not self.call_active and self.answer_view.entry is not None and not self.collect().text.strip():
            self.answer_view.clear()
            self._update_idle()
        self.call_form.text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.call_form.text.moveCursor(self.call_form.text.textCursor().MoveOperation.End)

    # ------------------------------------------------------- idle briefing
    def _update_idle(self) -> None:
        """Between calls the answer column shows the bulletins and the updates since the last shift."""
        idle = not self.call_active and self.answer_view.entry is None and not self.alert_banner.alerts
        self.answer_stack.setCurrentWidget(self.briefing if idle else self.answer_view)

    def refresh_briefing(self) -> None:
        """Bulletins active now and the answers changed since this user's last shift.

        The last shift ends when the database says so (``users.last_shift_end``);
        otherwise when this user last closed Huiyin on this seat. With neither
        (a first start), the changes of the last week are listed, without the
        "new" ones: to a new user every entry is new.
        """
        kb, user = self.services.kb, self.services.user
        local_end = self.ui_state.last_shift_end(user)

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

        Op(self.tasks, self, load).key("briefing").success(show).failure(self._report_failure).run()

    # ------------------------------------------------------ writes (one worker)
    def _write_search_log(self, records: Sequence[SearchRecord]) -> None:
        """Knowledge-gap log on the write worker (never on the UI thread)."""
        records = [r for r in records if r.query.strip()]
        if not records:
            return
        kb, actor = self.services.kb, self.services.actor

        def write() -> None:
            for r in records:
                kb.feedback.log_search(r.mode, r.query[:500], r.hits, picked_entry_id=r.picked_entry_id, actor=actor)

        Op(self.tasks, self, write, writes=True) \
            .failure(lambda exc: log.warning("search log not written: %s", exc)).run()

    def send_feedback(self, entry_id: int, kind: str, note: str) -> None:
        kb, actor = self.services.kb, self.services.actor
        query = self.search_panel.query or self.call_form.text.toPlainText()[:200]
        Op(self.tasks, self, lambda: kb.feedback.add(entry_id, kind, note=note, query=query, actor=actor),
           writes=True).success(lambda _r: self.status.showMessage("反馈已送交编辑", 3000)) \
            .failure(self._report_failure).run()

    def validate(self, draft: CallDraft) -> dict[str, str]:
        problems = self.call_form.validate()
        if draft.phone:
            try:
                normalize_phone(draft.phone, default_area_code=self.services.settings.city_area_code)
            except ValidationError as exc:
                problems["phone"] = exc.reason
        return problems

    def save(self) -> None:
        """Ctrl+S: validate inline, then save on the write worker (same UUID: a retry never duplicates)."""
        draft = self.collect()
        if draft.saved:
            self.status.showMessage(f"工单已保存（{draft.id[:8]}），无需再存；直接输入或 F2 开始下一通来电", 6000)
            return
        problems = self.validate(draft)
        if problems:
            first = self.call_form.show_errors(problems)
            if "phone" in problems:
                self.caller_bar.phone.setFocus(Qt.FocusReason.OtherFocusReason)
                self.status.showMessage(f"来电号码：{problems['phone']}", 6000)
            else:
                if first is not None:
                    first.setFocus(Qt.FocusReason.OtherFocusReason)
                self.status.showMessage("请先修正标红的内容再保存", 6000)
            return
        self.call_form.clear_errors()
        self.draft = draft
        self._handed_off = draft
        try:  # written ahead: a crash or a database that never answers loses nothing
            self.outbox.put(draft)
        except OSError as exc:
            log.error("work order %s not written to the outbox: %s", draft.id, exc)
        self.status.showMessage("正在保存工单…")
        self._submit(draft, retry=False)

    def _submit(self, draft: CallDraft, *, retry: bool) -> None:
        """Save ``draft`` on the write worker; the UI never waits for it (a new call can start meanwhile)."""
        kb, seat, actor, engine = self.services.kb, self.services.settings.seat, self.services.actor, self.engine

        def save() -> WorkOrderView:
            view, changes = kb.work_orders.save(draft.work_order(seat=seat), actor=actor)
            if engine is not None:  # the routing history counts this case at once
                engine.apply_changes(changes)
            return view

        self._in_flight[draft.id] += 1
        Op(self.tasks, self, save, writes=True).success(lambda view: self._saved(draft, view)) \
            .failure(lambda exc: self._save_failed(draft, exc, retry=retry)) \
            .finally_(lambda: self._landed(draft.id)).run()

    def _landed(self, draft_id: str) -> None:
        self._in_flight[draft_id] -= 1
        if self._in_flight[draft_id] <= 0:
            del self._in_flight[draft_id]

    def _last_in_flight(self, draft_id: str) -> bool:
        """No later save of the same order is still running (whose content the outbox file holds)."""
        return self._in_flight[draft_id] <= 1

    def _saved(self, draft: CallDraft, view: WorkOrderView) -> None:
        if self._last_in_flight(draft.id):
            self.outbox.remove(draft.id)
        self.status.set_outbox(len(self.outbox))
        self._withdraw_refused(draft.id)
        current = self.collect()
        if self.draft.id != draft.id:  # an earlier call (the agent moved on, or the outbox)
            self.status.showMessage(f"工单已保存（{view.id[:8]}）", 8000)
        elif self.draft.saved:  # a second save of the same content (Ctrl+S pressed twice)
            pass
        elif current.same_order(draft):
            self._show_saved(current, view)
        elif not current.same_order(self._handed_off):
            self.status.showMessage(f"工单已保存（{view.id[:8]}），但之后的修改尚未保存：请再按 Ctrl+S", 10000)
        self.saved.emit(view)

    def _show_saved(self, current: CallDraft, view: WorkOrderView) -> None:
        """The call is over: the form becomes a summary of the saved order (typing starts the next call)."""
        self.draft = current.with_(saved=True)
        self.call_active = False
        self.caller_bar.stop_call()
        self.call_form.set_saved(f"已保存 工单 {view.id[:8]}（{view.received_at:%H:%M} 来电）。"
                                 "直接输入即开始下一通来电，或按 F2")
        self._clear_draft_file()
        # The call is over: its last search list and its suggestions are accounted for.
        self._write_search_log(self.search_session.flush() + self.suggest_session.ended(current.entry or None))
        self._update_idle()
        self.status.showMessage(f"工单已保存（{view.id[:8]}）。直接输入或按 F2 接听下一通", 8000)

    def _save_failed(self, draft: CallDraft, exc: BaseException, *, retry: bool = False) -> None:
        """Environmental failures wait in the outbox; content the database refuses goes back to the agent."""
        if errors.is_retryable(exc):
            if self._last_in_flight(draft.id):
                try:
                    self.outbox.put(draft)
                except OSError as put_exc:
                    log.error("work order %s not written to the outbox: %s", draft.id, put_exc)
            self.status.set_outbox(len(self.outbox))
            if retry:
                log.info("outbox retry of %s failed: %s", draft.id, exc)
            else:
                log.warning("work order %s queued in the outbox: %s", draft.id, exc)
                self.status.showMessage(errors.user_message(exc), 10000)
            return
        # Refused for its content (or a bug): never queued, never retried.
        if draft.same_order(self._handed_off):
            self._handed_off = None
        if self.draft.id == draft.id and not self.draft.saved:  # the call is on screen: show it at the field
            if self._last_in_flight(draft.id):
                self.outbox.remove(draft.id)
            self.status.set_outbox(len(self.outbox))
            self._show_save_problem(exc)
        else:
            self._refuse(draft, exc)
        if not errors.is_known(exc):
            raise exc  # a bug: the crash handler logs it (the order is kept above)

    def _show_save_problem(self, exc: BaseException, prefix: str = "未保存：") -> None:
        """The reason under its field (focused), and in the status bar."""
        field = exc.field if isinstance(exc, ValidationError) else ""
        target: QWidget | None = {"phone": self.caller_bar.phone, "caller_name": self.caller_bar.name}.get(field)
        if field in self.call_form.errors and isinstance(exc, ValidationError):
            target = self.call_form.show_errors({field: exc.reason})
        if target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)
        self.status.showMessage(prefix + errors.user_message(exc), 15000)

    def _refuse(self, draft: CallDraft, exc: BaseException) -> None:
        """An order of an earlier call refused for its content: kept aside and offered back to the agent."""
        log.warning("work order %s refused: %s", draft.id, exc)
        reason, field = (exc.reason, exc.field) if isinstance(exc, ValidationError) else (errors.user_message(exc), "")
        try:
            self.outbox.refuse(draft, reason, field=field)
        except OSError as write_exc:  # it stays in the outbox: better retried than lost
            log.error("refused work order %s not set aside: %s", draft.id, write_exc)
        self.status.set_outbox(len(self.outbox))
        self.status.showMessage(f"一张工单未能保存（{errors.user_message(exc)}），已退回：请在上方恢复，"
                                "修改后再保存", 15000)
        self.offer_refused()

    def offer_refused(self) -> None:
        """Offer the oldest refused work order in the restore bar (when the bar is free)."""
        if self.restore_bar.draft is not None:
            return
        refused = [r for r in self.outbox.refused() if r.draft.id != self.draft.id]  # not the one on screen
        if refused:
            first = refused[0]
            self._offered_refused = first
            problem = errors.user_message(ValidationError(first.reason, field=first.field))
            self.restore_bar.offer(first.draft, problem=problem)

    def _withdraw_refused(self, draft_id: str) -> None:
        """The order is in the database after all: its refused copy would only go back in time."""
        self.outbox.drop_refused(draft_id)
        offered = self._offered_refused
        if offered is not None and offered.draft.id == draft_id:
            self.restore_bar.take()
            self._offered_refused = None
            self.offer_refused()

    def retry_outbox(self) -> None:
        """Every 30 s: the orders waiting in the outbox, except those with a save still running."""
        for draft in self.outbox.items():
            if not self._in_flight[draft.id]:
                self._submit(draft, retry=True)

    # -------------------------------------------------------------- drafts
    def autosave(self) -> None:
        """Every few seconds and on every focus change: write the draft file if anything changed."""
        if not self.call_active:
            return
        draft = self.collect()
        if draft.is_blank or draft.saved:
            return
        store = self.drafts  # a local file: its own worker, never behind a database write that hangs
        Op(self.tasks, self, lambda: store.save(draft), files=True) \
            .failure(lambda exc: self.status.showMessage("草稿未能写入：" + errors.user_message(exc), 5000)).run()

    def save_draft_now(self) -> None:
        """Synchronous draft write, for the crash handler and for closing."""
        draft = self.collect()
        if self.call_active and not draft.is_blank and not draft.saved:
            self.drafts.save(draft)

    def _clear_draft_file(self) -> None:
        store = self.drafts
        Op(self.tasks, self, store.clear, files=True).failure(self._report_failure).run()

    def _on_focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self.isAncestorOf(new):
            self.autosave()

    def restore_draft(self) -> None:
        if self.restore_bar.draft is None:
            return
        if self._is_unsaved(self.collect()):
            self.status.showMessage("当前来电尚未保存：先 Ctrl+S 保存（或按两次 F2 放弃），再恢复", 6000)
            return
        draft = self.restore_bar.take()
        refused, self._offered_refused = self._offered_refused, None
        if draft is None:
            return
        self._load_draft(draft)
        self.call_active = True
        elapsed = max((datetime.now() - draft.received_at).total_seconds(), 0.0)
        self.caller_bar.start_call(elapsed)
        self._update_idle()
        self.back_to_form()
        if refused is None:
            self.status.showMessage("已恢复未保存的来电，请核对后 Ctrl+S 保存", 6000)
            return
        store, outbox = self.drafts, self.outbox

        def keep() -> None:  # the draft file holds it before its refused copy goes (after a pending clear)
            store.save(draft)
            outbox.drop_refused(draft.id)

        Op(self.tasks, self, keep, files=True) \
            .failure(lambda exc: log.error("restored work order %s not kept as the draft: %s", draft.id, exc)).run()
        self._show_save_problem(ValidationError(refused.reason, field=refused.field),
                                prefix="已恢复未能保存的工单，请修改后 Ctrl+S 保存：")
        self.offer_refused()

    def discard_offered_draft(self) -> None:
        draft = self.restore_bar.take()
        refused, self._offered_refused = self._offered_refused, None
        if draft is None:
            return
        if refused is not None:  # the agent's explicit choice
            log.warning("refused work order %s discarded by %s", draft.id, self.services.user)
            self.outbox.drop_refused(draft.id)
            self.status.showMessage(f"已丢弃未能保存的工单（{draft.id[:8]}）", 6000)
        else:
            self._clear_draft_file()
        self.offer_refused()

    # ------------------------------------------------------------ editor mode
    @property
    def can_edit(self) -> bool:
        return self.services.settings.role in EDITOR_ROLES

    def _apply_role(self) -> None:
        """Editors, reviewers and admins get the editor workspace as a second mode (F9)."""
        if self.can_edit and self.editor is None:
            from desktop.editor import EditorWorkspace  # agents' seats never load the editor

            kb, actor = self.services.kb, self.services.actor
            # The window runs scheduled publishing for every seat (run_scheduled), not the editor.
            self.editor = EditorWorkspace(kb, self.engine, self.tasks, actor, today=self.today, run_schedule=False)
            self.editor.changed.connect(self._on_editor_changed)
            self.modes.addWidget(self.editor)
            self._size_modes()
        if not self.can_edit and self.mode == "editor":
            self.set_mode("agent")
        self._show_mode_hint()

    def _show_mode_hint(self) -> None:
        if not self.can_edit:
            self.status.set_mode("")
        elif self.mode == "editor":
            self.status.set_mode("编辑模式 · F9 回到接听")
        else:
            self.status.set_mode("接听模式 · F9 知识编辑")

    def toggle_mode(self) -> None:
        """F9 / Ctrl+E: switch between the call window and the editor workspace."""
        if not self.can_edit:
            return
        self.set_mode("agent" if self.mode == "editor" else "editor")

    def set_mode(self, mode: str) -> bool:
        if mode == self.mode:
            return True
        if mode == "editor":
            if self.editor is None:
                return False
            current = self.collect()
            if self.call_active and not current.saved and not current.is_blank:
                self.status.showMessage("通话中：先 Ctrl+S 保存工单，再按 F9 进入编辑模式", 6000)
                return False
            self._write_search_log(self.search_session.flush())
            self.mode = "editor"
            self.modes.setCurrentWidget(self.editor)
            self.editor.refresh_list()
            self.editor.focus_search()
        else:
            self.mode = "agent"
            self.modes.setCurrentWidget(self.agent_page)
            if self.call_active:
                self.back_to_form()
            else:
                self.search_panel.focus_search()
        for sc in self._agent_shortcuts:
            sc.setEnabled(self.mode == "agent")
        self._show_mode_hint()
        return True

    def _on_editor_changed(self, changes: Changes) -> None:
        """An edit was committed (the editor already updated the index on the write worker)."""
        self.refresh_status()
        if changes.departments or changes.scripts or changes.lexicon or changes.rules:
            self._load_reference_data()
        if changes.entries_upserted or changes.entries_deleted:
            self.refresh_briefing()
            if self.search_panel.query and self.engine is not None:
                self._run_search()

    # --------------------------------------------------- index and schedule
    def sync_index(self) -> None:
        """Catch up with edits made on other seats (a shared database); cheap when nothing changed."""
        engine = self.engine
        if engine is None:
            return

        def done(touched: int) -> None:
            if touched:
                self.refresh_status()
                self.refresh_briefing()

        Op(self.tasks, self, engine.sync, writes=True).success(done).failure(self._index_failed).run()

    def run_scheduled(self) -> None:
        """Scheduled publishing and automatic expiry, on the write worker (idempotent on every seat)."""
        kb, today = self.services.kb, self.today

        def work() -> Changes:
            system = Actor.system()  # scheduled jobs act as the system, on every seat
            changes = kb.entries.publish_due(actor=system) | kb.entries.expire_due(actor=system, today=today)
            engine = self.engine  # None while opening: its start-up sync catches up
            if engine is not None and not changes.empty:
                engine.apply_changes(changes)
            return changes

        def done(changes: Changes) -> None:
            if changes.entries_upserted or changes.entries_deleted:
                log.info("scheduled publish/expiry: %d entries", len(changes.entries_upserted))
                self.refresh_status()
                self.refresh_briefing()
                if self.editor is not None:
                    self.editor.refresh_list()

        Op(self.tasks, self, work, writes=True).success(done) \
            .failure(lambda exc: log.warning("scheduled publish/expiry failed: %s", exc)).run()

    # --------------------------------------------------------------- settings
    def open_settings(self) -> None:
        """Ctrl+, / F10: the settings dialog, only between calls (no modal dialog during a call)."""
        current = self.collect()
        if self.call_active and not current.saved:
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
        Op(self.tasks, self, lambda: settings_mod.save(new, path), writes=True).failure(self._report_failure).run()
        if new.font_size != old.font_size or new.theme != old.theme:
            self.apply_font_size(new.font_size, remember=False)
        self.status.set_user(self.services.user, new.seat)
        if self.editor is not None:
            self.editor.set_actor(self.services.actor)
        if new.user != old.user:
            self.refresh_briefing()
        self._apply_role()
        if new.database_url != old.database_url:
            self.status.showMessage("设置已保存。数据库地址已更改：请重新启动回音后生效", 15000)
        else:
            self.status.showMessage("设置已保存", 5000)

    # --------------------------------------------------------------- ui state
    def splitters(self) -> dict[str, QSplitter]:
        out = {"agent": self.splitter}
        if self.editor is not None:
            out["editor"] = self.editor.splitter
        return out

    def restore_ui_state(self) -> bool:
        """Window geometry, splitter sizes and the last mode (``ui-state.ini``); False on a first start."""
        self.ui_state.restore_splitters(self.splitters())
        if self.ui_state.value("mode") == "editor" and self.can_edit:
            self.set_mode("editor")
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
            .failure(self._report_failure).run()

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
    def _report_failure(self, exc: BaseException) -> None:
        if errors.is_known(exc):
            log.warning("operation failed: %s", exc)
            self.status.showMessage(errors.user_message(exc), 8000)
            return
        raise exc  # a bug: the crash handler logs it, keeps the draft and shows the details

    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            self.save_draft_now()
        except OSError as exc:
            log.error("draft not saved on close: %s", exc)
        self._write_search_log(self.search_session.flush())
        self.save_ui_state()
        ended = datetime.now()
        self.ui_state.set_last_shift_end(self.services.user, ended)
        kb, actor = self.services.kb, self.services.actor
        # On the write queue; app.run_gui waits for it to drain before exiting.
        Op(self.tasks, self, lambda: kb.users.end_shift(actor=actor, at=ended), writes=True) \
            .failure(lambda exc: log.warning("shift end not recorded: %s", exc)).run()
        super().closeEvent(event)


def _edit_kind(event: QEvent) -> str:
    """What ``event`` would do to a text field: "input" (new text: typing, an input method, paste, a drop),
    "change" (delete or undo existing text) or "" (nothing: moving, selecting, copying, shortcuts)."""
    if isinstance(event, QInputMethodEvent):
        return "input" if event.commitString() or event.preeditString() else ""
    if event.type() == QEvent.Type.Drop:
        return "input"
    if not isinstance(event, QKeyEvent) or event.type() != QEvent.Type.KeyPress:
        return ""
    if event.matches(QKeySequence.StandardKey.Paste):
        return "input"
    if any(event.matches(seq) for seq in EDIT_SEQUENCES) or event.key() in EDIT_KEYS:
        return "change"
    text = event.text()
    command = event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                                   | Qt.KeyboardModifier.MetaModifier)
    return "input" if not command and text and text.isprintable() else ""
