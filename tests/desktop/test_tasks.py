"""desktop.tasks: callbacks on the main thread, stale results dropped, writes one at a time."""

from __future__ import annotations

import threading
import time
from functools import partial

import pytest
from PySide6.QtCore import QObject

from desktop.tasks import Op, TaskManager
from tests.desktop.conftest import wait_idle


def test_success_runs_on_the_main_thread(qtbot: object, tasks: TaskManager) -> None:
    seen: list[tuple[str, str]] = []
    Op(tasks, None, lambda: threading.current_thread().name) \
        .success(lambda worker: seen.append((worker, threading.current_thread().name))).run()
    wait_idle(qtbot, tasks)
    assert seen and seen[0][0].startswith("huiyin-read") and seen[0][1] == "MainThread"


def test_failure_is_delivered(qtbot: object, tasks: TaskManager) -> None:
    errors: list[BaseException] = []
    done: list[bool] = []

    def boom() -> None:
        raise ValueError("bad")

    Op(tasks, None, boom).failure(errors.append).finally_(lambda: done.append(True)).run()
    wait_idle(qtbot, tasks)
    assert isinstance(errors[0], ValueError) and done == [True]


def test_only_the_newest_result_of_a_key_is_delivered(qtbot: object, tasks: TaskManager) -> None:
    got: list[int] = []

    def slow(n: int) -> int:
        time.sleep(0.05 * (5 - n))  # older ops finish last: the worst case
        return n

    for n in range(5):
        Op(tasks, None, partial(slow, n)).key("suggest").success(got.append).run()
    wait_idle(qtbot, tasks)
    assert got == [4]


def test_writes_run_one_at_a_time_in_order(qtbot: object, tasks: TaskManager) -> None:
    active = 0
    peak = 0
    order: list[int] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.01)
        order.append(n)
        with lock:
            active -= 1

    for n in range(6):
        Op(tasks, None, partial(write, n), writes=True).run()
    wait_idle(qtbot, tasks)
    assert peak == 1 and order == list(range(6))


def test_callbacks_skipped_when_the_parent_is_gone(qtbot: object, tasks: TaskManager) -> None:
    parent = QObject()
    got: list[int] = []
    gate = threading.Event()
    Op(tasks, parent, lambda: gate.wait(2) and 1).success(got.append).run()
    parent.deleteLater()
    qtbot.wait(10)  # type: ignore[attr-defined]
    gate.set()
    wait_idle(qtbot, tasks)
    assert got == []


def test_run_off_the_main_thread_is_refused(tasks: TaskManager) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            Op(tasks, None, lambda: 1).run()
        except RuntimeError as exc:
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert errors


def test_unhandled_failure_reaches_the_excepthook(qtbot: object, tasks: TaskManager,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    caught: list[BaseException] = []
    monkeypatch.setattr("sys.excepthook", lambda _t, exc, _tb: caught.append(exc))

    def boom() -> None:
        raise KeyError("bug")

    Op(tasks, None, boom).run()
    with qtbot.capture_exceptions() as exceptions:  # type: ignore[attr-defined]
        wait_idle(qtbot, tasks)
    assert caught or exceptions


def test_pending_counts_until_the_callback_ran(qtbot: object, tasks: TaskManager) -> None:
    """``pending == 0`` means the callbacks ran too (not only the work on the worker)."""
    got: list[int] = []
    worked = threading.Event()

    def work() -> int:
        worked.set()
        return 7

    Op(tasks, None, work).success(got.append).run()
    assert worked.wait(2)
    time.sleep(0.05)  # the worker is done; the callback waits for the main thread's event loop
    assert tasks.pending == 1 and got == []
    wait_idle(qtbot, tasks)
    assert tasks.pending == 0 and got == [7]
