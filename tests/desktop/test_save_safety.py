"""Work orders are never lost or overwritten (issue #16 §2, the agent window side).

* A saved order is never modified by a later call: typing after a save starts a new call.
* A save refused for its content is shown at the field at once and never queued; an outbox
  item refused for its content comes back to the agent (kept on disk until restored).
* A hanging save blocks neither the draft autosave nor the next call.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime

import psycopg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication
from sqlalchemy.exc import DataError

from desktop.drafts import Call, Outbox
from desktop.main_window import MainWindow
from desktop.tasks import TaskManager
from kb.dto import WorkOrderDraft
from kb.errors import StorageError, ValidationError
from kb.service import KnowledgeBase
from tests.desktop.conftest import Env, type_text, wait_idle
from tests.helpers import agent

SaveFn = Callable[..., object]


def refused_like_postgresql(kb: KnowledgeBase) -> SaveFn:
    """What PostgreSQL does with a 301-character address, through the service's real error wrapping."""
    def save(*_a: object, **_k: object) -> object:
        with kb.store.session():
            orig = psycopg.errors.StringDataRightTruncation("value too long for type character varying(300)")
            raise DataError("INSERT INTO work_order …", {}, orig)
    return save


def raising(exc: BaseException) -> SaveFn:
    def save(*_a: object, **_k: object) -> object:
        raise exc
    return save


def start_call(w: MainWindow, text: str, phone: str = "") -> None:
    w.agent.calls.new_call()
    if phone:
        w.agent.caller_bar.phone.setText(phone)
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, text)


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """For saves that hang until the test lets them go (always let go, or the teardown waits)."""
    event = threading.Event()
    yield event
    event.set()


# ------------------------------------------------------------ saved orders stay as saved
def test_typing_after_a_save_starts_a_new_call(qtbot: object, window: MainWindow, env: Env,
                                               tasks: TaskManager) -> None:
    w = window
    start_call(w, "小区停水一整天了", phone="13912345678")
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000) as saved:  # type: ignore[attr-defined]
        w.agent.calls.save()
    first = saved.args[0].id
    wait_idle(qtbot, tasks)

    # The next caller's matter, typed where the focus still is, without F2 first.
    type_text(w.agent.call_form.text, "路灯坏了")
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000) as second:  # type: ignore[attr-defined]
        w.agent.calls.save()
    wait_idle(qtbot, tasks)
    order = env.kb.work_orders.get(first)
    assert order.text == "小区停水一整天了" and order.phone.endswith("13912345678")
    assert second.args[0].id != first
    assert env.kb.work_orders.get(second.args[0].id).text == "路灯坏了"
    assert env.kb.work_orders.get(second.args[0].id).phone == ""  # the first caller's number is not carried over
    assert env.kb.stats().work_orders == 3  # the seeded one and these two


def test_typing_a_number_after_a_save_starts_the_next_call_with_it(qtbot: object, window: MainWindow,
                                                                   env: Env, tasks: TaskManager) -> None:
    w = window
    start_call(w, "咨询社保卡补办", phone="13912345678")
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000) as saved:  # type: ignore[attr-defined]
        w.agent.calls.save()
    wait_idle(qtbot, tasks)
    w.agent.caller_bar.phone.setFocus()
    w.agent.caller_bar.phone.end(False)
    type_text(w.agent.caller_bar.phone, "139")
    assert w.agent.caller_bar.phone.text() == "139"
    assert w.agent.call_form.text.toPlainText() == ""
    assert w.agent.calls.draft.id != saved.args[0].id


def test_chinese_input_after_a_save_starts_a_new_call(qtbot: object, window: MainWindow, env: Env,
                                                      tasks: TaskManager) -> None:
    """An input method's composition (pinyin) is the first thing the field sees of the next caller."""
    w = window
    start_call(w, "小区停水一整天了", phone="13912345678")
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000) as saved:  # type: ignore[attr-defined]
        w.agent.calls.save()
    wait_idle(qtbot, tasks)
    preedit = QInputMethodEvent("lu", [])
    QApplication.sendEvent(w.agent.call_form.text, preedit)
    commit = QInputMethodEvent()
    commit.setCommitString("路灯")
    QApplication.sendEvent(w.agent.call_form.text, commit)
    assert w.agent.call_form.text.toPlainText() == "路灯"
    calls = w.agent.calls
    assert calls.draft.id != saved.args[0].id and calls.call_active and w.agent.caller_bar.phone.text() == ""


