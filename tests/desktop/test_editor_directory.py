"""The directory editor (承办单位, 路由规则, 话术, 同义词, 词典, 警报词库, 地名库) on a real seeded base and engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.editor.directory import DirectoryWorkspace
from desktop.editor.directory.departments import department_record
from desktop.editor.directory.widgets import BAD_BRUSH
from desktop.tasks import TaskManager
from indexer import analysis
from kb.dto import Changes
from kb.sample import read_jsonl, read_synonyms
from tests.desktop.conftest import Env, cell
from tests.desktop.conftest import wait_idle as _wait_idle
from tests.helpers import editor

TODAY = date(2026, 11, 28)


def wait_idle(qtbot: QtBot, tasks: TaskManager) -> None:
    """Ops and their callbacks (a callback may start the next op: refresh after save)."""
    for _ in range(3):
        _wait_idle(qtbot, tasks)
        qtbot.wait(20)


def click(qtbot: QtBot, button: Any) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


@pytest.fixture
def ws(qtbot: QtBot, env: Env, tasks: TaskManager) -> Iterator[DirectoryWorkspace]:
    w = DirectoryWorkspace(env.kb, env.engine, tasks, editor("编辑甲"), today=TODAY)
    qtbot.addWidget(w)
    w.resize(1400, 860)
    wait_idle(qtbot, tasks)
    yield w
    wait_idle(qtbot, tasks)


def select(qtbot: QtBot, table: Any, external_id: str, tasks: TaskManager) -> None:
    for row in range(table.rowCount()):
        if table.item(row, 0).text() == external_id:
            table.selectRow(row)
            wait_idle(qtbot, tasks)
            return
    raise AssertionError(f"{external_id} not in the table")


# ----------------------------------------------------------------- departments
def test_save_department_lands_in_kb(qtbot: QtBot, ws: DirectoryWorkspace, env: Env) -> None:
    tab = ws.departments
    assert tab.table.rowCount() == 4
    click(qtbot, tab.new_button)
    click(qtbot, tab.save_button)  # no name: refused inline, nothing written
    wait_idle(qtbot, ws.ctx.tasks)
    assert tab.error.text() == "名称：名称不能为空" and len(env.kb.directory.departments()) == 4

    tab.name.setText("朝阳区园林绿化局")
    tab.level.setCurrentIndex(tab.level.findData("district"))
    tab.district.setText("朝阳区")
    tab.parent_dept.setCurrentIndex(tab.parent_dept.findData("D-CY"))
    tab.duties.setPlainText("树木修剪、绿地养护")
    tab.phone.setText("010-65000000")
    tab.hours.setText("工作日 9:00-17:00")
    tab.last_verified.setText("2026-11-01")
    with qtbot.wait_signal(ws.changed, timeout=5000) as blocker:
        click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert isinstance(blocker.args[0], Changes) and blocker.args[0].departments
    d = env.kb.directory.get_department("朝阳区园林绿化局")
    assert (d.level, d.district, d.parent_external_id, d.phone, d.duties, d.last_verified) == (
        "district", "朝阳区", "D-CY", "010-65000000", "树木修剪、绿地养护", date(2026, 11, 1))
    assert d.external_id.startswith("D-") and "已保存" in tab.status.text()
    assert tab.table.rowCount() == 5 and tab.current is not None and tab.current.external_id == d.external_id
    assert d.external_id not in tab.stale_rows()

    tab.last_verified.setText("2026-13-01")  # a bad date is the service's error, shown on the form
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert tab.error.text().startswith("最近核实：")
    assert env.kb.directory.get_department(d.id).last_verified == date(2026, 11, 1)


def test_stale_departments_flagged_and_verified(qtbot: QtBot, env: Env, tasks: TaskManager) -> None:
    rsj = department_record(env.kb.directory.get_department("D-RSJ"))
    env.kb.directory.save_department({**rsj, "last_verified": (TODAY - timedelta(days=10)).isoformat()},
                                     actor=editor("t"))
    rl = department_record(env.kb.directory.get_department("D-RL"))
    env.kb.directory.save_department({**rl, "last_verified": (TODAY - timedelta(days=200)).isoformat()},
                                     actor=editor("t"))
    ws = DirectoryWorkspace(env.kb, env.engine, tasks, editor("编辑甲"), today=TODAY)
    qtbot.addWidget(ws)
    wait_idle(qtbot, tasks)
    tab = ws.departments
    assert set(tab.stale_rows()) == {"D-RL", "D-CY", "D-CGW"}  # 200 days old, or never verified
    assert "3 个待核实" in tab.count.text()
    tab.only_stale.setChecked(True)
    shown = {cell(tab.table, r, 0).text() for r in range(tab.table.rowCount()) if not tab.table.isRowHidden(r)}
    assert shown == {"D-RL", "D-CY", "D-CGW"}

    select(qtbot, tab.table, "D-RL", tasks)
    assert "待核实" in tab.stale.text() and "200 天" in tab.stale.text()
    click(qtbot, tab.verified_button)
    wait_idle(qtbot, tasks)
    assert env.kb.directory.get_department("D-RL").last_verified == TODAY
    assert set(tab.stale_rows()) == {"D-CY", "D-CGW"} and tab.stale.text() == ""
    assert env.kb.directory.get_department("D-RL").phone == "96069"  # the rest of the record is untouched


def test_deactivated_department_hidden_and_marked_for_rules(qtbot: QtBot, ws: DirectoryWorkspace, env: Env) -> None:
    ws.show_tab(ws.rules)  # loaded: a department change refreshes its picker
    ws.show_tab(ws.departments)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.departments
    select(qtbot, tab.table, "D-CGW", ws.ctx.tasks)
    click(qtbot, tab.deactivate_button)
    assert tab.deactivate_button.text() == "再点一次确认停用" and env.kb.directory.get_department("D-CGW").active
    click(qtbot, tab.deactivate_button)
    wait_idle(qtbot, ws.ctx.tasks)
    cgw = env.kb.directory.get_department("D-CGW")
    assert not cgw.active and cgw.phone == "010-65001234"
    assert tab.current is not None and tab.current.external_id == "D-CGW" and tab.deactivate_button.text() == "启用"
    row = next(r for r in range(tab.table.rowCount()) if cell(tab.table, r, 0).text() == "D-CGW")
    assert tab.table.isRowHidden(row)
    tab.show_inactive.setChecked(True)
    assert not tab.table.isRowHidden(row)
    picker = ws.rules.department
    assert picker.itemText(picker.findData("D-CGW")).endswith("（已停用）")


def test_new_record_with_a_used_id_is_refused(qtbot: QtBot, ws: DirectoryWorkspace, env: Env) -> None:
    ws.show_tab(ws.scripts)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.scripts
    before = env.kb.directory.scripts()
    click(qtbot, tab.new_button)
    tab.external_id.setText("S-HELLO")
    tab.script_title.setText("另一条开头语")
    tab.body.setPlainText("您好")
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert "编号 S-HELLO 已被使用" in tab.error.text() and env.kb.directory.scripts() == before


# ----------------------------------------------------------------- rules
def test_routing_rule_saved_and_deleted(qtbot: QtBot, ws: DirectoryWorkspace, env: Env) -> None:
    ws.show_tab(ws.rules)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.rules
    assert tab.table.rowCount() == 1 and cell(tab.table, 0, 1).text() == "北京市热力集团"
    click(qtbot, tab.new_button)
    tab.keywords.setText("社保卡、补办，挂失")
    click(qtbot, tab.save_button)  # no department
    assert "承办单位" in tab.error.text()
    tab.department.setCurrentIndex(tab.department.findData("D-RSJ"))
    tab.category.setEditText("社会保障/社保卡")
    tab.priority.setValue(90)
    tab.note.setPlainText("社保卡业务派市人力社保局")
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    rules = {r.department_external_id: r for r in env.kb.directory.routing_rules()}
    new = rules["D-RSJ"]
    assert (new.keywords, new.category, new.priority, new.note) == (
        ("社保卡", "补办", "挂失"), "社会保障/社保卡", 90, "社保卡业务派市人力社保局")
    assert tab.table.rowCount() == 2 and cell(tab.table, 0, 0).text() == new.external_id  # priority order
    assert tab.current is not None and tab.current.external_id == new.external_id

    click(qtbot, tab.delete_button)
    assert tab.delete_button.text() == "再点一次确认删除" and len(env.kb.directory.routing_rules()) == 2
    click(qtbot, tab.delete_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert [r.external_id for r in env.kb.directory.routing_rules()] == ["R-HEAT"] and tab.table.rowCount() == 1


# ----------------------------------------------------------------- scripts
def test_script_preview_and_save(qtbot: QtBot, ws: DirectoryWorkspace, env: Env) -> None:
    ws.show_tab(ws.scripts)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.scripts
    click(qtbot, tab.new_button)
    tab.script_title.setText("派单告知（测试）")
    tab.kind.setCurrentIndex(tab.kind.findData("dispatch"))
    tab.body.setPlainText("您好，")
    tab.body.moveCursor(tab.body.textCursor().MoveOperation.End)
    click(qtbot, tab.var_buttons["caller_name"])
    tab.body.insertPlainText("，您的问题已转交{department}，电话{phone}。{foo}")
    assert tab.preview_text() == "您好，张先生，您的问题已转交朝阳区城市管理委员会，电话010-65001234。____"
    assert "{foo}" in tab.variables_note.text() and "未知变量" in tab.variables_note.text()
    tab.samples["caller_name"].setText("李女士")
    assert "李女士" in tab.preview.toPlainText()
    tab.body.setPlainText("{caller_name}您好，您的问题已转交{department}。")
    assert "未知变量" not in tab.variables_note.text()

    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    saved = [s for s in env.kb.directory.scripts() if s.title == "派单告知（测试）"]
    assert len(saved) == 1 and saved[0].kind == "dispatch" and saved[0].body.startswith("{caller_name}您好")
    assert tab.current is not None and tab.current.external_id == saved[0].external_id
    click(qtbot, tab.delete_button)
    click(qtbot, tab.delete_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert [s.external_id for s in env.kb.directory.scripts()] == ["S-HELLO"]


# ----------------------------------------------------------------- synonyms
def test_synonyms_round_trip(qtbot: QtBot, ws: DirectoryWorkspace, env: Env, tmp_path: Path) -> None:
    ws.show_tab(ws.synonyms)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.synonyms
    before = env.kb.lexicons.synonyms()
    tab.table.add_row(["低保", "最低生活保障"])
    assert tab.dirty and "未保存" in tab.dirty_label.text()
    tab.table.add_row(["只有一列", ""])
    click(qtbot, tab.save_button)
    assert "两列都要填" in tab.error.text() and env.kb.lexicons.synonyms() == before  # nothing saved
    tab.table.removeRow(tab.table.rowCount() - 1)
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert env.kb.lexicons.synonyms()["低保"] == ["最低生活保障"] and not tab.dirty

    out = tmp_path / "synonyms.tsv"
    tab.export_to(out)
    wait_idle(qtbot, ws.ctx.tasks)
    assert ("低保", "最低生活保障") in read_synonyms(out)

    src = tmp_path / "new.tsv"
    src.write_text("# 注释\n医保卡\t社会保障卡\n公租房\t公共租赁住房\n", encoding="utf-8")
    tab.import_from(src, replace=True)
    assert tab.dirty and tab.table.rowCount() == 2 and "低保" in env.kb.lexicons.synonyms()  # loaded, not yet saved
    tab.try_input.setText("公租房怎么申请")
    tab.run_try()
    assert "公共租赁住房" in tab.try_result.toPlainText()
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert env.kb.lexicons.synonyms() == {"医保卡": ["社会保障卡"], "公租房": ["公共租赁住房"]}


# ----------------------------------------------------------------- alert lexicon
def test_bad_alert_pattern_shows_inline_error_and_saves_nothing(qtbot: QtBot, ws: DirectoryWorkspace,
                                                                 env: Env, tmp_path: Path) -> None:
    ws.show_tab(ws.alerts)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.alerts
    before = env.kb.lexicons.alert_records()
    assert tab.table.rowCount() == 3 and tab.kinds.rowCount() == 2
    row = next(r for r in range(tab.table.rowCount()) if tab.table.cell_text(r, 1) == "着火")
    cell(tab.table, row, 1).setText("(着火|起火")  # live check as the editor types
    assert "括号" in tab.error.text() and cell(tab.table, row, 1).background() == BAD_BRUSH
    tab.try_input.setText("家里厨房起火了")
    tab.run_try()
    assert "不会弹出警报" in tab.try_result.toPlainText()  # the broken line does not count
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert "括号" in tab.error.text() and "未保存" in tab.error.text()
    assert env.kb.lexicons.alert_records() == before

    cell(tab.table, row, 1).setText("(着火|起火)")
    assert tab.error.text() == ""
    tab.run_try()
    assert "火警" in tab.try_result.toPlainText()
    cell(tab.kinds, 0, 3).setText("很高")  # severity must be an integer
    click(qtbot, tab.save_button)
    assert "严重度应为整数" in tab.error.text() and env.kb.lexicons.alert_records() == before
    cell(tab.kinds, 0, 3).setText("100")
    cell(tab.table, row, 0).setText("flood")  # a kind that does not exist: the lexicon's own check
    click(qtbot, tab.save_button)
    assert "未知的提醒类型" in tab.error.text() and env.kb.lexicons.alert_records() == before
    cell(tab.table, row, 0).setText("fire")
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert "(着火|起火)" in [t["pattern"] for t in env.kb.lexicons.alert_records()[0]]
    assert [a.kind for a in env.engine.alerts("厨房起火了")] == ["fire"]  # the engine reloaded the lexicon

    tab.export_to(tmp_path)
    wait_idle(qtbot, ws.ctx.tasks)
    assert len(read_jsonl(tmp_path / "alert_terms.jsonl")) == 3 and len(read_jsonl(tmp_path / "alert_kinds.jsonl")) == 2
    (tmp_path / "alert_terms.jsonl").write_text('{"kind": "fire", "pattern": "冒烟", "polarity": "trigger"}\n',
                                                encoding="utf-8")
    tab.import_files([tmp_path / "alert_terms.jsonl"], replace=True)
    assert tab.table.rowCount() == 1 and tab.kinds.rowCount() == 2 and tab.dirty


def test_example_sentences_checked_filtered_and_explained(qtbot: QtBot, ws: DirectoryWorkspace, env: Env) -> None:
    ws.show_tab(ws.alerts)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.alerts
    rows = [[tab.table.cell_text(r, c) for c in range(4)] for r in range(tab.table.rowCount())]
    fire = ["楼道里一股臭鸡蛋味", "对面窗户冒黑烟了", "仓库烧起来了，火很大", "厨房煤气味很冲，头晕"]
    none = ["燃气费怎么交?", "消防通道被占了", "想问社保卡怎么补办", "路灯坏了"]
    tab.table.set_rows(rows + [["fire", t, "example", ""] for t in fire] + [["*", t, "counter", ""] for t in none])
    tab.mark_dirty()
    question = next(r for r in range(tab.table.rowCount()) if tab.table.cell_text(r, 1) == "燃气费怎么交?")
    assert tab.cell_problem(question, 1) == ""  # a sentence, not a pattern: "?" is just a question mark
    cell(tab.table, question, 2).setText("trigger")  # as a pattern it is wrong, and the cell says so at once
    assert cell(tab.table, question, 1).background() == BAD_BRUSH and "re:" in tab.error.text()
    cell(tab.table, question, 2).setText("counter")
    assert cell(tab.table, question, 1).background() != BAD_BRUSH and tab.error.text() == ""

    tab.polarity_filter.setCurrentIndex(tab.polarity_filter.findData("sentences"))
    shown = [r for r in range(tab.table.rowCount()) if not tab.table.isRowHidden(r)]
    assert len(shown) == len(fire) + len(none)
    tab.polarity_filter.setCurrentIndex(tab.polarity_filter.findData("patterns"))
    assert sum(not tab.table.isRowHidden(r) for r in range(tab.table.rowCount())) == len(rows)

    tab.try_input.setText("隔壁窗户冒黑烟")  # no pattern line says this: the examples do
    tab.run_try()
    shown_text = tab.try_result.toPlainText()
    assert "火警" in shown_text and "例句判断（8 句学得" in shown_text
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    terms, _kinds = env.kb.lexicons.alert_records()
    assert sum(t["polarity"] == "example" for t in terms) == len(fire)
    assert [a.kind for a in env.engine.alerts("隔壁窗户冒黑烟")] == ["fire"]


# ----------------------------------------------------------------- dictionary
class SlowEngine:
    """The real engine, with ``apply_changes`` held until the test lets it go (and recorded)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[Changes, str]] = []
        self.release = threading.Event()

    def apply_changes(self, changes: Changes) -> None:
        self.calls.append((changes, threading.current_thread().name))
        self.release.wait(10)
        self.real.apply_changes(changes)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_dictionary_change_rebuilds_index_in_background(qtbot: QtBot, env: Env, tasks: TaskManager,
                                                        tmp_path: Path) -> None:
    engine = SlowEngine(env.engine)
    ws = DirectoryWorkspace(env.kb, engine, tasks, editor("编辑甲"), today=TODAY)
    qtbot.addWidget(ws)
    ws.show_tab(ws.dictionary)
    wait_idle(qtbot, tasks)
    tab = ws.dictionary
    tab.table.add_row(["回音测 试词", "abc", ""])
    click(qtbot, tab.save_button)
    assert "不能含空格" in tab.error.text() and env.kb.lexicons.dict_words() == []
    tab.table.removeRow(0)
    tab.table.add_row(["回音专用测试词", "5000", "nz"])
    click(qtbot, tab.save_button)

    qtbot.waitUntil(lambda: bool(engine.calls), timeout=5000)
    qtbot.waitUntil(lambda: "正在后台重建" in tab.status.text(), timeout=5000)
    assert tab.rebuilding and env.kb.lexicons.dict_words() == [("回音专用测试词", 5000, "nz")]
    changes, thread = engine.calls[0]
    assert changes.dictionary and thread.startswith("huiyin-write")
    ws.show_tab(ws.synonyms)  # the window keeps working (reads) while the rebuild holds the write worker
    qtbot.waitUntil(lambda: ws.synonyms.table.rowCount() > 0 or ws.synonyms.count.text() != "", timeout=5000)
    assert tab.rebuilding

    engine.release.set()
    qtbot.waitUntil(lambda: not tab.rebuilding, timeout=20000)
    wait_idle(qtbot, tasks)
    assert "索引已按新词典重建" in tab.status.text()
    assert "回音专用测试词" in analysis.words_of("这是回音专用测试词")

    out = tmp_path / "userdict.txt"
    tab.export_to(out)
    wait_idle(qtbot, tasks)
    assert out.read_text(encoding="utf-8") == "回音专用测试词 5000 nz\n"
    src = tmp_path / "in.txt"
    src.write_text("# 注释\n接诉即办 3000 nz\n一刻钟便民生活圈\n居住证签注 n\n", encoding="utf-8")
    tab.import_from(src, replace=True)
    assert [tab.table.row_values(r) for r in range(tab.table.rowCount())] == [
        ["接诉即办", "3000", "nz"], ["一刻钟便民生活圈", "", ""], ["居住证签注", "", "n"]]


