"""Editor widgets one at a time (pytest-qt, offscreen), fed plain data."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.editor.conflict import ConflictView
from desktop.editor.entry_form import EntryForm
from desktop.editor.entry_list import EntryFilterBar, EntryListPanel
from desktop.editor.gaps import GapsPanel
from desktop.editor.history import HistoryPanel
from kb import editorial as ed
from kb.dto import DepartmentView, EntryDraft, EntryVersionView, EntryView
from tests.desktop.conftest import cell

NOW = datetime(2026, 11, 28, 10, 0)
DEPT = DepartmentView(id=7, external_id="D-RSJ", name="北京市人力资源和社会保障局", short_name="市人力社保局",
                      level="city", parent_external_id="", district="", duties="社会保险", phone="12333",
                      duty_phone="", transfer_phone="", hours="", address="", last_verified=None, active=True,
                      revision=1, updated_at=NOW)


def entry(**over: object) -> EntryView:
    base: dict[str, object] = dict(
        id=1, external_id="E-SBK", title="社保卡丢失如何补办", answer="请先拨打12333挂失，再到网点补办。",
        aliases=("社保卡丢了",), keywords=("社保卡",), category="社会保障/社保卡", department_id=7,
        department_external_id="D-RSJ", department_name=DEPT.name, basis="《社会保障卡管理办法》",
        valid_from=date(2025, 1, 1), valid_to=None, status="draft", revision=3, created_at=NOW,
        created_by="alice", updated_at=NOW, updated_by="alice")
    base.update(over)
    return EntryView(**base)  # type: ignore[arg-type]


def version(rev: int, answer: str, action: str = "edit", by: str = "alice") -> EntryVersionView:
    snap = ed.draft_values(replace(ed.draft_of(entry()), answer=answer))
    raw: dict[str, object] = {
        "title": snap["title"], "answer": answer, "aliases": ["社保卡丢了"], "keywords": ["社保卡"],
        "category": snap["category"], "department": "D-RSJ", "basis": snap["basis"],
        "valid_from": "2025-01-01", "valid_to": "", "status": "draft"}
    return EntryVersionView(entry_id=1, revision=rev, action=action, changed_at=NOW, changed_by=by, note="",
                            snapshot=raw)


# ------------------------------------------------------------------ filter bar / table
def test_filter_bar_builds_the_filter(qtbot: QtBot) -> None:
    bar = EntryFilterBar()
    qtbot.addWidget(bar)
    bar.set_categories(["社会保障", "社会保障/社保卡"])
    bar.set_departments([DEPT])
    with qtbot.waitSignal(bar.changed, timeout=1000) as blocker:
        bar.status.setCurrentIndex(bar.status.findData("review"))
    assert blocker.args[0].status == "review"
    bar.category.setCurrentIndex(bar.category.findData("社会保障"))
    bar.department.setCurrentIndex(bar.department.findData("D-RSJ"))
    bar.flagged.setChecked(True)
    bar.expiring.setChecked(True)
    with qtbot.waitSignal(bar.changed, timeout=2000) as blocker:
        bar.search.setText("  补办 ")  # debounced
    flt = blocker.args[0]
    assert flt == ed.EntryFilter(status="review", category="社会保障", department="D-RSJ", expiring=True,
                                 flagged=True, text="补办")


def test_entry_table_rows_hints_and_selection(qtbot: QtBot) -> None:
    panel = EntryListPanel()
    qtbot.addWidget(panel)
    items = [ed.EntryListItem(entry(), flags=2, expiring=True),
             ed.EntryListItem(entry(id=2, external_id="E-2", title="第二条", status="published"), unreviewed=True)]
    panel.set_items(items)
    table = panel.table
    assert table.rowCount() == 2 and panel.count.text() == "共 2 条"
    assert cell(table, 0, 2).text() == "草稿" and cell(table, 1, 2).text() == "已发布"
    assert cell(table, 0, 3).text() == "反馈 2、即将到期" and cell(table, 1, 3).text() == "超期未审"
    with qtbot.waitSignal(table.entry_selected, timeout=1000) as blocker:
        table.selectRow(1)
    assert blocker.args[0].entry.external_id == "E-2"
    panel.set_items(list(reversed(items)), searched=True)  # selection follows the entry
    assert table.current_item() is not None and table.current_item().entry.id == 2  # type: ignore[union-attr]
    assert "相关度" in panel.count.text()


# ------------------------------------------------------------------ form + preview
@pytest.fixture
def form(qtbot: QtBot) -> EntryForm:
    f = EntryForm("bob", today=date(2026, 11, 28))
    qtbot.addWidget(f)
    f.set_departments([DEPT])
    f.set_categories(["社会保障/社保卡", "城乡建设/供暖"])
    f.resize(1000, 700)
    return f


def test_form_loads_entry_and_builds_draft(form: EntryForm) -> None:
    e = entry()
    form.load(e)
    assert not form.dirty and form.base_revision == 3
    assert form.heading.text() == "E-SBK　草稿" and "第 3 版" in form.meta.text()
    assert form.draft() == ed.draft_of(e)
    assert form.department.currentData() == "D-RSJ" and form.category.currentText() == "社会保障/社保卡"


def test_form_live_preview_follows_typing(qtbot: QtBot, form: EntryForm) -> None:
    form.load(entry())
    form.answer.setPlainText("新的口径：可在北京通APP挂失。")
    assert form.dirty and "（未保存）" in form.heading.text()
    qtbot.waitUntil(lambda: "北京通APP" in form.preview.script.toPlainText(), timeout=1000)
    assert form.preview.title.text() == "社保卡丢失如何补办"
    assert "12333" in form.preview.owner.text()  # department phone as agents see it
    assert not any(b.isEnabled() for b in form.preview.feedback_buttons.values())
    form.valid_to.setText("2026-12-10")
    form.update_preview()
    assert form.preview.badge.text().startswith("即将到期")
    form.valid_to.setText("明年")
    form.update_preview()
    assert "日期格式" in form.preview.script.toPlainText()


def test_form_save_emits_draft_and_keeps_status(qtbot: QtBot, form: EntryForm) -> None:
    form.load(entry(status="published"))
    form.title.setText("社保卡丢了怎么补办")
    form.aliases.setPlainText("社保卡丢了\n\n补办社保卡 ")
    form.keywords.setText("社保卡，补办、挂失")
    with qtbot.waitSignal(form.save_requested, timeout=1000) as blocker:
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    d: EntryDraft = blocker.args[0]
    assert d.title == "社保卡丢了怎么补办" and d.aliases == ("社保卡丢了", "补办社保卡")
    assert d.keywords == ("社保卡", "补办", "挂失") and d.status == "published"


def test_form_rejects_bad_date_inline(qtbot: QtBot, form: EntryForm) -> None:
    form.load(None)
    form.title.setText("标题")
    form.answer.setPlainText("口径")
    form.valid_from.setText("2026/13/40")
    with qtbot.assertNotEmitted(form.save_requested):
        form.request_save()
    assert form.error.text().startswith("生效日期")


def test_form_workflow_buttons(form: EntryForm) -> None:
    buttons = form.transition_buttons
    form.load(entry(status="draft"))
    assert buttons["review"].isVisibleTo(form) and not buttons["published"].isVisibleTo(form)
    form.load(entry(status="review", updated_by="bob"))  # bob is the last editor: cannot publish
    assert buttons["published"].isVisibleTo(form) and not buttons["published"].isEnabled()
    assert "审核人" in buttons["published"].toolTip()
    form.load(entry(status="review", updated_by="alice"))
    assert buttons["published"].isEnabled()
    form.title.setText("改了")  # unsaved edits: save first
    assert not buttons["published"].isEnabled()
    form.load(None)
    assert not any(b.isVisibleTo(form) for b in buttons.values())


def test_form_new_entry_from_gap_draft(form: EntryForm) -> None:
    gap = ed.Gap("no_result", "etc 办理", 3, NOW, samples=("ETC办理",))
    form.load(None, ed.draft_for_gap(gap))
    assert form.title.text() == "ETC办理" and form.dirty
    assert form.aliases.toPlainText().splitlines() == ["etc 办理", "ETC办理"]


# ------------------------------------------------------------------ history
def test_history_diff_and_rollback(qtbot: QtBot) -> None:
    panel = HistoryPanel()
    qtbot.addWidget(panel)
    panel.set_history([version(1, "请拨打12333挂失。", "create"), version(2, "请拨打96069挂失。"),
                       version(3, "请先拨打96069挂失，再到网点补办。", "rollback", by="bob")])
    assert panel.list.count() == 3 and panel.list.item(0).text().startswith("第 3 版 · 回滚 · bob")
    assert not panel.rollback_button.isEnabled()  # the current version
    panel.list.setCurrentRow(1)  # version 2 against version 1
    assert panel.left_title.text() == "第 1 版" and panel.right_title.text() == "第 2 版"
    assert "12333" in panel.left.toPlainText() and "96069" in panel.right.toPlainText()
    assert "答复口径" in panel.summary.text() and "标题" not in panel.left.toPlainText()
    assert panel.rollback_button.isEnabled()
    with qtbot.waitSignal(panel.rollback_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.rollback_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [2]
    panel.compare_current.setChecked(True)
    assert panel.right_title.text() == "第 3 版（当前）"
    panel.only_changed.setChecked(False)
    assert "标题" in panel.left.toPlainText()


# ------------------------------------------------------------------ conflict view
def test_conflict_view_shows_both_texts(qtbot: QtBot) -> None:
    view = ConflictView()
    qtbot.addWidget(view)
    theirs = entry(answer="甲：请拨打96069挂失。", revision=4, updated_by="alice")
    mine = replace(ed.draft_of(entry()), answer="乙：请拨打12333挂失。", title="社保卡丢了")
    conflict = ed.Conflict(entry_id=1, base_revision=3, mine=mine, theirs=theirs, base=ed.draft_of(entry()),
                           merged=mine, conflicting=("answer",), changed_mine=("title", "answer"),
                           changed_theirs=("answer",))
    view.show_conflict(conflict)
    assert "alice" in view.headline.text() and "第 3 版 → 第 4 版" in view.headline.text()
    assert "两人都改了：答复口径" in view.detail.text()
    assert "甲" in view.theirs.toPlainText() and "乙" in view.mine.toPlainText()
    assert "社保卡丢了" in view.mine.toPlainText()
    for button, choice in ((view.keep_mine, "mine"), (view.keep_theirs, "theirs"), (view.merge, "merge"),
                           (view.cancel, "cancel")):
        with qtbot.waitSignal(view.chosen, timeout=1000) as blocker:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert blocker.args == [choice]


# ------------------------------------------------------------------ gaps
def test_gaps_panel_actions(qtbot: QtBot) -> None:
    panel = GapsPanel()
    qtbot.addWidget(panel)
    gaps = [ed.Gap("no_result", "etc 办理", 5, NOW, samples=("ETC办理", "etc 办理")),
            ed.Gap("outdated", "社保卡丢失如何补办", 2, NOW, entry_id=1, entry_external_id="E-SBK",
                   entry_title="社保卡丢失如何补办", notes=("网点已搬迁",))]
    panel.set_gaps(gaps)
    assert cell(panel.table, 0, 0).text() == "搜索无结果" and cell(panel.table, 0, 2).text() == "5"
    assert cell(panel.table, 1, 1).text() == "E-SBK　社保卡丢失如何补办"
    assert cell(panel.table, 1, 4).text() == "网点已搬迁"
    assert not panel.action.isEnabled()
    panel.table.selectRow(0)
    assert panel.action.text() == "新建条目" and not panel.resolve.isEnabled()
    with qtbot.waitSignal(panel.create_entry, timeout=1000) as blocker:
        qtbot.mouseClick(panel.action, Qt.MouseButton.LeftButton)
    assert blocker.args[0].query == "etc 办理"
    panel.table.selectRow(1)
    assert panel.action.text() == "打开条目修改" and panel.resolve.isEnabled()
    with qtbot.waitSignal(panel.open_entry, timeout=1000) as blocker:
        panel.activate()
    assert blocker.args == [1]
    with qtbot.waitSignal(panel.resolve_entry, timeout=1000) as blocker:
        qtbot.mouseClick(panel.resolve, Qt.MouseButton.LeftButton)
    assert blocker.args == [1]
    with qtbot.waitSignal(panel.refresh_requested, timeout=1000) as blocker:
        panel.period.setCurrentIndex(0)
    assert blocker.args == [7]