def test_keys_that_would_change_the_saved_text_do_nothing(qtbot: object, window: MainWindow, env: Env,
                                                          tasks: TaskManager) -> None:
    w = window
    start_call(w, "小区停水一整天了")
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000) as saved:  # type: ignore[attr-defined]
        w.agent.calls.save()
    wait_idle(qtbot, tasks)
    w.agent.call_form.text.setFocus()
    qtbot.keyClick(w.agent.call_form.text, Qt.Key.Key_Backspace)  # type: ignore[attr-defined]
    qtbot.keyClick(w.agent.call_form.text, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert w.agent.call_form.text.toPlainText() == "小区停水一整天了"
    assert w.agent.calls.draft.saved and w.agent.calls.draft.id == saved.args[0].id and not w.agent.calls.call_active
    assert "不能再修改" in w.status.currentMessage()


def test_a_saved_order_is_not_changed_by_saving_or_editing_again(qtbot: object, window: MainWindow, env: Env,
                                                                 tasks: TaskManager, monkeypatch: object) -> None:
    w = window
    start_call(w, "小区停水一整天了", phone="13912345678")
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000) as saved:  # type: ignore[attr-defined]
        w.agent.calls.save()
    first = saved.args[0].id
    wait_idle(qtbot, tasks)
    assert w.agent.call_form.saved_note.isVisible()  # the saved form is a summary
    assert first[:8] in w.agent.call_form.saved_note.text() and "已保存" in w.agent.call_form.saved_note.text()
    assert not w.agent.call_form.handling.isEnabled() and not w.agent.call_form.department.isEnabled()
    calls: list[object] = []
    real_save = env.kb.work_orders.save

    def counting(*a: object, **k: object) -> object:
        calls.append(a)
        return real_save(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(env.kb.work_orders, "save", counting)  # type: ignore[attr-defined]
    w.agent.calls.save()  # Ctrl+S again: nothing to write
    wait_idle(qtbot, tasks)
    assert calls == [] and "已保存" in w.status.currentMessage()

    # An edit that reaches the form by another way (here: programmatic) never lands on the saved order.
    w.agent.call_form.text.insertPlainText("，还有物业不接电话")
    assert w.agent.calls.draft.id != first and not w.agent.calls.draft.saved
    assert "新工单" in w.status.currentMessage()
    assert w.agent.call_form.saved_note.isHidden() and w.agent.call_form.handling.isEnabled()
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000):  # type: ignore[attr-defined]
        w.agent.calls.save()
    wait_idle(qtbot, tasks)
    assert env.kb.work_orders.get(first).text == "小区停水一整天了"


