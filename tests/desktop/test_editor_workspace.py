"""The editor workspace and the import wizard on a real seeded knowledge base, engine and task manager."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.editor import EditorWorkspace
from desktop.editor.import_wizard import ImportWizard
from desktop.tasks import TaskManager
from kb import editorial as ed
from kb.actor import Actor
from tests.desktop.conftest import Env, cell, column_titles, wait_idle
from tests.helpers import agent, editor


@pytest.fixture
def ws(qtbot: QtBot, env: Env, tasks: TaskManager) -> Iterator[EditorWorkspace]:
    w = EditorWorkspace(env.kb, env.engine, tasks, editor("编辑甲"), run_schedule=False)
    qtbot.addWidget(w)
    w.resize(1400, 800)
    wait_idle(qtbot, tasks)
    yield w
    wait_idle(qtbot, tasks)


def open_by_ext(qtbot: QtBot, ws: EditorWorkspace, ext: str) -> None:
    ids = {i.entry.external_id: i.entry.id for i in ws.entries.table.rows}
    ws.entries.table.select_entry(ids[ext])
    wait_idle(qtbot, ws.tasks)
    assert ws.form.entry is not None and ws.form.entry.external_id == ext


def test_lists_and_filters_entries(qtbot: QtBot, ws: EditorWorkspace) -> None:
    assert ws.entries.table.rowCount() == 4
    assert ws.entries.filters.department.count() == 5  # "all" + 4 departments
    ws.entries.filters.category.setCurrentIndex(ws.entries.filters.category.findData("城乡建设"))
    wait_idle(qtbot, ws.tasks)
    assert {i.entry.external_id for i in ws.entries.table.rows} == {"E-HEAT", "E-HEATFEE"}
    ws.entries.filters.category.setCurrentIndex(0)
    ws.entries.filters.search.setText("暖气")
    ws.entries.filters.emit_now()
    wait_idle(qtbot, ws.tasks)
    found = [i.entry.external_id for i in ws.entries.table.rows]
    assert set(found[:2]) == {"E-HEAT", "E-HEATFEE"} and "E-SBK" not in found and "相关度" in ws.entries.count.text()


def test_edit_save_creates_version_and_updates_index(qtbot: QtBot, ws: EditorWorkspace, env: Env) -> None:
    open_by_ext(qtbot, ws, "E-SBK")
    assert ws.history.list.count() == 1
    ws.form.answer.setPlainText("社保卡丢失可在北京通APP挂失，再携带身份证到网点补办。")
    ws.form.request_save()
    wait_idle(qtbot, ws.tasks)
    assert ws.form.entry is not None and ws.form.entry.revision == 2 and not ws.form.dirty
    assert ws.history.list.count() == 2 and "北京通APP" in ws.history.right.toPlainText()
    assert "第 2 版" in ws.status.text()
    assert env.kb.entries.get("E-SBK").updated_by == "编辑甲"
    hits = env.engine.search("北京通", audience="editor")
    assert hits and hits[0].external_id == "E-SBK"


def test_new_entry_and_workflow(qtbot: QtBot, ws: EditorWorkspace, env: Env) -> None:
    ws.new_entry()
    ws.form.title.setText("居住证怎么办理")
    ws.form.answer.setPlainText("持身份证到居住地派出所申领。")
    ws.form.category.setEditText("户籍/居住证")  # a new category from the picker
    ws.form.request_save()
    wait_idle(qtbot, ws.tasks)
    e = ws.form.entry
    assert e is not None and e.status == "draft" and e.category == "户籍/居住证"
    qtbot.mouseClick(ws.form.transition_buttons["review"], Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws.tasks)
    assert ws.form.entry is not None and ws.form.entry.status == "review"
    assert not ws.form.transition_buttons["published"].isEnabled()  # author cannot publish
    ws.transition("published")  # even if asked directly, the service refuses
    wait_idle(qtbot, ws.tasks)
    assert "审核人" in ws.form.error.text()
    reviewer = EditorWorkspace(env.kb, env.engine, ws.tasks, Actor("审核乙", "reviewer"), run_schedule=False)
    qtbot.addWidget(reviewer)
    wait_idle(qtbot, ws.tasks)
    reviewer.open_entry(e.id)
    wait_idle(qtbot, ws.tasks)
    qtbot.mouseClick(reviewer.form.transition_buttons["published"], Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws.tasks)
    assert env.kb.entries.get(e.id).status == "published" and env.kb.entries.get(e.id).reviewed_by == "审核乙"
    assert [h.id for h in env.engine.search("居住证")][:1] == [e.id]  # agents find it now


def test_second_editor_gets_conflict_and_merges(qtbot: QtBot, ws: EditorWorkspace, env: Env) -> None:
    open_by_ext(qtbot, ws, "E-SBK")
    e = env.kb.entries.get("E-SBK")
    env.kb.entries.save(replace(ed.draft_of(e), answer=e.answer + "（另一位编辑补充）"), actor=editor("编辑丙"),
                        entry_id=e.id, expected_revision=e.revision)
    ws.form.title.setText("社保卡丢了怎么补办")
    ws.form.request_save()
    wait_idle(qtbot, ws.tasks)
    assert ws.right.currentWidget() is ws.conflict
    assert "编辑丙" in ws.conflict.headline.text() and "只有对方改了" in ws.conflict.detail.text()
    assert "另一位编辑补充" in ws.conflict.theirs.toPlainText()
    qtbot.mouseClick(ws.conflict.merge, Qt.MouseButton.LeftButton)
    assert ws.right.currentWidget() is ws.right_tabs and ws.form.base_revision == 2
    assert ws.form.title.text() == "社保卡丢了怎么补办" and "另一位编辑补充" in ws.form.answer.toPlainText()
    ws.form.request_save()
    wait_idle(qtbot, ws.tasks)
    saved = env.kb.entries.get("E-SBK")
    assert saved.revision == 3 and saved.title == "社保卡丢了怎么补办" and "另一位编辑补充" in saved.answer


def test_conflict_keep_theirs_and_keep_mine(qtbot: QtBot, ws: EditorWorkspace, env: Env) -> None:
    open_by_ext(qtbot, ws, "E-SBK")
    e = env.kb.entries.get("E-SBK")
    env.kb.entries.save(replace(ed.draft_of(e), answer="丙的口径"), actor=editor("编辑丙"), entry_id=e.id)
    ws.form.answer.setPlainText("甲的口径")
    ws.form.request_save()
    wait_idle(qtbot, ws.tasks)
    qtbot.mouseClick(ws.conflict.keep_theirs, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws.tasks)
    assert env.kb.entries.get("E-SBK").answer == "丙的口径" and ws.form.answer.toPlainText() == "丙的口径"
    assert "审计日志" in ws.status.text()
    # and again, this time keeping mine
    env.kb.entries.save(replace(ed.draft_of(env.kb.entries.get("E-SBK")), answer="丙的第二版"), actor=editor("编辑丙"),
                        entry_id=e.id)
    ws.form.answer.setPlainText("甲的口径")
    ws.form.request_save()
    wait_idle(qtbot, ws.tasks)
    qtbot.mouseClick(ws.conflict.keep_mine, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws.tasks)
    assert env.kb.entries.get("E-SBK").answer == "甲的口径"
    answers = [v.snapshot["answer"] for v in env.kb.entries.history(e.id)]
    assert "丙的口径" in answers and "丙的第二版" in answers  # nothing lost


def test_rollback_from_history(qtbot: QtBot, ws: EditorWorkspace, env: Env) -> None:
    open_by_ext(qtbot, ws, "E-HEATFEE")
    original = ws.form.answer.toPlainText()
    ws.form.answer.setPlainText("居民供暖费每平方米每供暖季24元。")
    ws.form.request_save()
    wait_idle(qtbot, ws.tasks)
    ws.history.select_revision(1)
    qtbot.mouseClick(ws.history.rollback_button, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws.tasks)
    e = env.kb.entries.get("E-HEATFEE")
    assert e.answer == original and e.revision == 3 and e.status == "published"
    assert ws.history.list.count() == 3 and "回滚" in ws.history.list.item(0).text()


def test_knowledge_gaps_to_new_entry_and_flag_resolution(qtbot: QtBot, ws: EditorWorkspace, env: Env) -> None:
    for _ in range(3):
        env.kb.feedback.log_search("search", "共享单车乱停", 0, actor=agent("坐席"))
    sbk = env.kb.entries.get("E-SBK")
    env.kb.feedback.add(sbk.id, "outdated", note="网点已搬迁", actor=agent("坐席"))
    ws.gaps.request_refresh()
    wait_idle(qtbot, ws.tasks)
    assert [g.query for g in ws.gaps.gaps][:1] == ["共享单车乱停"]
    ws.gaps.table.selectRow(0)
    ws.gaps.activate()
    assert ws.form.entry is None and ws.form.title.text() == "共享单车乱停"
    row = next(i for i, g in enumerate(ws.gaps.gaps) if g.entry_id == sbk.id)
    ws.gaps.table.selectRow(row)
    ws.gaps.activate()
    wait_idle(qtbot, ws.tasks)
    assert ws.form.entry is not None and ws.form.entry.id == sbk.id
    qtbot.mouseClick(ws.gaps.resolve, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws.tasks)
    assert not any(g.entry_id for g in ws.gaps.gaps)


def test_scheduled_expiry_runs_in_background(qtbot: QtBot, ws: EditorWorkspace, env: Env) -> None:
    e = env.kb.entries.get("E-NOISE")
    env.kb.entries.save(replace(ed.draft_of(e), valid_from=None, valid_to=e.updated_at.date().replace(year=2020)),
                        actor=editor("编辑丙"), entry_id=e.id)
    with qtbot.waitSignal(ws.changed, timeout=5000):
        ws.run_scheduled()
    wait_idle(qtbot, ws.tasks)
    assert env.kb.entries.get("E-NOISE").status == "archived"
    assert "到期下架" in ws.status.text()


# ------------------------------------------------------------------ import wizard
@pytest.fixture
def wizard(qtbot: QtBot, env: Env, tasks: TaskManager) -> ImportWizard:
    w = ImportWizard(env.kb, tasks, editor("编辑甲"))
    qtbot.addWidget(w)
    return w


def test_import_wizard_lists_bad_rows_and_changes_nothing(qtbot: QtBot, wizard: ImportWizard, env: Env,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "entries.csv"
    path.write_text("编号,标题,答复口径,承办单位,失效日期\n"
                    "E-NEW1,新条目一,口径一,D-RL,\n"
                    "E-NEW2,,口径二,D-RL,\n"
                    "E-NEW3,新条目三,口径三,不存在的单位,2026/13/01\n", encoding="utf-8-sig")
    before = env.kb.stats().entries
    wizard.path.setText(str(path))
    qtbot.mouseClick(wizard.check, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, wizard.tasks)
    assert wizard.preview.rowCount() == 3 and wizard.errors.rowCount() >= 2
    errors = wizard.errors
    reasons = {(cell(errors, r, 0).text(), cell(errors, r, 1).text()) for r in range(errors.rowCount())}
    assert ("3", "title") in reasons and any(row == "4" for row, _ in reasons)
    assert "2 行有问题" in wizard.summary.text() and not wizard.confirm.isEnabled()
    assert env.kb.stats().entries == before


def test_import_wizard_fixes_bad_rows_in_place(qtbot: QtBot, wizard: ImportWizard, env: Env,
                                               tmp_path: Path) -> None:
    """A department's Excel list with two bad rows, fixed in the wizard, then imported."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["编号", "名称", "层级", "属地", "电话"])
    ws.append(["D-T1", "测试区城管执法队", "district", "朝阳区", "010-12345678"])
    ws.append(["D-T2", "", "street", "朝阳区", ""])  # no name
    ws.append(["D-T3", "测试街道办事处", "街镇", "朝阳区", ""])  # bad level: neither a code nor a label
    path = tmp_path / "depts.xlsx"
    wb.save(path)
    before = env.kb.stats().departments
    wizard.kind.setCurrentIndex(wizard.kind.findData("departments"))
    wizard.path.setText(str(path))
    wizard.run_check()
    wait_idle(qtbot, wizard.tasks)
    assert "2 行有问题" in wizard.summary.text() and not wizard.confirm.isEnabled()
    header = column_titles(wizard.preview)
    rows = {cell(wizard.preview, r, 0).text(): r for r in range(wizard.preview.rowCount())}
    assert list(rows)[:2] == ["3", "4"]  # bad rows first
    cell(wizard.preview, rows["3"], header.index("name")).setText("测试社区服务站")
    assert "重新检查" in wizard.summary.text()
    cell(wizard.preview, rows["4"], header.index("level")).setText("街道")  # a label reads as its code
    wizard.run_check()
    wait_idle(qtbot, wizard.tasks)
    assert wizard.confirm.isEnabled(), wizard.summary.text()
    assert env.kb.stats().departments == before
    with qtbot.waitSignal(wizard.imported, timeout=5000):
        qtbot.mouseClick(wizard.confirm, Qt.MouseButton.LeftButton)
    assert env.kb.stats().departments == before + 3
    assert env.kb.directory.get_department("D-T2").name == "测试社区服务站"
    assert env.kb.directory.get_department("D-T3").level == "street"


