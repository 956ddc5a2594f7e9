"""What the engine says about the call: alerts (per keystroke), suggestions, repeat callers, place and deadline.

The alert check is the only work on the UI thread per keystroke (the engine's own
detector, a few milliseconds); everything else comes from one ``engine.suggest``
on the pool, debounced, and is shown as the engine's :class:`Suggestion` returns it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from desktop import accessibility, errors
from desktop.accessibility import alert_is_urgent, alert_message, suggestion_message
from desktop.drafts import Call
from desktop.tasks import Op
from kb.alerts import Alert
from kb.dto import WorkOrderView

if TYPE_CHECKING:
    from desktop.agent.workspace import AgentWorkspace
    from indexer.engine import Suggestion
    from indexer.routing import DepartmentSuggestion

log = logging.getLogger(__name__)

SUGGEST_DEBOUNCE_MS = 200
PHONE_DEBOUNCE_MS = 400
REPEAT_MIN_DIGITS = 5  # a shorter number matches too many callers to mean anything

AlertFn = Callable[[str], Sequence[Alert]]


class SuggestionController(QObject):
    suggestion_shown = Signal(object)  # Suggestion

    def __init__(self, agent: AgentWorkspace) -> None:
        super().__init__(agent)
        self.agent = agent
        self.alerts_fn: AlertFn | None = None  # the lexicon's detector until the engine (the same detector) is up
        self.suggestion: Suggestion | None = None
        self._asked_phone: str | None = None  # the phone of the last suggestion asked for (its repeat callers)
        self.suggest_timer = self._single_shot(SUGGEST_DEBOUNCE_MS, self.run_suggest)
        self.phone_timer = self._single_shot(PHONE_DEBOUNCE_MS, self.run_repeat_lookup)
        form = agent.call_form
        form.description_changed.connect(self._on_description)
        form.address_changed.connect(lambda _t: self.suggest_timer.start())
        form.request_type_changed.connect(lambda _t: self.suggest_timer.start())
        form.handling_changed.connect(self._on_handling)
        agent.caller_bar.phone_changed.connect(lambda _t: self.phone_timer.start())
        agent.suggestions.department_picked.connect(self.pick_department)

    def _single_shot(self, ms: int, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval(ms)
        timer.timeout.connect(slot)
        return timer

    def set_detector(self, detect: AlertFn, *, replace: bool) -> None:
        """The alert detector: the lexicon's at start (unless the engine came first), then the engine's."""
        if replace or self.alerts_fn is None:
            self.alerts_fn = detect
            self.check_alerts()

    def engine_ready(self) -> None:
        if self.agent.call_form.text.toPlainText().strip():
            self.run_suggest()

    def reset(self) -> None:
        """A call was loaded into the form: nothing of the previous one stays."""
        agent = self.agent
        agent.caller_bar.set_repeat(0)
        agent.suggestions.clear()
        agent.alert_banner.set_alerts([])
        agent.repeat_panel.set_orders([])
        self.suggestion = None
        self._asked_phone = None

    def call_loaded(self, call: Call) -> None:
        tasks = self.agent.host.tasks
        tasks.invalidate("suggest")
        tasks.invalidate("repeat")
        if call.text.strip():
            self.check_alerts()
            self.suggest_timer.start()
        if call.phone.strip():
            self.phone_timer.start()

    # ------------------------------------------------------------------ alerts
    def _on_description(self, text: str) -> None:
        self.check_alerts(text)
        if text.strip():
            self.agent.suggestions.set_pending()
            self.suggest_timer.start()
        else:
            self.suggest_timer.stop()
            self.agent.host.tasks.invalidate("suggest")
            self.agent.suggestions.clear()

    def check_alerts(self, text: str | None = None) -> None:
        """Synchronous on purpose: an emergency must show within the keystroke."""
        if self.alerts_fn is None:
            return
        agent = self.agent
        text = agent.call_form.text.toPlainText() if text is None else text
        alerts = list(self.alerts_fn(text)) if text.strip() else []
        banner = agent.alert_banner
        before = {a.kind for a in banner.alerts}
        banner.set_alerts(alerts)
        raised = [a for a in alerts if a.kind not in before]
        if raised:  # a new emergency or an escalation: spoken at once, the caret stays in 诉求内容
            agent.host.announcer.announce(banner, alert_message(raised), assertive=alert_is_urgent(raised))
        if alerts:
            agent.update_idle()

    def _on_handling(self, handling: str) -> None:
        if handling == "dispatched" and self.suggestion is not None:
            self.agent.call_form.set_due_at(self.suggestion.due_at)

    # ------------------------------------------------------------- suggestions
    def _phone(self) -> str:
        phone = self.agent.caller_bar.phone.text().strip()
        return phone if len(phone) >= REPEAT_MIN_DIGITS else ""

    def run_suggest(self) -> None:
        agent = self.agent
        text = agent.call_form.text.toPlainText()
        if not text.strip():
            return
        engine = agent.host.engine
        if engine is None:
            agent.suggestions.set_pending("正在加载知识库…（加载完成后自动推荐）")
            return
        address, phone = agent.call_form.address.text(), self._phone()
        request_type = agent.call_form.request_type_code
        # The engine answers the repeat callers too: the phone lookup alone runs only without a description.
        self._asked_phone = phone
        agent.host.tasks.invalidate("repeat")
        Op(agent.host.tasks, self,
           lambda: engine.suggest(text, address=address, phone=phone, request_type=request_type)) \
            .key("suggest").success(lambda s: self.show_suggestion(s, text)).failure(self._suggest_failed).run()

    def show_suggestion(self, suggestion: Suggestion, text: str | None = None) -> None:
        agent, pane = self.agent, self.agent.suggestions
        calls = agent.calls
        self.suggestion = suggestion
        agent.suggest_session.shown(agent.call_form.text.toPlainText() if text is None else text,
                                    {h.external_id: h.id for h in suggestion.answers})
        shown = accessibility.rows_text(pane.answers, pane.departments)
        pane.set_suggestion(suggestion)
        if accessibility.rows_text(pane.answers, pane.departments) != shown:
            agent.host.announcer.announce(pane, suggestion_message(pane.answers.count(), pane.departments.count()))
        if calls.draft.saved:  # a late answer: the saved order is shown as it was saved
            return
        self._show_repeat(list(suggestion.repeat))
        agent.caller_bar.set_place(suggestion.place.district, suggestion.place.street)
        calls.draft = calls.draft.with_(
            district=suggestion.place.district or "", street=suggestion.place.street or "",
            urgency=suggestion.urgency, category=suggestion.categories[0].name if suggestion.categories else "")
        if agent.call_form.handling_code == "dispatched":
            agent.call_form.set_due_at(suggestion.due_at)
        self.suggestion_shown.emit(suggestion)

    def _suggest_failed(self, exc: BaseException) -> None:
        log.warning("suggest failed: %s", exc, exc_info=exc)
        self.agent.suggestions.set_pending(errors.user_message(exc))

    def pick_department(self, dept: DepartmentSuggestion) -> None:
        agent, status = self.agent, self.agent.host.status
        if agent.calls.draft.saved:
            status.showMessage("工单已保存，不能再修改；F2 或直接输入开始下一通来电", 6000)
            return
        form = agent.call_form
        form.set_handling("dispatched")
        if not form.select_department(dept.external_id):
            status.showMessage(f"承办单位不在列表中：{dept.name}", 5000)
            return
        if self.suggestion is not None:
            form.set_due_at(self.suggestion.due_at)
        due = form.due_at
        when = f"，办理时限 {due:%m-%d %H:%M}" if due else ""
        status.showMessage(f"已选承办单位：{dept.name}{when}", 5000)

    # ----------------------------------------------------------- repeat caller
    def run_repeat_lookup(self) -> None:
        """The phone changed: with a description the next suggestion brings the repeat calls, else ask alone."""
        agent = self.agent
        phone = self._phone()
        if not phone:
            agent.host.tasks.invalidate("repeat")
            self._show_repeat([])
            return
        if agent.call_form.text.toPlainText().strip() and agent.host.engine is not None:
            if phone != self._asked_phone:  # else the suggestion asked (or shown) already brings them
                self.run_suggest()
            return
        kb = agent.host.services.kb
        Op(agent.host.tasks, self, lambda: kb.work_orders.by_phone(phone)) \
            .key("repeat").success(self._show_repeat).failure(agent.host.report_failure).run()

    def _show_repeat(self, orders: list[WorkOrderView]) -> None:
        current = self.agent.calls.draft.id  # the call's own order (saved before, restored) is no repeat
        orders = [w for w in orders if w.id != current]
        self.agent.caller_bar.set_repeat(len(orders))
        self.agent.repeat_panel.set_orders(orders)
