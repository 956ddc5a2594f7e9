"""Reading import files as people make them: Excel quirks, GBK CSV, huge fields, wrong headers, no file."""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from kb.errors import ImportRejected, StorageError, ValidationError
from kb.exchange import import_file
from kb.service import KnowledgeBase
from kb.tables import MAX_FIELD_CHARS, read_table
from tests.helpers import IMPORT
from tests.kb.factories import add_departments
from tests.kb.test_exchange import snapshot, write_jsonl

ENTRY_HEADER = ["external_id", "title", "answer", "department"]


def with_cached_values(path: Path, values: dict[str, tuple[str, str]]) -> Path:
    """Write what Excel saves for formula cells: ``{"A2": ("str", "社保卡补办")}`` (type, cached value).

    openpyxl writes formulas without a cached result, as any program that never calculates does.
    """
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode("utf-8")
    for coord, (kind, value) in values.items():
        xml, n = re.subn(rf'<c r="{coord}"(?: t="\w+")?><f>(.*?)</f><v ?/>(?:</v>)?</c>',
                         rf'<c r="{coord}" t="{kind}"><f>\1</f><v>{value}</v></c>', xml)
        assert n == 1, coord
    parts["xl/worksheets/sheet1.xml"] = xml.encode("utf-8")
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def entries_xlsx(path: Path, rows: list[list[object]], *, merge: str = "") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "条目"
    ws.append(ENTRY_HEADER)
    for r in rows:
        ws.append(r)
    if merge:
        ws.merge_cells(merge)
    wb.save(path)
    return path


