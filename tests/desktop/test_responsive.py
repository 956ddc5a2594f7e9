"""The UI thread never waits on the database or the index."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QTimer

from desktop.main_window import MainWindow
from desktop.tasks import TaskManager
from indexer.engine import Engine, Suggestion
from indexer.hits import IndexStatus, SearchHit
from kb.alerts import Alert
from kb.dto import Changes
from tests.desktop.conftest import Env, type_text, wait_idle


class SlowEngine:
    """The real engine behind a search and suggest that take as long as the test wants (a loaded server)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls: list[str] = []
        self.threads: set[str] = set()
        self.release = threading.Event()  # searches and suggestions hold until it is set

    def search(self, query: str, *, limit: int = 10, audience: str = "agent") -> list[SearchHit]:
        self.threads.add(threading.current_thread().name)
        assert self.release.wait(10)
        return self.engine.search(query, limit=limit, audience=audience)

    def suggest(self, text: str, *, address: str = "", phone: str = "", request_type: str = "",
                limit: int = 5, now: datetime | None = None) -> Suggestion:
        self.threads.add(threading.current_thread().name)
        self.calls.append(text)
        assert self.release.wait(10)
        return self.engine.suggest(text, address=address, phone=phone, request_type=request_type, limit=limit)

    def alerts(self, text: str) -> Sequence[Alert]:
        return self.engine.alerts(text)

    def sync(self) -> int:
        return self.engine.sync()

    def apply_changes(self, changes: Changes) -> None:
        self.engine.apply_changes(changes)

    def index_status(self) -> IndexStatus:
        return self.engine.index_status()


def test_typing_stays_responsive_while_a_slow_search_runs(qtbot: object, env: Env, tasks: TaskManager) -> None:
    w = MainWindow(env.services(tasks))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    slow = SlowEngine(env.engine)
    w.set_engine(slow)
    w.show()
    wait_idle(qtbot, tasks)
    shown: list[Suggestion] = []
    w.agent.suggest.suggestion_shown.connect(shown.append)

    # A slow search is in flight...
    w.agent.search_panel.box.setText("暖气")
    w.agent.run_search()
    # ...while the agent keeps typing, one character every 25 ms, inside the event loop.
    text = "我家暖气不热屋里很冷老人孩子都冻感冒了"
    stamps: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(5)
    heartbeat.timeout.connect(lambda: stamps.append(time.perf_counter()))
    typed: list[str] = []

    def type_one() -> None:
        if len(typed) < len(text):
            ch = text[len(typed)]
            typed.append(ch)
            type_text(w.agent.call_form.text, ch)
            # The description is long enough to trigger suggestions between keystrokes too.
            if len(typed) in (6, 12):
                w.agent.suggest.run_suggest()

    typist = QTimer()
    typist.setInterval(25)
    typist.timeout.connect(type_one)
    heartbeat.start()
    typist.start()
    qtbot.waitUntil(lambda: len(typed) == len(text), timeout=5000)  # type: ignore[attr-defined]
    typist.stop()
    # The suggestions started while typing (and the one after the last keystroke) are submitted
    # while the earlier ones still hold their workers: nothing is shown yet.
    qtbot.waitUntil(lambda: not w.agent.suggest.suggest_timer.isActive(), timeout=5000)  # type: ignore[attr-defined]
    assert not shown and w.agent.search_panel.results.count() == 0
    heartbeat.stop()
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert max(gaps) < 0.050, f"event loop stalled {max(gaps) * 1000:.0f} ms"

    slow.release.set()  # the search and the suggestions finish
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)  # type: ignore[attr-defined]
    wait_idle(qtbot, tasks)
    assert w.agent.call_form.text.toPlainText() == text  # no keystroke lost
    assert slow.calls == [text[:6], text[:12], text]  # every suggestion ran...
    assert len(shown) == 1  # ...and only the newest one was shown (stale results dropped)
    assert w.agent.suggestions.answers.hits()[0].external_id == "E-HEAT"
    assert w.agent.search_panel.results.count() > 0
    assert "MainThread" not in slow.threads


def test_window_is_usable_before_the_engine_is_ready(qtbot: object, env: Env, tasks: TaskManager) -> None:
    gate = threading.Event()

    def open_engine() -> Any:
        gate.wait(5)  # jieba still loading
        return env.engine

    w = MainWindow(env.services(tasks))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.show()
    w.start_engine(open_engine)
    assert w.engine is None
    qtbot.waitUntil(lambda: w.agent.suggest.alerts_fn is not None, timeout=2000)  # type: ignore[attr-defined]
    w.agent.calls.new_call()
    type_text(w.agent.call_form.text, "家里着火了")
    assert w.agent.alert_banner.isVisible()  # alerts work before jieba: they need neither it nor the index
    w.agent.search_panel.box.setText("社保卡")
    assert "正在加载" in w.agent.search_panel.status.text()
    assert w.agent.suggest.suggest_timer.isActive()  # the suggestion comes after a pause in typing...
    qtbot.waitUntil(lambda: not w.agent.suggest.suggest_timer.isActive(), timeout=2000)  # type: ignore[attr-defined]
    assert "正在加载知识库" in w.agent.suggestions.state.text()  # ...and says it waits for the engine
    assert w.engine is None

    gate.set()
    qtbot.waitUntil(lambda: w.engine is not None, timeout=5000)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: w.agent.search_panel.results.count() > 0, timeout=5000)  # type: ignore[attr-defined]
    assert w.agent.search_panel.results.hits()[0].external_id == "E-SBK"
    wait_idle(qtbot, tasks)
