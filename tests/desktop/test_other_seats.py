"""A change saved on another seat (another KnowledgeBase on the same database) reaches this running window."""

from __future__ import annotations

from datetime import datetime, timedelta

from pytestqt.qtbot import QtBot

from desktop.main_window import SYNC_MS, MainWindow
from desktop.tasks import TaskManager
from kb.service import KnowledgeBase
from tests.desktop.conftest import Env, wait_idle
from tests.helpers import editor


def test_a_bulletin_saved_on_another_seat_shows_after_one_sync(qtbot: QtBot, env: Env, tasks: TaskManager,
                                                               window: MainWindow) -> None:
    assert SYNC_MS <= 5_000  # within seconds, not a minute
    assert window.agent.briefing.bulletin_titles() == []
    other_seat = KnowledgeBase.open(env.url)
    try:
        now = datetime.now().replace(microsecond=0)
        other_seat.directory.save_bulletin({"title": "朝阳区部分小区明日停水", "body": "8时至16时停水",
                                            "starts_at": now - timedelta(minutes=1),
                                            "ends_at": now + timedelta(hours=12)}, actor=editor("编辑甲"))
    finally:
        other_seat.close()
    window.sync_index()  # what the timer does every SYNC_MS
    wait_idle(qtbot, tasks)
    wait_idle(qtbot, tasks)
    titles = window.agent.briefing.bulletin_titles()
    assert len(titles) == 1 and titles[0].startswith("朝阳区部分小区明日停水")
