"""Composition root: self-test, crash handler, logging."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from desktop.app import setup_logging
from desktop.crash import CrashHandler
from desktop.drafts import DraftStore
from desktop.main_window import MainWindow
from desktop.selftest import run_self_test
from kb.paths import AppPaths
from kb.sample import load_lexicons
from kb.service import KnowledgeBase
from kb.settings import Settings
from tests.desktop.conftest import Env


def test_self_test_passes_on_a_prepared_folder(template_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "selftest"
    shutil.copytree(template_dir, root)
    paths = AppPaths(root)
    url = f"sqlite:///{paths.db_file}"
    # The prepared base has only part of the shipped alert lexicon: the self-test says so and fails,
    # but still runs every other step.
    rc = run_self_test(paths, Settings(), url)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 1 and not report["ok"]
    assert "警报词库不完整" in report["steps"]["safety_lexicon"]["error"]
    assert all(step["ok"] for name, step in report["steps"].items() if name != "safety_lexicon")

    kb = KnowledgeBase.open(url)
    load_lexicons(kb)
    kb.close()
    rc = run_self_test(paths, Settings(), url)
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rc == 0, report
    assert report["ok"] and report["steps"]["main_window"]["grabbed"]
    assert report["steps"]["alert"]["alert"] == "fire"


def test_crash_handler_logs_and_keeps_the_draft(qtbot: object, window: MainWindow,
                                                caplog: pytest.LogCaptureFixture) -> None:
    w = window
    w.agent.calls.new_call()
    w.agent.call_form.text.setPlainText("崩溃前正在记录的诉求")
    handler = CrashHandler(str(w.services.paths.logs_dir), show_dialog=False)
    handler.save_draft = w.save_draft_now
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        with caplog.at_level(logging.CRITICAL, logger="huiyin.crash"):
            handler.handle(type(exc), exc, exc.__traceback__)
    assert "RuntimeError: boom" in handler.last_details
    assert any("boom" in r.getMessage() for r in caplog.records)
    restored = DraftStore(w.services.paths.drafts_dir).load()
    assert restored is not None and restored.text == "崩溃前正在记录的诉求"


def test_crash_dialog_offers_details_to_copy(qtbot: object) -> None:
    from desktop.crash import CrashDialog

    dialog = CrashDialog("Traceback: boom", "/tmp/logs")
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    assert dialog.details.toPlainText() == "Traceback: boom"


def test_logs_rotate_in_the_data_folder(env: Env) -> None:
    from logging.handlers import RotatingFileHandler

    root = logging.getLogger()
    before = list(root.handlers)
    try:
        setup_logging(env.paths.logs_dir)
        handlers = [h for h in root.handlers if isinstance(h, RotatingFileHandler)]
        assert handlers and Path(handlers[0].baseFilename).parent == env.paths.logs_dir
        assert handlers[0].maxBytes > 0 and handlers[0].backupCount > 0
    finally:
        for h in root.handlers[:]:
            if h not in before:
                root.removeHandler(h)
                h.close()
