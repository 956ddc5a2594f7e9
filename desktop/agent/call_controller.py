"""The call's lifecycle: the draft, autosave, saving, the outbox and refused orders.

Nothing here waits for the database: a save runs on the write worker after the
order is written ahead to the outbox, the draft file on its own file worker.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QInputMethodEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QWidget

from desktop import errors
from desktop.drafts import Call, DraftStore, Outbox, Refused
from desktop.tasks import Op
from desktop.widgets.status import StatusPanel
from kb.dto import WorkOrderView
from kb.errors import ValidationError
from kb.phones import normalize_phone

if TYPE_CHECKING:
    from desktop.agent.workspace import AgentWorkspace

log = logging.getLogger(__name__)

AUTOSAVE_MS = 4000
OUTBOX_RETRY_MS = 30_000
DISCARD_CONFIRM_MS = 4000
# Keys that would change a saved order's text rather than add new text (refused on a saved form).
EDIT_KEYS = frozenset({Qt.Key.Key_Backspace, Qt.Key.Key_Delete})
EDIT_SEQUENCES = (QKeySequence.StandardKey.Cut, QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo,
                  QKeySequence.StandardKey.DeleteStartOfWord, QKeySequence.StandardKey.DeleteEndOfWord,
                  QKeySequence.StandardKey.DeleteEndOfLine)


class CallController(QObject):
    """The call on screen (``draft``, ``call_active``) and every way it is kept: draft file, outbox, database."""

    saved = Signal(object)  # WorkOrderView

    def __init__(self, agent: AgentWorkspace) -> None:
        super().__init__(agent)
        self.agent = agent
        paths = agent.host.services.paths
        self.drafts = DraftStore(paths.drafts_dir)
        self.outbox = Outbox(paths.drafts_dir)
        self.draft = Call()
        self.call_active = False
        self.last_saved_id = ""
        self._handed_off: Call | None = None  # the current call as last handed to a save (or the outbox)
        self._in_flight: Counter[str] = Counter()  # saves running, by work order id
        self._offered_refused: Refused | None = None  # what the restore bar offers, when a refused order
        self._discard_armed_until = 0.0
        self.loading_form = False
        self._autosave_timer = self._timer(AUTOSAVE_MS, self.autosave)
        self._outbox_timer = self._timer(OUTBOX_RETRY_MS, self.retry_outbox)
        # Typing in these after a save starts the next call (see eventFilter); the choices are locked then.
        self._typing_fields = (agent.caller_bar.phone, agent.caller_bar.name, agent.call_form.text,
                               agent.call_form.address)
        for field in self._typing_fields:
            field.installEventFilter(self)
        agent.call_form.edited.connect(self._on_edited)
        agent.caller_bar.edited.connect(self._on_edited)
        agent.restore_bar.restore.connect(self.restore_draft)
        agent.restore_bar.discard.connect(self.discard_offered_draft)

    def _timer(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        timer.start()
        return timer

    @property
    def status(self) -> StatusPanel:
        return self.agent.host.status

    def start(self) -> None:
        """At window start: the draft of a call cut short, or else a refused order, offered back."""
        self.status.set_outbox(len(self.outbox))
        offer = self.drafts.load()
        if offer is not None:
            self.agent.restore_bar.offer(offer)
        else:
            self.offer_refused()

    # --------------------------------------------------------------- the call
    def new_call(self) -> None:
        """F2: a fresh call. An unsaved call is never dropped silently: F2 twice within 4 s."""
        if self.is_unsaved(self.collect()) and time.monotonic() > self._discard_armed_until:
            self._discard_armed_until = time.monotonic() + DISCARD_CONFIRM_MS / 1000
            self.status.showMessage("当前来电尚未保存：Ctrl+S 保存；再按一次 F2 放弃并开始新来电",
                                    DISCARD_CONFIRM_MS)
            return
        self._discard_armed_until = 0.0
        self._start_call()
        self.agent.caller_bar.phone.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.status.showMessage("新来电：输入号码，Tab 到诉求内容", 4000)

    def _start_call(self) -> None:
        """A blank call with a fresh work-order id, the timer running."""
        current = self.collect()
        if self.call_active and not current.saved:
            self.agent.write_search_log(self.agent.suggest_session.ended(current.entry or None))
        self.agent.suggest_session.reset()
        self.load(Call())
        self.call_active = True
        self.agent.caller_bar.start_call()
        self.agent.show_greeting()
        self.agent.update_idle()

    def is_unsaved(self, current: Call) -> bool:
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
            kind = edit_kind(event)
            if kind == "change":
                self.status.showMessage("工单已保存，不能再修改；直接输入或按 F2 开始下一通来电", 6000)
                return True
            if kind == "input":
                self._start_call()
                self.status.showMessage(f"新来电：上一张工单已保存（{self.last_saved_id[:8]}），不会被修改", 6000)
        return super().eventFilter(watched, event)

    def load(self, draft: Call) -> None:
        """Show ``draft`` in the form (a new call, a restored draft or a refused order)."""
        agent = self.agent
        self.loading_form = True
        try:
            if self.draft.saved:
                self.last_saved_id = self.draft.id
            self.draft = draft
            self._handed_off = None
            agent.caller_bar.set_values(draft.phone, draft.caller_name)
            agent.caller_bar.set_place(draft.district or None, draft.street or None)
            agent.call_form.load(draft)
            agent.call_form.set_saved(None)
            agent.search_panel.box.clear()
            agent.answer_view.clear()
            agent.suggest.reset()
        finally:
            self.loading_form = False
        agent.suggest.call_loaded(draft)

    def collect(self) -> Call:
        """The current call as typed (the widgets are the truth; ``self.draft`` adds the rest)."""
        agent = self.agent
        d = agent.call_form.read(self.draft)
        return d.with_(phone=agent.caller_bar.phone.text().strip(), caller_name=agent.caller_bar.name.text().strip(),
                       query=agent.search_panel.query or d.query)

    def _on_edited(self) -> None:
        if self.loading_form:
            return
        if self.draft.saved:
            self._detach_from_saved()
            return
        if not self.call_active:
            # Typing without F2 first still takes the call (and starts the timer).
            self.call_active = True
            self.agent.caller_bar.start_call()
            self.agent.update_idle()

    def _detach_from_saved(self) -> None:
        """An edit reached a saved form another way than typing (a menu's paste, a drop): never on the saved order.

        The form's content becomes a new work order with a fresh id; a change that
        changed nothing (the department list reloaded) leaves the saved form as it is.
        """
        current = self.collect()
        if current.same_order(self.draft):
            return
        fresh = Call()
        self.last_saved_id = self.draft.id
        self.draft = self.draft.with_(id=fresh.id, received_at=fresh.received_at, saved=False)
        self.agent.call_form.set_saved(None)
        self.call_active = True
        self.agent.caller_bar.start_call()
        self.agent.update_idle()
        self.status.showMessage(f"已保存的工单（{self.last_saved_id[:8]}）不会被修改：当前内容将另存为新工单；"
                                "F2 开始新来电", 10000)

    # ------------------------------------------------------------------ saving
    def validate(self, draft: Call) -> dict[str, str]:
        problems = self.agent.call_form.validate()
        if draft.phone:
            try:
                normalize_phone(draft.phone, default_area_code=self.agent.host.services.settings.city_area_code)
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
            first = self.agent.call_form.show_errors(problems)
            if "phone" in problems:
                self.agent.caller_bar.phone.setFocus(Qt.FocusReason.OtherFocusReason)
                self.status.showMessage(f"来电号码：{problems['phone']}", 6000)
            else:
                if first is not None:
                    first.setFocus(Qt.FocusReason.OtherFocusReason)
                self.status.showMessage("请先修正标红的内容再保存", 6000)
            return
        self.agent.call_form.clear_errors()
        self.draft = draft
        self._handed_off = draft
        try:  # written ahead: a crash or a database that never answers loses nothing
            self.outbox.put(draft)
        except OSError as exc:
            log.error("work order %s not written to the outbox: %s", draft.id, exc)
        self.status.showMessage("正在保存工单…")
        self._submit(draft, retry=False)

    def _submit(self, draft: Call, *, retry: bool) -> None:
        """Save ``draft`` on the write worker; the UI never waits for it (a new call can start meanwhile)."""
        host = self.agent.host
        kb, seat, actor, engine = host.services.kb, host.services.settings.seat, host.services.actor, host.engine

        def save() -> WorkOrderView:
            view, changes = kb.work_orders.save(draft.work_order(seat=seat), actor=actor)
            if engine is not None:  # the routing history counts this case at once
                engine.apply_changes(changes)
            return view

        self._in_flight[draft.id] += 1
        Op(host.tasks, self, save, writes=True).success(lambda view: self._saved(draft, view)) \
            .failure(lambda exc: self._save_failed(draft, exc, retry=retry)) \
            .finally_(lambda: self._landed(draft.id)).run()

    def _landed(self, draft_id: str) -> None:
        self._in_flight[draft_id] -= 1
        if self._in_flight[draft_id] <= 0:
            del self._in_flight[draft_id]

    def _last_in_flight(self, draft_id: str) -> bool:
        """No later save of the same order is still running (whose content the outbox file holds)."""
        return self._in_flight[draft_id] <= 1

    def _saved(self, draft: Call, view: WorkOrderView) -> None:
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

    def _show_saved(self, current: Call, view: WorkOrderView) -> None:
        """The call is over: the form becomes a summary of the saved order (typing starts the next call)."""
        agent = self.agent
        self.draft = current.with_(saved=True)
        self.call_active = False
        agent.caller_bar.stop_call()
        agent.call_form.set_saved(f"已保存 工单 {view.id[:8]}（{view.received_at:%H:%M} 来电）。"
                                  "直接输入即开始下一通来电，或按 F2")
        self._clear_draft_file()
        # The call is over: its last search list and its suggestions are accounted for.
        agent.write_search_log(agent.search_session.flush() + agent.suggest_session.ended(current.entry or None))
        agent.update_idle()
        self.status.showMessage(f"工单已保存（{view.id[:8]}）。直接输入或按 F2 接听下一通", 8000)

    def _save_failed(self, draft: Call, exc: BaseException, *, retry: bool = False) -> None:
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
        agent = self.agent
        field = exc.field if isinstance(exc, ValidationError) else ""
        target: QWidget | None = {"phone": agent.caller_bar.phone, "caller_name": agent.caller_bar.name}.get(field)
        if field in agent.call_form.errors and isinstance(exc, ValidationError):
            target = agent.call_form.show_errors({field: exc.reason})
        if target is not None:
            target.setFocus(Qt.FocusReason.OtherFocusReason)
        self.status.showMessage(prefix + errors.user_message(exc), 15000)

    def _refuse(self, draft: Call, exc: BaseException) -> None:
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
        bar = self.agent.restore_bar
        if bar.draft is not None:
            return
        refused = [r for r in self.outbox.refused() if r.draft.id != self.draft.id]  # not the one on screen
        if refused:
            first = refused[0]
            self._offered_refused = first
            problem = errors.user_message(ValidationError(first.reason, field=first.field))
            bar.offer(first.draft, problem=problem)

    def _withdraw_refused(self, draft_id: str) -> None:
        """The order is in the database after all: its refused copy would only go back in time."""
        self.outbox.drop_refused(draft_id)
        offered = self._offered_refused
        if offered is not None and offered.draft.id == draft_id:
            self.agent.restore_bar.take()
            self._offered_refused = None
            self.offer_refused()

    def retry_outbox(self) -> None:
        """Every 30 s: the orders waiting in the outbox, except those with a save still running."""
        for draft in self.outbox.items():
            if not self._in_flight[draft.id]:
                self._submit(draft, retry=True)

    # ------------------------------------------------------------------ drafts
    def autosave(self) -> None:
        """Every few seconds and on every focus change: write the draft file if anything changed."""
        if not self.call_active:
            return
        draft = self.collect()
        if draft.is_blank or draft.saved:
            return
        store = self.drafts  # a local file: its own worker, never behind a database write that hangs
        Op(self.agent.host.tasks, self, lambda: store.save(draft), files=True) \
            .failure(lambda exc: self.status.showMessage("草稿未能写入：" + errors.user_message(exc), 5000)).run()

    def save_draft_now(self) -> None:
        """Synchronous draft write, for the crash handler and for closing."""
        draft = self.collect()
        if self.call_active and not draft.is_blank and not draft.saved:
            self.drafts.save(draft)

    def _clear_draft_file(self) -> None:
        store = self.drafts
        Op(self.agent.host.tasks, self, store.clear, files=True).failure(self.agent.host.report_failure).run()

    def restore_draft(self) -> None:
        """Ctrl+R: the call the restore bar offers (a draft cut short, or a refused order) back in the form."""
        agent = self.agent
        if agent.restore_bar.draft is None:
            return
        if self.is_unsaved(self.collect()):
            self.status.showMessage("当前来电尚未保存：先 Ctrl+S 保存（或按两次 F2 放弃），再恢复", 6000)
            return
        draft = agent.restore_bar.take()
        refused, self._offered_refused = self._offered_refused, None
        if draft is None:
            return
        self.load(draft)
        self.call_active = True
        elapsed = max((datetime.now() - draft.received_at).total_seconds(), 0.0)
        agent.caller_bar.start_call(elapsed)
        agent.update_idle()
        agent.back_to_form()
        if refused is None:
            self.status.showMessage("已恢复未保存的来电，请核对后 Ctrl+S 保存", 6000)
            return
        store, outbox = self.drafts, self.outbox

        def keep() -> None:  # the draft file holds it before its refused copy goes (after a pending clear)
            store.save(draft)
            outbox.drop_refused(draft.id)

        Op(agent.host.tasks, self, keep, files=True) \
            .failure(lambda exc: log.error("restored work order %s not kept as the draft: %s", draft.id, exc)).run()
        self._show_save_problem(ValidationError(refused.reason, field=refused.field),
                                prefix="已恢复未能保存的工单，请修改后 Ctrl+S 保存：")
        self.offer_refused()

    def discard_offered_draft(self) -> None:
        draft = self.agent.restore_bar.take()
        refused, self._offered_refused = self._offered_refused, None
        if draft is None:
            return
        if refused is not None:  # the agent's explicit choice
            log.warning("refused work order %s discarded by %s", draft.id, self.agent.host.services.user)
            self.outbox.drop_refused(draft.id)
            self.status.showMessage(f"已丢弃未能保存的工单（{draft.id[:8]}）", 6000)
        else:
            self._clear_draft_file()
        self.offer_refused()


def edit_kind(event: QEvent) -> str:
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
