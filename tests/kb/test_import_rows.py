"""What an import does with the rows: booleans, unchanged rows, every problem of a row, one hint for many."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.errors import ImportRejected
from kb.exchange import KIND_FIELDS, import_file
from kb.export import export_file, export_records
from kb.service import KnowledgeBase
from tests.helpers import IMPORT
from tests.kb.factories import DEPARTMENTS, add_departments, entry_record
from tests.kb.test_exchange import snapshot, write_jsonl

PLACES = [{"district": "朝阳区", "street": "", "aliases": ["朝阳"]},
          {"district": "朝阳区", "street": "三里屯街道", "aliases": ["三里屯"]},
          {"district": "海淀区", "street": "", "aliases": ["海淀"]}]


def seed_everything(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    import_file(kb, write_jsonl(tmp_path / "e.jsonl", [entry_record(1), entry_record(2, status="draft")]),
                kind="entries", actor=IMPORT)
    import_file(kb, write_jsonl(tmp_path / "s.jsonl", [
        {"external_id": "S-01", "kind": "greeting", "title": "开场白", "body": "您好，12345。"}]), kind="scripts",
                actor=IMPORT)
    import_file(kb, write_jsonl(tmp_path / "w.jsonl", [
        {"external_id": "W-1", "received_at": "2026-11-20 09:30:00", "phone": "13812345678", "text": "暖气不热",
         "district": "朝阳区", "request_type": "complaint", "category": "供暖/供暖质量", "department": "D-CY-SLT",
         "handling": "dispatched", "entry": "E-00001", "due_at": "2026-11-27 09:30:00", "returned": "是"},
        {"external_id": "W-2", "received_at": "2026-11-21 10:00:00", "text": "咨询社保", "handling": "answered"}]),
        kind="workorders", actor=IMPORT)
    import_file(kb, write_jsonl(tmp_path / "r.jsonl", [
        {"external_id": "R-1", "department": "D-CY", "keywords": ["属地"], "district": "朝阳区", "priority": 5,
         "note": "属地兜底", "active": "停用"}]), kind="rules", actor=IMPORT)
    import_file(kb, write_jsonl(tmp_path / "b.jsonl", [
        {"external_id": "B-1", "title": "停水通知", "body": "望京部分楼栋停水", "starts_at": "2026-11-20 08:00",
         "ends_at": "2026-11-21 18:00", "pinned": "是"}]), kind="bulletins", actor=IMPORT)
    import_file(kb, write_jsonl(tmp_path / "p.jsonl", PLACES), kind="places", actor=IMPORT)


# ------------------------------------------------------------------ booleans
def test_booleans_accept_chinese_and_refuse_anything_else(kb: KnowledgeBase, tmp_path: Path) -> None:
    rows = [dict(DEPARTMENTS[0], active="停用"), dict(DEPARTMENTS[1], active="启用"),
            dict(DEPARTMENTS[2], active="否")]
    import_file(kb, write_jsonl(tmp_path / "d.jsonl", rows), kind="departments", actor=IMPORT)
    active = {d.external_id: d.active for d in kb.directory.departments(include_inactive=True)}
    assert active == {"D-RSJ": False, "D-CY": True, "D-CY-SLT": False}
    for text, expected in (("是", True), ("0", False), ("TRUE", True), ("false", False), ("1", True)):
        import_file(kb, write_jsonl(tmp_path / "d2.jsonl", [dict(DEPARTMENTS[0], active=text)]), kind="departments",
                    actor=IMPORT)
        assert kb.directory.get_department("D-RSJ").active is expected, text
    before = snapshot(kb)
    bad = [dict(DEPARTMENTS[0], active="暂停"), dict(DEPARTMENTS[1], active="yes please")]
    with pytest.raises(ImportRejected) as err:
        import_file(kb, write_jsonl(tmp_path / "bad.jsonl", bad), kind="departments", actor=IMPORT)
    assert [(e.row, e.field) for e in err.value.errors] == [(1, "active"), (2, "active")]
    assert "停用" in err.value.errors[0].reason
    assert snapshot(kb) == before


def test_booleans_of_rules_bulletins_and_work_orders(kb: KnowledgeBase, tmp_path: Path) -> None:
    seed_everything(kb, tmp_path)
    assert [r.active for r in kb.directory.routing_rules()] == [False]
    assert [b.pinned for b in kb.directory.bulletins()] == [True]
    assert kb.work_orders.get(next(w.id for w in kb.work_orders.iter_all() if w.external_id == "W-1")).returned
    with pytest.raises(ImportRejected) as err:
        import_file(kb, write_jsonl(tmp_path / "b2.jsonl", [{"title": "公告", "pinned": "置顶"}]), kind="bulletins",
                    actor=IMPORT)
    assert [(e.row, e.field) for e in err.value.errors] == [(1, "pinned")]


# ------------------------------------------------------------------ unchanged rows write nothing
@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx"])
def test_reimporting_an_identical_export_changes_nothing(kb: KnowledgeBase, tmp_path: Path, fmt: str) -> None:
    seed_everything(kb, tmp_path)
    before = snapshot(kb)
    for kind in KIND_FIELDS:
        path = tmp_path / f"{kind}.{fmt}"
        count = export_file(kb, kind, path)
        result = import_file(kb, path, kind=kind, actor=IMPORT)
        assert (result.created, result.updated, result.unchanged, result.deleted) == (0, 0, count, 0), kind
    assert snapshot(kb) == before


def test_changed_rows_are_counted_as_updated(kb: KnowledgeBase, tmp_path: Path) -> None:
    seed_everything(kb, tmp_path)
    rules = export_records(kb, "rules")
    rules[0]["priority"] = 9
    assert import_file(kb, write_jsonl(tmp_path / "r2.jsonl", rules), kind="rules", actor=IMPORT).updated == 1
    bulletins = export_records(kb, "bulletins")
    bulletins[0]["body"] = "停水延长到周五"
    assert import_file(kb, write_jsonl(tmp_path / "b2.jsonl", bulletins), kind="bulletins", actor=IMPORT).updated == 1
    orders = export_records(kb, "workorders")
    orders[1]["text"] = "咨询社保卡"
    result = import_file(kb, write_jsonl(tmp_path / "w2.jsonl", orders), kind="workorders", actor=IMPORT)
    assert (result.updated, result.unchanged) == (1, 1)


# ------------------------------------------------------------------ every problem, one hint
def test_a_row_with_several_problems_lists_them_all(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    row = entry_record(1, title="", valid_from="2026-02-30", status="可能", department="没有这个单位")
    bad_order = {"external_id": "W-1", "received_at": "昨天", "text": "", "request_type": "吐槽",
                 "due_at": "2026-13-01", "returned": "退了"}
    with pytest.raises(ImportRejected) as err:
        import_file(kb, write_jsonl(tmp_path / "e.jsonl", [row]), kind="entries", actor=IMPORT)
    assert {e.field for e in err.value.errors} == {"title", "valid_from", "status", "department"}
    with pytest.raises(ImportRejected) as err:
        import_file(kb, write_jsonl(tmp_path / "w.jsonl", [bad_order]), kind="workorders", actor=IMPORT)
    assert {e.field for e in err.value.errors} == {"received_at", "text", "request_type", "due_at", "returned"}


def test_departments_not_imported_yet_give_one_hint(kb: KnowledgeBase, tmp_path: Path) -> None:
    rows = [entry_record(i, department=f"D-{i % 7}") for i in range(163)]
    with pytest.raises(ImportRejected) as err:
        import_file(kb, write_jsonl(tmp_path / "e.jsonl", rows), kind="entries", actor=IMPORT)
    assert len(err.value.errors) == 1
    assert "先导入承办单位" in err.value.errors[0].reason and "163" in err.value.errors[0].reason


def test_one_missing_department_named_once(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    rows = [entry_record(i, department="市交通委" if i % 2 else "D-RSJ") for i in range(60)]
    rows[10]["valid_to"] = "不知道"
    with pytest.raises(ImportRejected) as err:
        import_file(kb, write_jsonl(tmp_path / "e.jsonl", rows), kind="entries", actor=IMPORT)
    got = [(e.row, e.field) for e in err.value.errors]
    assert got == [(2, "department"), (11, "valid_to")]
    assert "市交通委" in err.value.errors[0].reason and "30 行" in err.value.errors[0].reason


# ------------------------------------------------------------------ whole file or nothing
def test_bad_row_leaves_every_table_identical(kb: KnowledgeBase, tmp_path: Path) -> None:
    seed_everything(kb, tmp_path)
    before = snapshot(kb)
    cases: dict[str, list[dict[str, object]]] = {
        "places": [{"district": "朝阳区", "street": "望京街道", "aliases": ["望京"]}, {"district": ""}],
        "rules": [{"external_id": "R-2", "department": "D-RSJ", "priority": 3},
                  {"external_id": "R-3", "department": "D-RSJ", "active": "也许"}],
        "workorders": [{"external_id": "W-3", "received_at": "2026-11-22", "text": "噪音", "handling": "answered"},
                       {"external_id": "W-4", "received_at": "2026-11-22", "text": "x", "handling": "answered",
                        "returned": "?"}],
        "bulletins": [{"external_id": "B-2", "title": "新公告"}, {"external_id": "B-3", "title": "x",
                                                                "starts_at": "2026-99-01"}],
    }
    for kind, rows in cases.items():
        with pytest.raises(ImportRejected):
            import_file(kb, write_jsonl(tmp_path / f"bad-{kind}.jsonl", rows), kind=kind, actor=IMPORT)
        assert snapshot(kb) == before, kind
