"""The task manager's background pool: where the engine's long jobs run in the app."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from desktop.tasks import BACKGROUND_WORKERS, Op, TaskManager
from tests.desktop.conftest import wait_idle


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # never leave a worker blocked


def test_background_jobs_run_on_a_pool_of_their_own(qtbot: QtBot, tasks: TaskManager,
                                                   gate: threading.Event) -> None:
    assert tasks.background.submit(lambda: threading.current_thread().name).result(5).startswith(
        "huiyin-background")
    # Loading jieba, the routing profiles and a first history catch-up take seconds, all at once...
    busy = [tasks.background.submit(gate.wait, 10) for _ in range(BACKGROUND_WORKERS)]
    got: list[int] = []
    Op(tasks, None, lambda: 7).success(got.append).run()
    qtbot.waitUntil(lambda: got == [7], timeout=2000)  # ...and a search does not queue behind them
    assert not any(f.done() for f in busy)
    gate.set()
    assert all(f.result(5) for f in busy)
    wait_idle(qtbot, tasks)


def test_shutdown_drops_queued_background_jobs(qtbot: QtBot, gate: threading.Event) -> None:
    manager = TaskManager()
    started = threading.Semaphore(0)

    def hold() -> bool:
        started.release()
        return gate.wait(10)

    running = [manager.background.submit(hold) for _ in range(BACKGROUND_WORKERS)]
    for _ in running:
        assert started.acquire(timeout=5)  # every worker is busy
    queued = manager.background.submit(threading.current_thread)
    manager.shutdown(wait=True)  # does not wait for the running ones: closing the engine stops them
    assert queued.cancelled() and not any(f.done() for f in running)
    with pytest.raises(RuntimeError):  # what the history's catch-up meets when the app is exiting
        manager.background.submit(threading.current_thread)
    gate.set()
    assert all(f.result(5) for f in running)
