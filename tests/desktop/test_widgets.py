"""Each widget alone, fed with real data from the seeded knowledge base and engine."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.drafts import Call
from desktop.style import stylesheet
from desktop.widgets.alert_banner import AlertBanner
from desktop.widgets.answer_view import AnswerView
from desktop.widgets.call_form import CallForm
from desktop.widgets.caller_bar import CallerBar
from desktop.widgets.common import highlight_html, validity
from desktop.widgets.repeat_panel import RepeatCallerPanel
from desktop.widgets.search_panel import SearchPanel
from desktop.widgets.status import StatusPanel
from desktop.widgets.suggestion_pane import SuggestionPane
from tests.desktop.conftest import REPEAT_PHONE, Env, type_text


def test_highlight_marks_are_rendered_and_escaped() -> None:
    out = highlight_html("暖气【不热】<b>")
    assert "<span" in out and "不热</span>" in out and "&lt;b&gt;" in out and "【" not in out


def test_validity_badges() -> None:
    today = date(2026, 11, 28)
    assert validity("published", None, today)[0] == "有效"
    assert validity("published", today + timedelta(days=10), today)[0].startswith("即将到期")
    assert validity("published", today - timedelta(days=1), today)[0] == "已废止"
    assert validity("archived", None, today)[0] == "已废止"


def test_caller_bar_badge_and_timer(qtbot: object) -> None:
    bar = CallerBar()
    qtbot.addWidget(bar)  # type: ignore[attr-defined]
    assert bar.repeat_badge.isHidden()
    bar.set_repeat(2)
    assert not bar.repeat_badge.isHidden() and "2" in bar.repeat_badge.text()
    bar.start_call(already_elapsed=65)
    assert bar.timer_label.text() == "通话 01:05"
    bar.stop_call()
    assert bar.timer_label.text().startswith("已结束")
    assert bar.phone.accessibleName() == "来电号码"


def test_call_form_validates_and_round_trips(qtbot: object, env: Env) -> None:
    form = CallForm()
    qtbot.addWidget(form)  # type: ignore[attr-defined]
    form.set_departments(env.kb.directory.departments())
    form.set_handling("dispatched")
    problems = form.validate()
    assert set(problems) == {"text", "department"}
    form.show_errors(problems)
    assert not form.errors["text"].isHidden()
    form.text.setFocus()
    type_text(form.text, "暖气不热")
    assert form.errors["text"].isHidden()
    assert form.select_department("D-RL")
    due = datetime.now().replace(second=0, microsecond=0) + timedelta(days=2)
    form.set_due_at(due)
    draft = form.read(Call())
    assert (draft.text, draft.handling, draft.department, draft.due_at) == (
        "暖气不热", "dispatched", "D-RL", due)
    other = CallForm()
    qtbot.addWidget(other)  # type: ignore[attr-defined]
    other.set_departments(env.kb.directory.departments())
    other.load(draft)
    assert other.read(Call(id=draft.id, received_at=draft.received_at)) == draft


def test_search_panel_keyboard(qtbot: object, env: Env) -> None:
    panel = SearchPanel()
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    panel.show()
    panel.activateWindow()
    qtbot.waitUntil(panel.isActiveWindow, timeout=2000)  # type: ignore[attr-defined]
    panel.box.setText("暖气")
    hits = env.engine.search("暖气")
    panel.set_results("暖气", hits)
    assert panel.results.count() == len(hits) > 0
    panel.box.setFocus()
    qtbot.keyClick(panel.box, Qt.Key.Key_Down)  # type: ignore[attr-defined]
    assert panel.results.hasFocus()
    with qtbot.waitSignal(panel.hit_activated, timeout=1000) as blocker:  # type: ignore[attr-defined]
        qtbot.keyClick(panel.results, Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert blocker.args[0].id == hits[0].id
    panel.set_results("别的词", [])  # a stale answer for an older query is ignored
    assert panel.results.count() == len(hits)


def test_suggestion_pane_shows_reasons_and_picks(qtbot: object, env: Env) -> None:
    pane = SuggestionPane()
    qtbot.addWidget(pane)  # type: ignore[attr-defined]
    pane.set_suggestion(env.engine.suggest("家里暖气不热", request_type="complaint"))
    assert pane.answers.count() >= 1
    dept = pane.department_at(1)
    assert dept is not None and dept.external_id == "D-RL" and dept.reasons
    item_text = pane.departments.item(0).data(Qt.ItemDataRole.AccessibleTextRole)
    assert "Alt+1" in item_text and "依据" in item_text
    with qtbot.waitSignal(pane.department_picked, timeout=1000) as blocker:  # type: ignore[attr-defined]
        pane.pick_department(1)
    assert blocker.args[0] == dept


def test_answer_view_script_badge_copy_feedback(qtbot: object, env: Env) -> None:
    QApplication.instance().setStyleSheet(stylesheet(11))  # type: ignore[union-attr]
    view = AnswerView()
    qtbot.addWidget(view)  # type: ignore[attr-defined]
    view.show()
    entry = env.kb.entries.get("E-HEAT")
    dept = env.kb.directory.get_department("D-RL")
    view.show_entry(replace(entry, valid_to=date.today() + timedelta(days=5)), dept, ("暖气", "不热"))
    assert view.badge.text().startswith("即将到期")
    assert "96069" in view.owner.text() and "010-65120000" in view.owner.text()
    assert "第十七条" in view.basis.text()
    assert view.script.font().pointSizeF() > view.basis.font().pointSizeF()  # the script is the big text
    view.focus_script()
    qtbot.keyClick(view.script, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert QApplication.clipboard().text() == entry.answer
    with qtbot.waitSignal(view.feedback, timeout=1000) as blocker:  # type: ignore[attr-defined]
        view.note.setText("电话已变")
        view.feedback_buttons["wrong"].click()
    assert blocker.args == [entry.id, "wrong", "电话已变"]
    view.show_entry(replace(entry, status="archived"))
    assert view.badge.text() == "已废止"


def test_alert_banner_is_unmistakable(qtbot: object, env: Env) -> None:
    QApplication.instance().setStyleSheet(stylesheet(11))  # type: ignore[union-attr]
    banner = AlertBanner()
    qtbot.addWidget(banner)  # type: ignore[attr-defined]
    banner.ensurePolished()
    banner.headline.ensurePolished()
    banner.set_alerts(env.engine.alerts("我不想活了，家里还着火了"))
    assert not banner.isHidden()
    assert "119" in banner.headline.text()  # most severe first
    assert "12356" in banner.others.text()
    assert banner.headline.font().pointSizeF() > 11
    banner.set_alerts([])
    assert banner.isHidden()


def test_repeat_panel_lists_earlier_orders(qtbot: object, env: Env) -> None:
    panel = RepeatCallerPanel()
    qtbot.addWidget(panel)  # type: ignore[attr-defined]
    orders = env.kb.work_orders.by_phone(REPEAT_PHONE)
    panel.set_orders(orders)
    assert not panel.isHidden()
    assert "1 次" in panel.heading.text() and "未办结" in panel.heading.text()
    panel.set_orders([])
    assert panel.isHidden()


def test_status_panel(qtbot: object) -> None:
    status = StatusPanel()
    qtbot.addWidget(status)  # type: ignore[attr-defined]
    status.set_user("张三", "A01")
    status.set_database(True, "postgresql://db/huiyin")
    status.set_outbox(0)
    assert "A01" in status.user.text() and "共享" in status.database.text() and status.outbox.isHidden()
    status.set_outbox(2)
    assert not status.outbox.isHidden()