def test_saving_while_an_earlier_save_runs_keeps_the_later_edits(qtbot: object, window: MainWindow, env: Env,
                                                                 tasks: TaskManager, monkeypatch: object,
                                                                 release: threading.Event) -> None:
    w = window
    real_save = env.kb.work_orders.save

    def slow(*a: object, **k: object) -> object:
        release.wait(10)
        return real_save(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(env.kb.work_orders, "save", slow)  # type: ignore[attr-defined]
    start_call(w, "噪音扰民")
    w.agent.calls.save()
    type_text(w.agent.call_form.text, "，每晚十点以后")  # the caller adds something while the save runs
    release.set()
    wait_idle(qtbot, tasks)
    assert env.kb.work_orders.get(w.agent.calls.draft.id).text == "噪音扰民"
    assert not w.agent.calls.draft.saved and w.agent.call_form.saved_note.isHidden()  # the addition is not saved yet
    assert w.agent.call_form.text.toPlainText() == "噪音扰民，每晚十点以后"
    assert "尚未保存" in w.status.currentMessage()


# --------------------------------------------------------------- content errors
def test_a_save_refused_for_its_content_is_shown_at_the_field_and_not_queued(
        qtbot: object, window: MainWindow, env: Env, tasks: TaskManager, monkeypatch: object) -> None:
    w = window
    start_call(w, "井盖丢了")
    w.agent.call_form.address.setText("朝阳区某小区")
    monkeypatch.setattr(env.kb.work_orders, "save",  # type: ignore[attr-defined]
                        raising(ValidationError("address: 地址不能超过 300 字")))
    w.agent.calls.save()
    wait_idle(qtbot, tasks)
    assert w.agent.call_form.errors["address"].isVisible()
    assert "300" in w.agent.call_form.errors["address"].text()
    assert QApplication.focusWidget() is w.agent.call_form.address
    assert len(Outbox(env.paths.drafts_dir)) == 0 and w.status.outbox.isHidden()
    assert w.status.currentMessage().startswith("未保存")
    assert w.agent.calls.call_active and not w.agent.calls.draft.saved

    # The database's own refusal (PostgreSQL's DataError) is bad input too, not "database away".
    monkeypatch.setattr(env.kb.work_orders, "save", refused_like_postgresql(env.kb))  # type: ignore[attr-defined]
    w.agent.calls.save()
    wait_idle(qtbot, tasks)
    assert len(Outbox(env.paths.drafts_dir)) == 0
    assert w.status.currentMessage().startswith("未保存") and "重试" not in w.status.currentMessage()


def test_an_outbox_item_refused_for_its_content_comes_back_to_the_agent(
        qtbot: object, window: MainWindow, env: Env, tasks: TaskManager, monkeypatch: object) -> None:
    w = window
    start_call(w, "井盖丢了，晚上很危险", phone="13912345678")
    draft_id = w.agent.calls.draft.id
    real_save = env.kb.work_orders.save
    monkeypatch.setattr(env.kb.work_orders, "save",  # type: ignore[attr-defined]
                        raising(StorageError("connection refused")))
    w.agent.calls.save()
    wait_idle(qtbot, tasks)
    outbox = Outbox(env.paths.drafts_dir)
    assert len(outbox) == 1 and "暂存" in w.status.currentMessage()
    w.agent.calls.new_call()  # once is enough: the order is kept in the outbox
    assert w.agent.calls.draft.id != draft_id and w.agent.call_form.text.toPlainText() == ""

    monkeypatch.setattr(env.kb.work_orders, "save", refused_like_postgresql(env.kb))  # type: ignore[attr-defined]
    w.agent.calls.retry_outbox()
    wait_idle(qtbot, tasks)
    assert len(outbox) == 0 and w.status.outbox.isHidden()  # not retried forever
    assert [r.draft.id for r in outbox.refused()] == [draft_id]  # nor dropped: kept on disk
    assert w.agent.restore_bar.isVisible() and "未能保存" in w.agent.restore_bar.message.text()
    assert "退回" in w.status.currentMessage()
    assert w.agent.call_form.text.toPlainText() == ""  # the call on screen is not taken over

    # It survives a restart of the program.
    second = MainWindow(env.services(tasks))
    qtbot.addWidget(second)  # type: ignore[attr-defined]
    assert second.agent.restore_bar.draft is not None and second.agent.restore_bar.draft.id == draft_id
    second.close()
    wait_idle(qtbot, tasks)

    w.agent.calls.restore_draft()
    assert w.agent.calls.draft.id == draft_id and w.agent.call_form.text.toPlainText() == "井盖丢了，晚上很危险"
    assert w.agent.caller_bar.phone.text() == "13912345678" and w.agent.calls.call_active
    assert "value too long" in w.status.currentMessage()
    wait_idle(qtbot, tasks)
    assert outbox.refused() == []
    assert json.loads(w.agent.calls.drafts.path.read_text(encoding="utf-8"))["id"] == draft_id  # now the current draft

    monkeypatch.setattr(env.kb.work_orders, "save", real_save)  # type: ignore[attr-defined]
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000):  # type: ignore[attr-defined]
        w.agent.calls.save()
    assert env.kb.work_orders.get(draft_id).text == "井盖丢了，晚上很危险"


def test_a_refused_order_shows_its_field_when_restored(qtbot: object, env: Env, tasks: TaskManager) -> None:
    Outbox(env.paths.drafts_dir).refuse(Call(text="路面塌陷", address="很长的地址"),
                                        "地址不能超过 300 字", field="address")
    w = MainWindow(env.services(tasks))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.show()
    assert w.agent.restore_bar.isVisible() and "地址" in w.agent.restore_bar.message.text()
    w.agent.calls.restore_draft()
    assert w.agent.call_form.errors["address"].isVisible() and "300" in w.agent.call_form.errors["address"].text()
    wait_idle(qtbot, tasks)


