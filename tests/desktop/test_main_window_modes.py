"""The main window around the call: editor mode, knowledge-gap log, briefing, window state, settings."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from desktop.main_window import MainWindow
from desktop.search_log import SearchRecord, SearchSession, SuggestSession
from desktop.tasks import TaskManager
from kb import editorial as ed
from kb import models as m
from kb import settings as settings_mod
from kb.dto import EntryDraft
from tests.desktop.conftest import Env, type_text, wait_idle
from tests.helpers import editor


def key(qtbot: QtBot, k: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget()
    assert target is not None, "nothing has the keyboard focus"
    qtbot.keyClick(target, k, mod)


def make_window(qtbot: QtBot, env: Env, tasks: TaskManager, **settings: object) -> MainWindow:
    w = MainWindow(env.services(tasks, **settings))
    qtbot.addWidget(w)
    w.set_engine(env.engine)
    w.resize(1366, 740)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    wait_idle(qtbot, tasks)
    return w


@pytest.fixture
def editor_window(qtbot: QtBot, env: Env, tasks: TaskManager) -> Iterator[MainWindow]:
    w = make_window(qtbot, env, tasks, role="editor")
    yield w
    w.close()
    wait_idle(qtbot, tasks)


def search_logs(env: Env) -> list[tuple[str, str, int, int | None]]:
    with env.kb.store.session() as s:
        return [(r.mode, r.query, r.hits, r.picked_entry_id)
                for r in s.scalars(select(m.SearchLog).order_by(m.SearchLog.id))]


# ------------------------------------------------------------------ editor mode
def test_agents_have_no_editor_mode(qtbot: QtBot, window: MainWindow) -> None:
    assert window.editor is None and window.status.mode.isHidden()
    window.agent.search_panel.box.setFocus()
    key(qtbot, Qt.Key.Key_F9)
    assert window.mode == "agent" and window.modes.currentWidget() is window.agent_page


def test_f9_switches_to_the_editor_and_back(qtbot: QtBot, editor_window: MainWindow) -> None:
    w = editor_window
    assert w.editor is not None and "F9" in w.status.mode.text()
    w.agent.search_panel.box.setFocus()
    key(qtbot, Qt.Key.Key_F9)
    assert w.mode == "editor" and w.modes.currentWidget() is w.editor
    assert QApplication.focusWidget() is w.editor.entries.filters.search
    assert "编辑模式" in w.status.mode.text()
    key(qtbot, Qt.Key.Key_F2)  # the call's keys are off in the editor
    assert not w.agent.calls.call_active
    key(qtbot, Qt.Key.Key_F9)
    assert w.mode == "agent" and w.modes.currentWidget() is w.agent_page
    key(qtbot, Qt.Key.Key_F2)
    assert w.agent.calls.call_active


def test_no_switch_during_an_unsaved_call(qtbot: QtBot, editor_window: MainWindow) -> None:
    w = editor_window
    w.agent.calls.new_call()
    type_text(w.agent.call_form.text, "咨询社保卡")
    key(qtbot, Qt.Key.Key_F9)
    assert w.mode == "agent" and "保存工单" in w.status.currentMessage()


def test_entry_saved_in_the_editor_is_found_by_the_agent_search(qtbot: QtBot, editor_window: MainWindow,
                                                                 env: Env, tasks: TaskManager) -> None:
    w = editor_window
    editor = w.editor
    assert editor is not None
    before = w.status.index.text()
    w.set_mode("editor")
    ids = {i.entry.external_id: i.entry.id for i in editor.entries.table.rows}
    editor.entries.table.select_entry(ids["E-HEAT"])
    wait_idle(qtbot, tasks)
    editor.form.answer.setPlainText(editor.form.answer.toPlainText() + "也可以在供热公司微信公众号蓝鲸报修。")
    editor.form.request_save()
    saved_at = time.monotonic()
    w.set_mode("agent")
    w.agent.search_panel.focus_search()
    type_text(w.agent.search_panel.box, "蓝鲸报修")
    qtbot.waitUntil(lambda: w.agent.search_panel.results.count() > 0, timeout=3000)
    assert time.monotonic() - saved_at < 1.0
    assert w.agent.search_panel.results.hits()[0].external_id == "E-HEAT"
    wait_idle(qtbot, tasks)
    assert "索引已同步" in w.status.index.text() and w.status.index.text() == before


# ---------------------------------------------------------- knowledge-gap log
def test_search_session_records_only_the_final_query() -> None:
    s = SearchSession()
    assert s.shown("暖", 3) == [] and s.shown("暖气", 5) == [] and s.shown("暖气不热", 2) == []
    assert s.shown("暖气不", 4) == []  # a backspace: still the same search
    assert s.shown("社保卡", 1) == [SearchRecord("search", "暖气不", 4)]  # left unused for another query
    assert s.picked("社保卡", 1, 42) == [SearchRecord("search", "社保卡", 1, 42)]
    assert s.flush() == []
    s.shown("共享单车", 0)
    assert s.cleared() == [SearchRecord("search", "共享单车", 0)]


def test_suggest_session_records_once_per_call() -> None:
    s = SuggestSession()
    s.shown("暖气不热", {"E-HEAT": 1, "E-FEE": 2})
    assert s.ended("E-FEE") == [SearchRecord("suggest", "暖气不热", 2, 2)]  # found by search, was suggested
    s.shown("暖气不热", {"E-HEAT": 1})
    assert s.picked("暖气不热", 1) == [SearchRecord("suggest", "暖气不热", 1, 1)]
    assert s.ended("E-HEAT") == []  # already recorded when picked
    s.shown("小区电梯坏了", {"E-X": 9})
    assert s.ended("") == [SearchRecord("suggest", "小区电梯坏了", 1, None)]


def test_typing_a_search_logs_the_final_query_not_each_keystroke(qtbot: QtBot, window: MainWindow, env: Env,
                                                                tasks: TaskManager) -> None:
    w = window
    w.agent.search_panel.focus_search()
    for ch in "社保卡丢了":
        type_text(w.agent.search_panel.box, ch)
        qtbot.wait(220)  # slower than the debounce: every prefix gets its own results
    qtbot.waitUntil(lambda: w.agent.search_panel.results.count() > 0, timeout=3000)
    wait_idle(qtbot, tasks)
    assert search_logs(env) == []  # nothing yet: the list is still on screen
    key(qtbot, Qt.Key.Key_Down)
    key(qtbot, Qt.Key.Key_Return)
    wait_idle(qtbot, tasks)
    sbk = env.kb.entries.get("E-SBK").id
    assert search_logs(env) == [("search", "社保卡丢了", w.agent.search_panel.results.count(), sbk)]

    w.agent.search_panel.box.setText("共享单车乱停")  # a query nobody wrote an answer for
    qtbot.waitUntil(lambda: "没有找到" in w.agent.search_panel.status.text(), timeout=3000)
    w.agent.search_panel.box.clear()  # left without opening anything
    wait_idle(qtbot, tasks)
    assert search_logs(env)[-1] == ("search", "共享单车乱停", 0, None)
    assert len(search_logs(env)) == 2


def test_a_saved_call_logs_its_suggestions_once(qtbot: QtBot, window: MainWindow, env: Env,
                                               tasks: TaskManager) -> None:
    w = window
    w.agent.calls.new_call()
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "我家暖气不热")
    qtbot.waitUntil(lambda: w.agent.suggestions.answers.count() > 0, timeout=3000)
    type_text(w.agent.call_form.text, "，屋里才十五度")
    qtbot.waitUntil(lambda: w.agent.suggest_session.text.endswith("十五度"), timeout=3000)
    w.agent.call_form.set_handling("answered")
    with qtbot.waitSignal(w.agent.calls.saved, timeout=3000):
        w.agent.calls.save()
    wait_idle(qtbot, tasks)
    logs = search_logs(env)
    assert logs == [("suggest", "我家暖气不热，屋里才十五度", w.agent.suggestions.answers.count(), None)]


# ------------------------------------------------------------------- briefing
def test_briefing_shows_bulletins_and_updates_when_idle(qtbot: QtBot, env: Env, tasks: TaskManager) -> None:
    now = datetime.now().replace(microsecond=0)
    for bulletin in ({"title": "望京部分楼栋停水", "body": "今日9时至18时停水", "starts_at": now - timedelta(hours=1),
                      "ends_at": now + timedelta(hours=8), "pinned": False},
                     {"title": "供暖季已开始", "body": "暖气不热先报修", "starts_at": now - timedelta(days=2),
                      "pinned": True},
                     {"title": "已结束的公告", "body": "x", "starts_at": now - timedelta(days=9),
                      "ends_at": now - timedelta(days=1)}):
        env.kb.directory.save_bulletin(bulletin, actor=editor("编辑甲"))
    first = make_window(qtbot, env, tasks)
    assert first.agent.briefing.updates.count() == 0  # a first start: every seeded entry is "new" to this user
    first.close()  # ends the shift on this seat
    wait_idle(qtbot, tasks)
    # The edits come after the shift end (stored to the second): the base's clock says so, nobody waits.
    later = datetime.now().replace(microsecond=0) + timedelta(seconds=2)
    env.kb.store.clock = lambda: later
    heat = env.kb.entries.get("E-HEAT")
    env.kb.entries.save(replace(ed.draft_of(heat), answer=heat.answer + "报修后24小时内上门。"),
                        actor=editor("编辑甲"), entry_id=heat.id)
    new, _ = env.kb.entries.save(EntryDraft(title="居住证怎么办理", answer="持身份证到派出所申领。"),
                                 actor=editor("编辑甲"))
    env.kb.entries.transition(new.id, "review", actor=editor("编辑甲"))
    env.kb.entries.transition(new.id, "published", actor=editor("审核乙"))

    w = make_window(qtbot, env, tasks)
    assert w.agent.answer_stack.currentWidget() is w.agent.briefing
    titles = w.agent.briefing.bulletin_titles()
    assert len(titles) == 2 and titles[0].startswith("【置顶】供暖季已开始")
    assert w.agent.briefing.updates.count() == 2
    labels = [w.agent.briefing.updates.item(i).data(Qt.ItemDataRole.AccessibleTextRole) for i in range(2)]
    # Read as shown: the label, the title, when and by whom.
    assert [label.split("。")[0] for label in labels] == ["[新增] 居住证怎么办理", "[更新] 家里暖气不热怎么办"]
    assert "审核乙" in labels[0] and "改了口径" in labels[1]
    assert "上次下班" in w.agent.briefing.updates_label.text()
    w.agent.briefing.updates.setFocus()
    w.agent.briefing.updates.setCurrentRow(0)
    key(qtbot, Qt.Key.Key_Return)  # read an updated answer between calls
    qtbot.waitUntil(lambda: w.agent.answer_view.entry is not None, timeout=3000)
    assert w.agent.answer_stack.currentWidget() is w.agent.answer_view
    key(qtbot, Qt.Key.Key_Escape)
    assert w.agent.answer_stack.currentWidget() is w.agent.briefing
    key(qtbot, Qt.Key.Key_F2)
    assert w.agent.answer_stack.currentWidget() is w.agent.answer_view  # the greeting, not the bulletins
    w.close()
    wait_idle(qtbot, tasks)


def test_briefing_is_not_shown_during_an_alert(qtbot: QtBot, window: MainWindow) -> None:
    w = window
    assert w.agent.answer_stack.currentWidget() is w.agent.briefing
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "家里着火了")  # typing without F2 takes the call
    assert w.agent.alert_banner.isVisible() and w.agent.answer_stack.currentWidget() is w.agent.answer_view


# --------------------------------------------------------------- window state
def test_geometry_and_splitters_are_remembered(qtbot: QtBot, env: Env, tasks: TaskManager) -> None:
    w = make_window(qtbot, env, tasks)
    w.resize(800, 650)  # the offscreen screen is 800 wide: the window's minimum width is wider than that
    w.agent.splitter.setSizes([420, 300, 320])
    qtbot.wait(10)
    size, sizes = (w.width(), w.height()), w.agent.splitter.sizes()
    assert size[1] == 650
    w.close()
    wait_idle(qtbot, tasks)
    ini = env.paths.root / "ui-state.ini"
    assert ini.exists() and "geometry" in ini.read_text(encoding="utf-8")
    assert "[database]" not in ini.read_text(encoding="utf-8")  # not the domain settings file

    again = MainWindow(env.services(tasks))
    qtbot.addWidget(again)
    assert again.restore_ui_state()
    again.show()
    qtbot.waitExposed(again)
    assert (again.width(), again.height()) == size
    assert again.agent.splitter.sizes() == sizes
    again.close()
    wait_idle(qtbot, tasks)


# ------------------------------------------------------------------- settings
def test_settings_dialog_tests_the_connection_off_the_ui_thread(qtbot: QtBot, window: MainWindow,
                                                               env: Env) -> None:
    from desktop.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.services.settings, env.paths, window.tasks, window)
    qtbot.addWidget(dialog)
    dialog.database_url.setText(env.url)
    assert "重新启动" in dialog.restart_note.text()
    dialog.test_button.click()
    assert dialog.test_result.text() == "正在连接…"  # the click returned at once
    qtbot.waitUntil(lambda: "连接成功" in dialog.test_result.text(), timeout=5000)
    assert "数据库版本" in dialog.test_result.text()
    dialog.database_url.setText("nosuchdriver://x")
    dialog.test_button.click()
    qtbot.waitUntil(lambda: "连接失败" in dialog.test_result.text(), timeout=5000)
    assert dialog.test_button.isEnabled()


def test_settings_are_saved_and_applied(qtbot: QtBot, window: MainWindow, env: Env, tasks: TaskManager,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.dialogs import settings_dialog

    def fake_exec(self: settings_dialog.SettingsDialog) -> int:
        self.seat.setText("B12")
        self.user.setText("李四")
        self.role.setCurrentIndex(self.role.findData("editor"))
        self.font_size.setValue(13)
        self.database_url.setText("postgresql+psycopg://huiyin@db.example/huiyin")
        return QDialog.DialogCode.Accepted.value

    monkeypatch.setattr(settings_dialog.SettingsDialog, "exec", fake_exec)
    w = window
    w.agent.search_panel.box.setFocus()
    key(qtbot, Qt.Key.Key_F10)
    wait_idle(qtbot, tasks)
    saved = settings_mod.load(env.paths.config_file)
    assert (saved.seat, saved.user, saved.role, saved.font_size) == ("B12", "李四", "editor", 13)
    assert saved.database_url.startswith("postgresql")
    assert "重新启动" in w.status.currentMessage()
    assert "B12" in w.status.user.text() and "李四" in w.status.user.text()
    assert w.editor is not None and "F9" in w.status.mode.text()  # the new role applies at once
    w.apply_font_size(11, remember=False)


def test_no_settings_during_a_call(qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.dialogs import settings_dialog

    opened: list[bool] = []

    def fake_exec(self: object) -> int:
        opened.append(True)
        return 0

    monkeypatch.setattr(settings_dialog.SettingsDialog, "exec", fake_exec)
    w = window
    key(qtbot, Qt.Key.Key_F2)
    key(qtbot, Qt.Key.Key_F10)
    assert not opened and "通话中" in w.status.currentMessage()



def test_expired_answers_are_withdrawn_at_start(qtbot: QtBot, env: Env, tasks: TaskManager) -> None:
    from datetime import date

    noise = env.kb.entries.get("E-NOISE")
    env.kb.entries.save(replace(ed.draft_of(noise), valid_from=date(2020, 1, 1), valid_to=date.today()
                                - timedelta(days=1)), actor=editor("编辑甲"), entry_id=noise.id)
    env.engine.sync()
    w = make_window(qtbot, env, tasks)  # runs publish_due and expire_due once, on the write worker
    assert env.kb.entries.get("E-NOISE").status == "archived"
    assert "E-NOISE" not in [h.external_id for h in env.engine.search("施工噪音")]
    assert "E-SBK" in [h.external_id for h in env.engine.search("社保卡")]
    w.close()
    wait_idle(qtbot, tasks)
