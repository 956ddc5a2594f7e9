"""The whole call, by keyboard only, asserted against the database."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.main_window import MainWindow
from desktop.tasks import TaskManager
from tests.desktop.conftest import REPEAT_PHONE, Env, type_text, wait_idle


def key(qtbot: object, k: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    qtbot.keyClick(target, k, mod)  # type: ignore[attr-defined]


def test_heating_complaint_from_repeat_caller(qtbot: object, window: MainWindow, env: Env,
                                             tasks: TaskManager) -> None:
    w = window
    key(qtbot, Qt.Key.Key_F2)
    assert w.agent.calls.call_active
    assert QApplication.focusWidget() is w.agent.caller_bar.phone
    assert "12345" in w.agent.answer_view.script.toPlainText()  # greeting shown at the start of the call

    qtbot.keyClicks(w.agent.caller_bar.phone, REPEAT_PHONE)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: w.agent.repeat_panel.isVisible(), timeout=3000)  # type: ignore[attr-defined]
    assert "重复来电 1 次" in w.agent.caller_bar.repeat_badge.text()

    key(qtbot, Qt.Key.Key_Tab)  # → caller name
    focus = QApplication.focusWidget()
    assert focus is not None
    type_text(focus, "王女士")
    key(qtbot, Qt.Key.Key_Tab)  # → request type
    assert QApplication.focusWidget() is w.agent.call_form.request_type
    key(qtbot, Qt.Key.Key_Down)
    key(qtbot, Qt.Key.Key_Down)  # 咨询 → 求助 → 投诉
    assert w.agent.call_form.request_type_code == "complaint"
    key(qtbot, Qt.Key.Key_Tab)  # → description
    assert QApplication.focusWidget() is w.agent.call_form.text
    type_text(w.agent.call_form.text, "我家暖气不热，屋里才十五度")

    qtbot.waitUntil(lambda: w.agent.suggestions.answers.count() > 0, timeout=3000)  # type: ignore[attr-defined]
    assert w.agent.suggestions.answers.hits()[0].external_id == "E-HEAT"
    assert w.agent.suggestions.department_at(1) is not None
    assert w.agent.suggestions.department_at(1).external_id == "D-RL"  # type: ignore[union-attr]
    assert any("暖气" in r for r in w.agent.suggestions.department_at(1).reasons)  # type: ignore[union-attr]

    key(qtbot, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # open suggested answer 1
    qtbot.waitUntil(lambda: w.agent.answer_view.entry is not None, timeout=3000)  # type: ignore[attr-defined]
    assert w.agent.answer_view.entry.external_id == "E-HEAT"  # type: ignore[union-attr]
    assert w.agent.answer_view.badge.text() == "有效"
    assert "96069" in w.agent.answer_view.owner.text()
    key(qtbot, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text().startswith("供暖期内")

    key(qtbot, Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is w.agent.call_form.text
    key(qtbot, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)  # dispatch to suggested department 1
    assert w.agent.call_form.handling_code == "dispatched"
    assert w.agent.call_form.department_code == "D-RL"
    assert w.agent.call_form.due_at is not None

    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000) as saved:  # type: ignore[attr-defined]
        key(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    order = env.kb.work_orders.get(saved.args[0].id)
    assert order.text == "我家暖气不热，屋里才十五度"
    assert order.caller_name == "王女士"
    assert order.request_type == "complaint"
    assert order.handling == "dispatched"
    assert order.department_external_id == "D-RL"
    assert order.entry_external_id == "E-HEAT"
    assert order.due_at is not None and order.due_at == w.agent.call_form.due_at
    assert order.phone.endswith(REPEAT_PHONE)
    assert len(env.kb.work_orders.by_phone(REPEAT_PHONE)) == 2
    wait_idle(qtbot, tasks)
    assert not w.agent.calls.drafts.path.exists()

    # The form is now a summary of the saved order: Ctrl+S again writes nothing
    # (tests/desktop/test_save_safety.py: typing starts the next call, never on this order).
    assert "已保存" in w.agent.call_form.saved_note.text()
    key(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, tasks)
    assert "已保存" in w.status.currentMessage()
    assert len(env.kb.work_orders.by_phone(REPEAT_PHONE)) == 2


def test_emergency_alert_appears_within_the_keystroke(qtbot: object, window: MainWindow) -> None:
    w = window
    key(qtbot, Qt.Key.Key_F2)
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "楼道里有很大的煤气")
    assert w.agent.alert_banner.isHidden()
    type_text(w.agent.call_form.text, "味")  # no waiting: the banner is raised by this very keystroke
    assert w.agent.alert_banner.isVisible()
    assert "119" in w.agent.alert_banner.headline.text()
    assert w.agent.alert_banner.property("level") == "alertDanger"
    w.agent.call_form.text.clear()
    assert w.agent.alert_banner.isHidden()


def test_save_validates_inline(qtbot: object, window: MainWindow, env: Env, tasks: TaskManager) -> None:
    w = window
    key(qtbot, Qt.Key.Key_F2)
    w.agent.call_form.set_handling("dispatched")
    w.agent.call_form.text.setFocus()
    key(qtbot, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert w.agent.call_form.errors["text"].isVisible()
    assert w.agent.call_form.errors["department"].isVisible()
    assert QApplication.focusWidget() is w.agent.call_form.text
    type_text(w.agent.call_form.text, "咨询")
    assert not w.agent.call_form.errors["text"].isVisible()  # the message goes as soon as the field is fixed
    assert env.kb.stats().work_orders == 1


def test_search_by_keyboard(qtbot: object, window: MainWindow) -> None:
    w = window
    key(qtbot, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.focusWidget() is w.agent.search_panel.box
    type_text(w.agent.search_panel.box, "社保卡丢了")
    qtbot.waitUntil(lambda: w.agent.search_panel.results.count() > 0, timeout=3000)  # type: ignore[attr-defined]
    key(qtbot, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is w.agent.search_panel.results
    key(qtbot, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.agent.answer_view.entry is not None, timeout=3000)  # type: ignore[attr-defined]
    assert w.agent.answer_view.entry.external_id == "E-SBK"  # type: ignore[union-attr]
    assert w.agent.call_form.entry[0] == "E-SBK"
    assert "【" not in w.agent.answer_view.script.toPlainText()


def test_feedback_goes_to_the_editors_queue(qtbot: object, window: MainWindow, env: Env, tasks: TaskManager) -> None:
    from sqlalchemy import select

    from kb import models as m

    w = window
    w.agent.search_panel.box.setText("暖气费")
    qtbot.waitUntil(lambda: w.agent.search_panel.results.count() > 0, timeout=3000)  # type: ignore[attr-defined]
    w.agent.search_panel.results.activate_row(0)
    qtbot.waitUntil(lambda: w.agent.answer_view.entry is not None, timeout=3000)  # type: ignore[attr-defined]
    assert w.agent.answer_view.badge.text() == "有效"
    w.agent.answer_view.note.setText("标准已调整")
    w.agent.answer_view.feedback_buttons["outdated"].click()
    wait_idle(qtbot, tasks)
    with env.kb.store.session() as s:
        fb = s.scalars(select(m.Feedback)).one()
        assert (fb.kind, fb.note, fb.query, fb.by) == ("outdated", "标准已调整", "暖气费", "测试坐席")
        assert fb.entry_id == w.agent.answer_view.entry.id  # type: ignore[union-attr]


def test_font_size_keys_are_remembered(qtbot: object, window: MainWindow, env: Env, tasks: TaskManager) -> None:
    from kb import settings as settings_mod

    w = window
    before = w.services.settings.font_size
    w.agent.call_form.text.setFocus()
    key(qtbot, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    key(qtbot, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    wait_idle(qtbot, tasks)
    assert w.services.settings.font_size == before + 1
    assert settings_mod.load(env.paths.config_file).font_size == before + 1
    assert QApplication.font().pointSize() == before + 1
    w.agent.call_form.text.ensurePolished()
    assert w.agent.call_form.text.font().pointSize() == before + 1  # every widget follows, not only new ones
    w.apply_font_size(before, remember=False)
