"""Import/export: whole-or-nothing, row errors, round trips in every format."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import MetaData, select

from kb.errors import ImportRejected, ValidationError
from kb.exchange import KIND_FIELDS, import_file
from kb.export import export_file, export_records
from kb.service import KnowledgeBase
from tests.helpers import IMPORT
from tests.kb.factories import DEPARTMENTS, add_departments, entry_record


def write_jsonl(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def snapshot(kb: KnowledgeBase) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table: 'exactly as it was' means this is equal."""
    meta = MetaData()
    meta.reflect(kb.store.engine)
    with kb.store.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t)).all()), key=repr)
                for t in meta.sorted_tables}


def test_bad_row_in_1000_changes_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    import_file(kb, write_jsonl(tmp_path / "seed.jsonl", [entry_record(i) for i in range(5)]), kind="entries",
                actor=IMPORT)
    before = snapshot(kb)
    rows = [entry_record(i, answer=f"更新后的口径 {i}") for i in range(1000)]
    rows[736]["valid_to"] = "2026-13-45"
    path = write_jsonl(tmp_path / "big.jsonl", rows)
    with pytest.raises(ImportRejected) as err:
        import_file(kb, path, kind="entries", actor=IMPORT)
    assert [(e.row, e.field) for e in err.value.errors] == [(737, "valid_to")]
    assert snapshot(kb) == before


def test_every_bad_row_is_listed(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    rows = [entry_record(1), entry_record(2, title=""), entry_record(3, department="没有这个单位"),
            entry_record(4, status="可能"), entry_record(1)]
    with pytest.raises(ImportRejected) as err:
        import_file(kb, write_jsonl(tmp_path / "bad.jsonl", rows), kind="entries", actor=IMPORT)
    got = {(e.row, e.field) for e in err.value.errors}
    assert got == {(2, "title"), (3, "department"), (4, "status"), (5, "external_id")}
    assert kb.stats().entries == 0


def test_reimport_updates_by_external_id(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    path = write_jsonl(tmp_path / "e.jsonl", [entry_record(i) for i in range(3)])
    r1 = import_file(kb, path, kind="entries", actor=IMPORT)
    r2 = import_file(kb, path, kind="entries", actor=IMPORT)
    assert (r1.created, r2.created, r2.unchanged) == (3, 0, 3)
    r3 = import_file(kb, write_jsonl(tmp_path / "e2.jsonl", [entry_record(1, answer="新口径")]), kind="entries",
                     actor=IMPORT)
    assert r3.updated == 1 and kb.stats().entries == 3
    assert [v.revision for v in kb.entries.history("E-00001")] == [1, 2]


def test_dry_run_writes_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    before = snapshot(kb)
    result = import_file(kb, write_jsonl(tmp_path / "e.jsonl", [entry_record(1)]), kind="entries", dry_run=True,
                         actor=IMPORT)
    assert result.created == 1 and result.dry_run
    assert snapshot(kb) == before


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "xlsx"])
def test_round_trip_every_kind(kb: KnowledgeBase, tmp_path: Path, fmt: str) -> None:
    add_departments(kb)
    import_file(kb, write_jsonl(tmp_path / "e.jsonl", [
        entry_record(1), entry_record(2, valid_to="2027-06-30", status="draft", aliases=[], basis=""),
    ]), kind="entries", actor=IMPORT)
    import_file(kb, write_jsonl(tmp_path / "s.jsonl", [
        {"external_id": "S-01", "kind": "greeting", "title": "开场白", "body": "您好，12345，{seat} 号为您服务。"}]),
        kind="scripts", actor=IMPORT)
    import_file(kb, write_jsonl(tmp_path / "w.jsonl", [
        {"external_id": "W-1", "received_at": "2026-11-20 09:30:00", "phone": "13812345678",
         "text": "暖气不热", "address": "三里屯路 1 号", "district": "朝阳区", "request_type": "complaint",
         "category": "供暖/供暖质量", "department": "D-CY-SLT", "handling": "dispatched", "entry": "E-00001"}]),
        kind="workorders", actor=IMPORT)
    import_file(kb, write_jsonl(tmp_path / "r.jsonl", [
        {"external_id": "R-1", "department": "D-CY", "keywords": ["属地"], "district": "朝阳区",
         "priority": 5, "note": "属地兜底"}]), kind="rules", actor=IMPORT)
    original = {k: export_records(kb, k) for k in ("entries", "departments", "workorders", "scripts", "rules")}

    target = KnowledgeBase.open(f"sqlite:///{tmp_path}/target.sqlite3")
    for kind in ("departments", "entries", "scripts", "workorders", "rules"):
        path = tmp_path / f"{kind}.{fmt}"
        export_file(kb, kind, path)
        import_file(target, path, kind=kind, actor=IMPORT)
    for kind, records in original.items():
        assert export_records(target, kind) == records, kind
    target.close()


