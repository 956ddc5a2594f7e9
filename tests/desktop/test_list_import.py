"""A file imported into a list tab (地名库, 同义词, 警报词库) is merged; dropping rows is an explicit choice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from desktop.editor.directory import DirectoryWorkspace
from desktop.editor.directory.common import ListTab
from desktop.tasks import TaskManager
from tests.desktop.conftest import PLACES, Env, wait_idle
from tests.helpers import editor


@pytest.fixture
def ws(qtbot: QtBot, env: Env, tasks: TaskManager) -> Iterator[DirectoryWorkspace]:
    w = DirectoryWorkspace(env.kb, env.engine, tasks, editor("编辑甲"))
    qtbot.addWidget(w)
    w.resize(1400, 860)
    wait_idle(qtbot, tasks)
    yield w
    wait_idle(qtbot, tasks)


def answer_with(qtbot: QtBot, label_start: str, seen: list[str]) -> None:
    """Click the button whose text starts with ``label_start`` in the question box about to open (within 2 s)."""
    tries = [200]

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            tries[0] -= 1
            if tries[0] > 0:
                QTimer.singleShot(10, click)
            return
        seen.append(box.text())
        button = next(b for b in box.findChildren(QPushButton) if b.text().startswith(label_start))
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, click)


def table_rows(tab: ListTab) -> list[list[str]]:
    return [values for _r, values in tab.table.rows()]


def test_places_file_is_merged_into_the_table(qtbot: QtBot, ws: DirectoryWorkspace, env: Env,
                                              tmp_path: Path) -> None:
    ws.show_tab(ws.places)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.places
    assert len(table_rows(tab)) == len(PLACES)
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps({"district": "朝阳区", "street": "三里屯街道", "aliases": ["三里屯", "三里屯地区"]},
                              ensure_ascii=False) + "\n", encoding="utf-8")
    seen: list[str] = []
    answer_with(qtbot, "合并", seen)
    tab.import_from(src)
    assert "另有 1 行" in seen[0]
    rows = table_rows(tab)
    assert len(rows) == len(PLACES) and ["朝阳区", "三里屯街道", "三里屯、三里屯地区"] in rows
    assert "保留" in tab.status.text() and tab.dirty
    assert len(env.kb.lexicons.places()) == len(PLACES)  # nothing is written before 保存

    answer_with(qtbot, "取消", seen)
    tab.import_from(src)
    assert table_rows(tab) == rows and "取消" in tab.status.text()
    answer_with(qtbot, "替换", seen)
    tab.import_from(src)
    assert table_rows(tab) == [["朝阳区", "三里屯街道", "三里屯、三里屯地区"]] and "删除" in tab.status.text()


def test_synonyms_and_alert_lines_merge(qtbot: QtBot, ws: DirectoryWorkspace, tmp_path: Path) -> None:
    ws.show_tab(ws.synonyms)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.synonyms
    tab.table.add_row(["低保", "最低生活保障"])
    src = tmp_path / "s.tsv"
    src.write_text("医保卡\t社会保障卡\n低保\t最低生活保障\n", encoding="utf-8")
    tab.import_from(src)  # every table row is in the file: nothing to ask
    assert sorted(map(tuple, table_rows(tab))) == [("低保", "最低生活保障"), ("医保卡", "社会保障卡")]

    ws.show_tab(ws.alerts)
    wait_idle(qtbot, ws.ctx.tasks)
    alerts = ws.alerts
    before = table_rows(alerts)
    terms = tmp_path / "alert_terms.jsonl"
    terms.write_text(json.dumps({"kind": "fire", "pattern": "冒烟", "polarity": "trigger"}, ensure_ascii=False)
                     + "\n", encoding="utf-8")
    seen: list[str] = []
    answer_with(qtbot, "合并", seen)
    alerts.import_files([terms])
    assert table_rows(alerts) == [*before, ["fire", "冒烟", "trigger", ""]]
    assert alerts.kinds.rowCount() == 2  # no kinds file: the kinds stay as they are
