"""The import wizard never deletes by surprise: places merge, a replace counts and asks; sheets, notes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop.editor.import_wizard import ImportWizard
from desktop.tasks import TaskManager
from tests.desktop.conftest import PLACES, Env, wait_idle
from tests.helpers import editor


@pytest.fixture
def wizard(qtbot: QtBot, env: Env, tasks: TaskManager) -> ImportWizard:
    w = ImportWizard(env.kb, tasks, editor("编辑甲"))
    qtbot.addWidget(w)
    return w


def check(qtbot: QtBot, wizard: ImportWizard, path: Path, kind: str) -> None:
    wizard.kind.setCurrentIndex(wizard.kind.findData(kind))
    wizard.path.setText(str(path))
    wizard.run_check()
    wait_idle(qtbot, wizard.tasks)


def one_place(tmp_path: Path) -> Path:
    path = tmp_path / "places.jsonl"
    path.write_text(json.dumps({"district": "朝阳区", "street": "三里屯街道", "aliases": ["三里屯", "三里屯地区"]},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def test_places_file_merges_into_the_gazetteer(qtbot: QtBot, wizard: ImportWizard, env: Env,
                                               tmp_path: Path) -> None:
    check(qtbot, wizard, one_place(tmp_path), "places")
    assert wizard.confirm.isEnabled(), wizard.summary.text()
    assert "更新 1" in wizard.summary.text() and "删除" not in wizard.summary.text()
    with qtbot.waitSignal(wizard.imported, timeout=5000) as blocker:
        qtbot.mouseClick(wizard.confirm, Qt.MouseButton.LeftButton)
    assert (blocker.args[0].updated, blocker.args[0].deleted) == (1, 0)
    assert len(env.kb.lexicons.places()) == len(PLACES)


def test_replace_counts_and_asks_before_deleting(qtbot: QtBot, wizard: ImportWizard, env: Env, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    wizard.kind.setCurrentIndex(wizard.kind.findData("entries"))
    assert wizard.replace.isHidden()  # entries are only added and updated
    wizard.kind.setCurrentIndex(wizard.kind.findData("places"))
    assert not wizard.replace.isHidden()
    wizard.replace.setChecked(True)
    check(qtbot, wizard, one_place(tmp_path), "places")
    assert "删除 1" in wizard.summary.text() and wizard.confirm.isEnabled()
    asked: list[str] = []

    def answer(reply: QMessageBox.StandardButton) -> Callable[..., QMessageBox.StandardButton]:
        def question(_parent: object, _title: str, text: str, *_args: object) -> QMessageBox.StandardButton:
            asked.append(text)
            return reply
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.No))
    qtbot.mouseClick(wizard.confirm, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, wizard.tasks)
    assert "删除 1 行地名库" in asked[0] and "已取消" in wizard.summary.text()
    assert len(env.kb.lexicons.places()) == len(PLACES)
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    with qtbot.waitSignal(wizard.imported, timeout=5000) as blocker:
        qtbot.mouseClick(wizard.confirm, Qt.MouseButton.LeftButton)
    assert blocker.args[0].deleted == 1 and "删除 1" in wizard.summary.text()
    assert [p["street"] for p in env.kb.lexicons.places()] == ["三里屯街道"]


def test_sheet_picker_and_notes(qtbot: QtBot, wizard: ImportWizard, env: Env, tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["本文件第二个工作表是话术"])
    ws = wb.create_sheet("话术")
    ws.append(["kind", "title", "body", "备注"])
    ws.append(["closing", "结束语", "感谢您的来电，再见。", "新加"])
    path = tmp_path / "scripts.xlsx"
    wb.save(path)
    assert wizard.sheet.isHidden()
    check(qtbot, wizard, path, "scripts")
    assert not wizard.confirm.isEnabled() and "话术" in wizard.summary.text()
    assert not wizard.sheet.isHidden() and [wizard.sheet.itemText(i) for i in range(wizard.sheet.count())] == [
        "说明", "话术"]
    wizard.sheet.setCurrentText("话术")
    wizard.run_check()
    wait_idle(qtbot, wizard.tasks)
    assert wizard.confirm.isEnabled(), wizard.summary.text()
    assert "新增 1" in wizard.summary.text() and "备注" in wizard.summary.text()
    before = len(env.kb.directory.scripts())
    with qtbot.waitSignal(wizard.imported, timeout=5000):
        qtbot.mouseClick(wizard.confirm, Qt.MouseButton.LeftButton)
    assert len(env.kb.directory.scripts()) == before + 1


def test_gbk_csv_and_unknown_headers(qtbot: QtBot, wizard: ImportWizard, env: Env, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("编号,标题,答复口径,承办单位\nE-GBK,居住证怎么办理,携带身份证到派出所办理。,D-RSJ\n".encode("gbk"))
    check(qtbot, wizard, path, "")
    assert wizard.confirm.isEnabled() and "GBK" in wizard.summary.text()
    odd = tmp_path / "odd.csv"
    odd.write_text("问题描述,处理意见\n社保卡丢了,去补办\n", encoding="utf-8")
    check(qtbot, wizard, odd, "entries")
    assert "表头" in wizard.summary.text() and "必填字段为空" not in wizard.summary.text()
    assert not wizard.confirm.isEnabled()