def test_csv_and_xlsx_with_chinese_headers(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    csv_path = tmp_path / "entries.csv"
    with csv_path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["编号", "标题", "答复口径", "问法", "分类", "承办单位"])
        w.writerow(["E-9", "社保卡丢了怎么补", "携带身份证到社保卡服务网点补办。", "社保卡丢失；补卡",
                    "社会保障/社保卡", "北京市人力资源和社会保障局"])
    import_file(kb, csv_path, actor=IMPORT)  # kind guessed from the header
    e = kb.entries.get("E-9")
    assert e.aliases == ("社保卡丢失", "补卡") and e.department_external_id == "D-RSJ"

    wb = Workbook()
    ws = wb.active
    ws.append(list(KIND_FIELDS["departments"]))
    ws.append(["D-X", "北京市医疗保障局", "市医保局", "city", "", "", "医保", 12393, "", "", "", "", "", ""])
    ws.append(["D-Y", "", "", "city", "", "", "", "", "", "", "", "", "", ""])
    ws.append(["D-Z", "某街道", "", "town", "", "D-NOPE", "", "", "", "", "", "", "", ""])
    xlsx = tmp_path / "dept.xlsx"
    wb.save(xlsx)
    with pytest.raises(ImportRejected) as err:
        import_file(kb, xlsx, kind="departments", actor=IMPORT)
    assert {(e.row, e.field) for e in err.value.errors} == {(3, "name"), (4, "level"), (4, "parent")}
    assert "D-X" not in {d.external_id for d in kb.directory.departments()}


def test_parents_later_in_file(kb: KnowledgeBase, tmp_path: Path) -> None:
    rows = list(reversed(DEPARTMENTS))
    import_file(kb, write_jsonl(tmp_path / "d.jsonl", rows), kind="departments", actor=IMPORT)
    assert kb.directory.get_department("D-CY-SLT").parent_external_id == "D-CY"


def test_unreadable_files(kb: KnowledgeBase, tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"title": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        import_file(kb, bad, kind="entries", actor=IMPORT)
    assert err.value.errors[0].row == 2
    with pytest.raises(ValidationError, match="format"):
        import_file(kb, tmp_path / "x.docx", actor=IMPORT)
    fake = tmp_path / "fake.xlsx"
    fake.write_text("not excel")
    with pytest.raises(ValidationError):
        import_file(kb, fake, kind="departments", actor=IMPORT)


def test_counts_created_and_updated_work_orders(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    row = {"external_id": "W-9", "received_at": "2026-11-20 09:30", "text": "暖气不热", "department": "D-CY"}
    first = import_file(kb, write_jsonl(tmp_path / "w.jsonl", [row]), kind="workorders", actor=IMPORT)
    again = import_file(kb, write_jsonl(tmp_path / "w2.jsonl", [{**row, "text": "暖气还是不热"}]),
                        kind="workorders", actor=IMPORT)
    assert (first.created, first.updated, again.created, again.updated) == (1, 0, 0, 1)
    assert kb.stats().work_orders == 1