def test_restoring_never_overwrites_the_call_being_typed(qtbot: object, window: MainWindow, env: Env,
                                                         tasks: TaskManager) -> None:
    w = window
    start_call(w, "正在说的事")
    Outbox(env.paths.drafts_dir).refuse(Call(text="退回的工单"), "数据库拒绝了内容")
    w.agent.calls.offer_refused()
    assert w.agent.restore_bar.isVisible()
    w.agent.calls.restore_draft()
    assert w.agent.call_form.text.toPlainText() == "正在说的事"
    assert w.agent.restore_bar.isVisible() and "当前来电" in w.status.currentMessage()


# ------------------------------------------------------------------ hanging saves
def test_a_hanging_save_blocks_neither_the_draft_nor_the_next_call(
        qtbot: object, window: MainWindow, env: Env, tasks: TaskManager, monkeypatch: object,
        release: threading.Event) -> None:
    w = window

    def hanging(*_a: object, **_k: object) -> object:
        release.wait(10)
        raise StorageError("connection timeout expired")

    monkeypatch.setattr(env.kb.work_orders, "save", hanging)  # type: ignore[attr-defined]
    start_call(w, "第一通：楼上漏水")
    first = w.agent.calls.draft.id
    w.agent.calls.save()
    QApplication.processEvents()
    outbox = Outbox(env.paths.drafts_dir)
    assert [d.id for d in outbox.items()] == [first]  # on disk before the database answers

    w.agent.calls.retry_outbox()  # the periodic retry does not queue a second save of the same order
    w.agent.calls.new_call()  # once: the first call is being saved
    assert w.agent.calls.draft.id != first and w.agent.calls.call_active
    type_text(w.agent.call_form.text, "第二通：噪音")
    w.agent.calls.autosave()
    qtbot.waitUntil(lambda: w.agent.calls.drafts.path.exists()  # type: ignore[attr-defined]
                    and "第二通" in w.agent.calls.drafts.path.read_text(encoding="utf-8"), timeout=2000)

    release.set()
    wait_idle(qtbot, tasks)
    assert [d.text for d in outbox.items()] == ["第一通：楼上漏水"]
    assert w.agent.call_form.text.toPlainText() == "第二通：噪音"
    assert "暂存" in w.status.currentMessage()


def test_a_refusal_arriving_after_the_agent_moved_on_comes_back(
        qtbot: object, window: MainWindow, env: Env, tasks: TaskManager, monkeypatch: object,
        release: threading.Event) -> None:
    w = window

    def hanging(*_a: object, **_k: object) -> object:
        release.wait(10)
        raise ValidationError("address: 地址不能超过 300 字")

    monkeypatch.setattr(env.kb.work_orders, "save", hanging)  # type: ignore[attr-defined]
    start_call(w, "第一通：楼上漏水")
    first = w.agent.calls.draft.id
    w.agent.calls.save()
    w.agent.calls.new_call()
    type_text(w.agent.call_form.text, "第二通")
    release.set()
    wait_idle(qtbot, tasks)
    outbox = Outbox(env.paths.drafts_dir)
    assert len(outbox) == 0 and [r.draft.id for r in outbox.refused()] == [first]
    bar = w.agent.restore_bar
    assert bar.isVisible() and bar.draft is not None and bar.draft.id == first
    assert w.agent.call_form.text.toPlainText() == "第二通" and not w.agent.call_form.errors["address"].isVisible()


# ------------------------------------------------------------- the service, for real
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_over_long_address_on_postgresql_is_a_validation_error(db_url: str) -> None:
    kb = KnowledgeBase.open(db_url)
    try:
        with pytest.raises(ValidationError):
            kb.work_orders.save(WorkOrderDraft(id=str(uuid.uuid4()), received_at=datetime.now(), text="咨询",
                                               address="地" * 301), actor=agent("test"))
        assert kb.stats().work_orders == 0
    finally:
        kb.close()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_data_errors_are_not_storage_errors(db_url: str) -> None:
    """The wrapping itself, whatever the service validates first: a bad value is the input's fault."""
    from sqlalchemy import text

    kb = KnowledgeBase.open(db_url)
    try:
        with pytest.raises(ValidationError), kb.store.session() as s:
            s.execute(text("SELECT CAST('abc' AS integer)"))
    finally:
        kb.close()
