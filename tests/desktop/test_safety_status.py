"""A seat whose safety lexicon is incomplete says so at start: red in the status bar and in the log."""

from __future__ import annotations

import logging

import pytest

from desktop.main_window import MainWindow
from desktop.tasks import TaskManager
from kb.sample import load_lexicons
from tests.desktop.conftest import Env, wait_idle


def open_window(qtbot: object, env: Env, tasks: TaskManager) -> MainWindow:
    w = MainWindow(env.services(tasks))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.show()
    wait_idle(qtbot, tasks)
    return w


def test_an_incomplete_lexicon_is_red_in_the_status_bar_and_logged(
        qtbot: object, env: Env, tasks: TaskManager, caplog: pytest.LogCaptureFixture) -> None:
    # The test base carries a small lexicon of its own: two of the shipped alert kinds.
    with caplog.at_level(logging.ERROR):
        w = open_window(qtbot, env, tasks)
    label = w.status.safety
    assert label.isVisibleTo(w) and "警报词库不完整" in label.text()
    assert "医疗急救" in label.toolTip()  # every problem, in full
    assert any("safety lexicon INCOMPLETE" in r.getMessage() for r in caplog.records)
    w.close()


def test_a_complete_lexicon_shows_nothing(qtbot: object, env: Env, tasks: TaskManager) -> None:
    load_lexicons(env.kb)
    w = open_window(qtbot, env, tasks)
    assert not w.status.safety.isVisibleTo(w)
    w.close()