# ----------------------------------------------------------------- gazetteer
def test_places_try_and_bad_row(qtbot: QtBot, ws: DirectoryWorkspace, env: Env) -> None:
    ws.show_tab(ws.places)
    wait_idle(qtbot, ws.ctx.tasks)
    tab = ws.places
    tab.try_input.setText("三里屯附近晚上施工")
    tab.run_try()
    assert "朝阳区" in tab.try_result.toPlainText() and "三里屯街道" in tab.try_result.toPlainText()
    before = env.kb.lexicons.places()
    tab.table.add_row(["海", "", ""])
    click(qtbot, tab.save_button)
    assert "太短" in tab.error.text() and env.kb.lexicons.places() == before
    cell(tab.table, tab.table.rowCount() - 1, 0).setText("西城区")
    cell(tab.table, tab.table.rowCount() - 1, 1).setText("金融街街道")
    cell(tab.table, tab.table.rowCount() - 1, 2).setText("金融街")
    click(qtbot, tab.save_button)
    wait_idle(qtbot, ws.ctx.tasks)
    assert {"district": "西城区", "street": "金融街街道", "aliases": ["金融街"]} in env.kb.lexicons.places()
    assert env.engine.locate("金融街那边").district == "西城区"


# ----------------------------------------------------------------- import wizard, export
def test_department_import_uses_the_wizard_preset(qtbot: QtBot, ws: DirectoryWorkspace, env: Env,
                                                 tmp_path: Path) -> None:
    src = tmp_path / "departments.csv"
    src.write_text("编号,名称,层级,属地,电话,核实日期\nD-HD,海淀区人民政府,district,海淀区,010-88480000,2026-11-01\n",
                   encoding="utf-8-sig")
    wizard = ws.departments.open_import(src)
    assert wizard.kind.currentData() == "departments"
    wait_idle(qtbot, ws.ctx.tasks)
    assert wizard.confirm.isEnabled(), wizard.summary.text()
    click(qtbot, wizard.confirm)
    wait_idle(qtbot, ws.ctx.tasks)
    assert env.kb.directory.get_department("D-HD").phone == "010-88480000"
    assert "D-HD" in [d.external_id for d in ws.departments.rows] and "导入完成" in ws.departments.status.text()
    assert ws.departments.import_dialog is not None
    ws.departments.import_dialog.close()

    out = tmp_path / "out.csv"
    ws.departments.export_to(out)
    wait_idle(qtbot, ws.ctx.tasks)
    assert "D-HD" in out.read_text(encoding="utf-8-sig") and "已导出 5 条" in ws.departments.status.text()
