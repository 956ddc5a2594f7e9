"""Nothing typed is lost: autosave, restore after a crash (non-modal bar), outbox."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.drafts import Call, DraftStore, Outbox
from desktop.main_window import MainWindow
from desktop.tasks import TaskManager
from kb.errors import StorageError
from tests.desktop.conftest import Env, type_text, wait_idle


def test_autosave_on_focus_change_then_restore_in_next_run(qtbot: object, window: MainWindow, env: Env,
                                                          tasks: TaskManager) -> None:
    w = window
    w.agent.calls.new_call()
    w.agent.caller_bar.phone.setText("13912345678")
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "小区门口的路灯坏了三天")
    w.agent.call_form.address.setFocus()  # a focus change writes the draft
    wait_idle(qtbot, tasks)
    data = json.loads(w.agent.calls.drafts.path.read_text(encoding="utf-8"))
    assert data["text"] == "小区门口的路灯坏了三天"
    assert data["phone"] == "13912345678"
    draft_id = data["id"]

    # "Kill" the app: the next window on the same folder offers the draft in a bar, not a dialog.
    w.agent.calls.call_active = False  # so closing this window does not write the draft again
    w.close()
    second = MainWindow(env.services(tasks))
    qtbot.addWidget(second)  # type: ignore[attr-defined]
    second.show()
    qtbot.waitExposed(second)  # type: ignore[attr-defined]
    second.activateWindow()
    qtbot.waitUntil(second.isActiveWindow, timeout=2000)  # type: ignore[attr-defined]
    assert second.agent.restore_bar.isVisible()
    assert "小区门口的路灯" in second.agent.restore_bar.message.text()
    assert QApplication.activeModalWidget() is None
    second.agent.call_form.text.setFocus()
    qtbot.keyClick(second.agent.call_form.text, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert second.agent.restore_bar.isHidden()
    assert second.agent.call_form.text.toPlainText() == "小区门口的路灯坏了三天"
    assert second.agent.caller_bar.phone.text() == "13912345678"
    assert second.agent.calls.draft.id == draft_id  # same UUID: saving it cannot duplicate an earlier save
    assert second.agent.calls.call_active

    with qtbot.waitSignal(second.agent.calls.saved, timeout=3000):  # type: ignore[attr-defined]
        second.agent.calls.save()
    wait_idle(qtbot, tasks)
    assert env.kb.work_orders.get(draft_id).text == "小区门口的路灯坏了三天"
    assert not second.agent.calls.drafts.path.exists()


def test_autosave_timer_writes_without_focus_change(qtbot: object, window: MainWindow, tasks: TaskManager) -> None:
    w = window
    w.agent.calls.new_call()
    w.agent.call_form.text.setPlainText("噪音扰民")
    w.agent.calls._autosave_timer.setInterval(50)
    qtbot.waitUntil(lambda: w.agent.calls.drafts.path.exists(), timeout=2000)  # type: ignore[attr-defined]
    wait_idle(qtbot, tasks)
    assert DraftStore(w.agent.calls.drafts.directory).load() is not None


def test_discard_offered_draft(qtbot: object, env: Env, tasks: TaskManager) -> None:
    DraftStore(env.paths.drafts_dir).save(Call(text="上次没说完"))
    w = MainWindow(env.services(tasks))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    assert w.agent.restore_bar.draft is not None
    w.agent.restore_bar.discard_button.click()
    wait_idle(qtbot, tasks)
    assert not w.agent.calls.drafts.path.exists()
    assert w.agent.restore_bar.isHidden()


def test_blank_or_saved_drafts_are_not_offered(tmp_path: object) -> None:
    from pathlib import Path

    store = DraftStore(Path(str(tmp_path)))
    store.save(Call())
    assert store.load() is None
    store.save(Call(text="x", saved=True))
    assert store.load() is None
    store.path.write_text("{not json", encoding="utf-8")
    assert store.load() is None  # a damaged file never stops the start
    store.save(Call(text="有内容"))
    assert store.load() is not None
    assert not list(store.directory.glob("*.tmp"))  # the temp file of the atomic write is gone


def test_unreachable_database_keeps_the_work_order_in_the_outbox(qtbot: object, window: MainWindow, env: Env,
                                                                 tasks: TaskManager, monkeypatch: object) -> None:
    w = window
    w.agent.calls.new_call()
    w.agent.call_form.text.setPlainText("咨询社保卡补办")
    real_save = env.kb.work_orders.save

    def locked(*_a: object, **_k: object) -> object:
        raise StorageError("database is locked")

    monkeypatch.setattr(env.kb.work_orders, "save", locked)  # type: ignore[attr-defined]
    w.agent.calls.save()
    wait_idle(qtbot, tasks)
    assert len(Outbox(env.paths.drafts_dir)) == 1
    assert w.status.outbox.isVisible()
    assert "被占用" in w.status.currentMessage()

    monkeypatch.setattr(env.kb.work_orders, "save", real_save)  # type: ignore[attr-defined]
    w.agent.calls.retry_outbox()
    wait_idle(qtbot, tasks)
    assert len(Outbox(env.paths.drafts_dir)) == 0
    assert env.kb.work_orders.get(w.agent.calls.draft.id).text == "咨询社保卡补办"
    assert w.status.outbox.isHidden()


def test_f2_never_drops_an_unsaved_call_silently(qtbot: object, window: MainWindow) -> None:
    w = window
    w.agent.calls.new_call()
    w.agent.call_form.text.setPlainText("还没保存")
    first_id = w.agent.calls.draft.id
    w.agent.calls.new_call()
    assert w.agent.calls.draft.id == first_id and w.agent.call_form.text.toPlainText() == "还没保存"
    assert "尚未保存" in w.status.currentMessage()
    w.agent.calls.new_call()  # pressed again: the agent means it
    assert w.agent.calls.draft.id != first_id and w.agent.call_form.text.toPlainText() == ""