def test_import_wizard_check_then_confirm(qtbot: QtBot, wizard: ImportWizard, env: Env, tmp_path: Path) -> None:
    path = tmp_path / "entries.json"
    records = [{"external_id": "E-NEW1", "title": "新条目一", "answer": "口径一", "department": "D-RL"},
               {"external_id": "E-HEAT", "title": "家里暖气不热怎么办", "answer": "改过的口径", "department": "D-RL"}]
    path.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    before = env.kb.stats().entries
    wizard.kind.setCurrentIndex(wizard.kind.findData("entries"))
    wizard.path.setText(str(path))
    wizard.run_check()
    wait_idle(qtbot, wizard.tasks)
    assert wizard.confirm.isEnabled() and "新增 1、更新 1" in wizard.summary.text()
    assert env.kb.stats().entries == before  # a check is a dry run
    wizard.path.setText(str(path) + " ")  # any change asks for a new check
    assert not wizard.confirm.isEnabled()
    wizard.path.setText(str(path))
    wizard.run_check()
    wait_idle(qtbot, wizard.tasks)
    with qtbot.waitSignal(wizard.imported, timeout=5000) as blocker:
        qtbot.mouseClick(wizard.confirm, Qt.MouseButton.LeftButton)
    assert blocker.args[0].created == 1 and env.kb.stats().entries == before + 1
    assert env.kb.entries.get("E-HEAT").answer == "改过的口径"
    wait_idle(qtbot, wizard.tasks)
    out = tmp_path / "out.csv"
    wizard.run_export(out, "entries")
    wait_idle(qtbot, wizard.tasks)
    assert out.exists() and "已导出" in wizard.summary.text()


def test_directory_page_is_mounted(qtbot: QtBot, env: Env, tasks: TaskManager) -> None:
    ws = EditorWorkspace(env.kb, None, tasks, editor("编辑甲"), run_schedule=False)
    qtbot.addWidget(ws)
    assert [ws.pages.tabText(i) for i in range(ws.pages.count())] == ["知识条目", "名录与规则"]
    ws.set_actor(editor("编辑乙"))
    assert ws.directory.ctx.actor == ws.importer.actor == editor("编辑乙") and ws.form.user == "编辑乙"
    wait_idle(qtbot, tasks)