# ------------------------------------------------------------------ Excel
def test_xlsx_merged_cells_read_as_their_value(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    path = entries_xlsx(tmp_path / "e.xlsx", [["E-1", "社保卡补办", "带身份证补办。", "D-RSJ"],
                                              ["E-2", "社保卡挂失", "拨打 12333 挂失。", None],
                                              ["E-3", "社保卡激活", "到银行网点激活。", None]], merge="D2:D4")
    result = import_file(kb, path, kind="entries", actor=IMPORT)
    assert result.created == 3
    assert {kb.entries.get(f"E-{i}").department_external_id for i in (1, 2, 3)} == {"D-RSJ"}


def test_xlsx_merge_across_fields_is_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    path = entries_xlsx(tmp_path / "e.xlsx", [["E-1", "社保卡补办", None, "D-RSJ"]], merge="B2:C2")
    before = snapshot(kb)
    with pytest.raises(ImportRejected) as err:
        import_file(kb, path, kind="entries", actor=IMPORT)
    assert len(err.value.errors) == 1
    e = err.value.errors[0]
    assert e.row == 2 and "B2:C2" in e.reason and "合并" in e.reason
    assert "必填" not in e.reason
    assert snapshot(kb) == before


def test_xlsx_formula_uses_the_value_excel_saved(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    path = tmp_path / "e.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(ENTRY_HEADER)
    ws.append(["E-7", '="社保卡"&"补办"', "带身份证补办。", "D-RSJ"])
    wb.save(path)
    with_cached_values(path, {"B2": ("str", "社保卡补办")})
    assert import_file(kb, path, kind="entries", actor=IMPORT).created == 1
    assert kb.entries.get("E-7").title == "社保卡补办"


def test_xlsx_formula_without_saved_value_is_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    wb = Workbook()
    ws = wb.active
    ws.append(ENTRY_HEADER)
    ws.append(["E-7", '="社保卡"&"补办"', "带身份证补办。", "D-RSJ"])
    ws.append(["E-8", "社保卡挂失", "=B2", "D-RSJ"])
    wb.save(tmp_path / "e.xlsx")
    with pytest.raises(ImportRejected) as err:
        import_file(kb, tmp_path / "e.xlsx", kind="entries", actor=IMPORT)
    got = {(e.row, e.field): e.reason for e in err.value.errors}
    assert set(got) == {(2, "title"), (3, "answer")}
    assert "B2" in got[(2, "title")] and "公式" in got[(2, "title")] and "保存" in got[(2, "title")]
    assert all("必填" not in r for r in got.values())
    assert kb.stats().entries == 0


def test_xlsx_formula_error_value_is_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    wb = Workbook()
    ws = wb.active
    ws.append(ENTRY_HEADER)
    ws.append(["E-7", "社保卡补办", "=VLOOKUP(A2,X!A:B,2,0)", "D-RSJ"])
    wb.save(tmp_path / "e.xlsx")
    with_cached_values(tmp_path / "e.xlsx", {"C2": ("e", "#N/A")})
    with pytest.raises(ImportRejected) as err:
        import_file(kb, tmp_path / "e.xlsx", kind="entries", actor=IMPORT)
    assert [(e.row, e.field) for e in err.value.errors] == [(2, "answer")]
    assert "#N/A" in err.value.errors[0].reason


def test_xlsx_says_which_sheet_was_read_and_can_read_another(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    wb = Workbook()
    first = wb.active
    first.title = "说明"
    first.append(["external_id", "title", "answer"])
    first.append(["E-1", "第一张表的条目", "口径一"])
    second = wb.create_sheet("条目")
    second.append(["external_id", "title", "answer"])
    second.append(["E-2", "第二张表的条目", "口径二"])
    wb.save(tmp_path / "two.xlsx")
    result = import_file(kb, tmp_path / "two.xlsx", kind="entries", dry_run=True, actor=IMPORT)
    assert result.created == 1
    assert any("说明" in n and "条目" in n and "第一个工作表" in n for n in result.notes)
    result = import_file(kb, tmp_path / "two.xlsx", kind="entries", sheet="条目", actor=IMPORT)
    assert kb.entries.get("E-2").title == "第二张表的条目"
    assert not any("第一个工作表" in n for n in result.notes)
    with pytest.raises(ValidationError, match="没有名为「汇总」的工作表"):
        import_file(kb, tmp_path / "two.xlsx", kind="entries", sheet="汇总", actor=IMPORT)


# ------------------------------------------------------------------ CSV encodings and sizes
def test_gbk_csv_is_detected(kb: KnowledgeBase, tmp_path: Path) -> None:
    add_departments(kb)
    path = tmp_path / "gbk.csv"
    path.write_bytes("编号,标题,答复口径,承办单位\nE-9,社保卡丢了怎么补,携带身份证到社保卡服务网点补办。,D-RSJ\n"
                     .encode("gbk"))
    result = import_file(kb, path, actor=IMPORT)
    assert result.kind == "entries" and result.created == 1
    assert kb.entries.get("E-9").title == "社保卡丢了怎么补"
    assert any("GBK" in n for n in result.notes)


def test_undecodable_csv_says_how_to_save_as_utf8(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"title,answer\n\x81\x20\xff\xfe,x\n")
    with pytest.raises(ValidationError) as err:
        import_file(kb, path, kind="entries", actor=IMPORT)
    assert "UTF-8" in str(err.value) and "另存为" in str(err.value)


def test_huge_csv_field_is_a_row_error(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("external_id,title,answer\nE-1,标题,短口径\nE-2,标题二," + "长" * 10_000_000 + "\n",
                    encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        import_file(kb, path, kind="entries", actor=IMPORT)
    assert [e.row for e in err.value.errors] == [3]
    assert "过长" in err.value.errors[0].reason and f"{MAX_FIELD_CHARS}" in err.value.errors[0].reason


def test_long_jsonl_field_is_refused_quickly(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "long.jsonl", [
        {"external_id": "E-1", "title": "长字段", "answer": "口径" * 2_500_000},
        {"external_id": "E-2", "title": "短", "answer": "口径", "basis": "依" * (MAX_FIELD_CHARS + 1)}])
    started = time.perf_counter()
    with pytest.raises(ImportRejected) as err:
        import_file(kb, path, kind="entries", actor=IMPORT)
    assert time.perf_counter() - started < 5
    assert [(e.row, e.field) for e in err.value.errors] == [(1, "answer"), (2, "basis")]
    assert kb.stats().entries == 0


# ------------------------------------------------------------------ headers, empty and missing files
def test_headers_matching_no_field_say_so(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("问题描述,处理意见\n社保卡丢了,去补办\n医保怎么报,按比例\n", encoding="utf-8")
    for kind in ("entries", None):
        with pytest.raises(ValidationError) as err:
            import_file(kb, path, kind=kind, actor=IMPORT)
        assert not isinstance(err.value, ImportRejected)
        text = str(err.value)
        assert "问题描述" in text and "表头" in text and "必填字段为空" not in text


def test_missing_required_column_is_one_error(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "e.jsonl", [{"external_id": f"E-{i}", "title": f"标题{i}"} for i in range(50)])
    with pytest.raises(ValidationError) as err:
        import_file(kb, path, kind="entries", actor=IMPORT)
    assert not isinstance(err.value, ImportRejected)
    assert "answer" in str(err.value) and "缺少" in str(err.value)


def test_unknown_columns_are_named_in_the_notes(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("external_id,title,answer,titel\nE-1,标题,口径,拼错的列\n", encoding="utf-8")
    result = import_file(kb, path, kind="entries", dry_run=True, actor=IMPORT)
    assert any("titel" in n and "忽略" in n for n in result.notes)


@pytest.mark.parametrize("content", ["", "\n\n", "external_id,title,answer\n", "[]"])
def test_empty_file_is_an_error(kb: KnowledgeBase, tmp_path: Path, content: str) -> None:
    path = tmp_path / ("e.json" if content == "[]" else "e.csv")
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError, match="没有数据"):
        import_file(kb, path, kind="entries", actor=IMPORT)


def test_missing_file_and_directory_are_bad_input(kb: KnowledgeBase, tmp_path: Path) -> None:
    for path in (tmp_path / "nope.csv", tmp_path / "nope", tmp_path):
        with pytest.raises(ValidationError) as err:
            import_file(kb, path, kind="entries", actor=IMPORT)
        assert not isinstance(err.value, StorageError)
    with pytest.raises(ValidationError, match="文件夹"):
        read_table(tmp_path)
    with pytest.raises(ValidationError, match="不存在"):
        read_table(tmp_path / "nope.csv")


def test_duplicate_header_is_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("external_id,标题,title,answer\nE-1,甲,乙,口径\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="title"):
        import_file(kb, path, kind="entries", actor=IMPORT)


def test_jsonl_keeps_line_separators_inside_strings(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps({"external_id": "E-1", "title": "含\u2028分隔符", "answer": "口径"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    assert import_file(kb, path, kind="entries", actor=IMPORT).created == 1
