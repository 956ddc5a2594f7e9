"""Chinese labels in enumerated fields: ``huiyin import`` reads them, ``huiyin export --labels zh`` writes them.

Run through the ``huiyin`` entry point (``desktop.cli.main``) on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook

from desktop.cli import EXIT_BAD_INPUT, EXIT_OK, main
from kb.exchange import KIND_FIELDS
from kb.export import export_records
from kb.service import KnowledgeBase
from tests.conftest import pg_schema_url
from tests.kb.test_exchange import write_jsonl

KINDS = ("departments", "entries", "scripts", "workorders", "rules", "bulletins", "places")

DEPARTMENTS_CSV = [  # as an office would type it: Chinese headers, levels by their labels
    ["编号", "名称", "层级", "属地", "上级", "电话", "启用"],
    ["D-CY", "朝阳区人民政府", "区级", "朝阳区", "", "010-65099999", "是"],
    ["D-CY-SLT", "朝阳区三里屯街道办事处", "街道", "朝阳区", "D-CY", "010-64176577", "是"],
    ["D-RQ", "北京燃气集团", "企业", "", "", "96777", "否"],
    ["D-SW", "北京市水务局", "市级", "", "", "", "启用"],
]
ENTRIES: list[dict[str, object]] = [
    {"external_id": "E-1", "title": "暖气不热找谁", "answer": "请先联系物业或供热单位。", "department": "D-CY",
     "status": "已发布", "aliases": ["暖气不热", "屋里冷"], "keywords": ["供暖"], "valid_from": "2025-11-15"},
    {"external_id": "E-2", "title": "燃气表欠费", "answer": "可在燃气集团营业厅或 App 缴费。", "department": "D-RQ",
     "status": "草稿"},
    {"external_id": "E-3", "title": "停水通知", "answer": "请关注水务局公告。", "status": "待审核"},
    {"external_id": "E-4", "title": "旧的供暖口径", "answer": "已停用。", "status": "Archived"},
]
WORKORDERS_CSV = [
    ["编号", "受理时间", "电话", "诉求内容", "属地", "诉求类型", "紧急程度", "办理方式", "承办单位", "状态",
     "办理时限", "退回", "选用口径"],
    ["W-1", "2026-11-20 09:30", "13812345678", "暖气不热，屋里只有十五度", "朝阳区", "投诉", "一般", "派单",
     "D-CY-SLT", "已派单", "2026-11-27 18:00", "否", "E-1"],
    ["W-2", "2026-11-20 10:05", "13900001111", "楼道里闻到燃气味", "朝阳区", "求助", "紧急危险", "转接", "",
     "已办结", "", "否", ""],
    ["W-3", "2026-11-21 08:00", "", "建议增加公交线路", "", "建议", "普通", "直接答复", "", "", "", "", ""],
    ["W-4", "2026-11-21 08:10", "13812345678", "暖气还是不热，第二次来电", "朝阳区", "complaint", "紧急", "dispatched",
     "D-CY-SLT", "已退回", "2026-11-22 10:00", "是", ""],
]
SCRIPTS = [{"external_id": "S-1", "kind": "开头语", "title": "标准开头语", "body": "您好，12345，{seat} 号为您服务。"},
           {"external_id": "S-2", "kind": "节日问候", "title": "春节问候", "body": "新春快乐！"}]  # a kind of its own
RULES = [{"external_id": "R-1", "department": "D-CY", "keywords": ["属地"], "district": "朝阳区", "priority": 5,
          "note": "属地兜底", "active": True}]
BULLETINS = [{"external_id": "B-1", "title": "朝阳区计划停水", "body": "11 月 25 日 9:00-17:00", "pinned": True,
              "starts_at": "2026-11-24 08:00", "ends_at": "2026-11-25 18:00"}]


class Huiyin:
    """``huiyin --basedir HOME --db URL …`` in this process (the console script's ``main``)."""

    def __init__(self, home: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.home, self.url, self.capsys = home, url, capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        try:
            code = main(["--basedir", str(self.home), "--db", self.url, *argv])
        except SystemExit as exc:  # argparse: a usage error
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *argv: str) -> str:
        code, out, err = self(*argv)
        assert code == EXIT_OK, err
        return out

    def records(self) -> dict[str, list[dict[str, object]]]:
        kb = KnowledgeBase.open(self.url)
        try:
            return {kind: export_records(kb, kind) for kind in KINDS}
        finally:
            kb.close()


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def base(url: str, home: Path, capsys: pytest.CaptureFixture[str]) -> Huiyin:
    huiyin = Huiyin(home, url, capsys)
    huiyin.ok("init", "--empty")  # the alert lexicon and the gazetteer, no knowledge
    return huiyin


def load_everything(huiyin: Huiyin, folder: Path) -> None:
    """Every kind, the enumerated fields written as people write them."""
    huiyin.ok("import", str(write_csv(folder / "departments.csv", DEPARTMENTS_CSV)), "--kind", "departments")
    huiyin.ok("import", str(write_jsonl(folder / "entries.jsonl", ENTRIES)), "--kind", "entries")
    huiyin.ok("import", str(write_csv(folder / "workorders.csv", WORKORDERS_CSV)), "--kind", "workorders")
    huiyin.ok("import", str(write_jsonl(folder / "scripts.jsonl", SCRIPTS)), "--kind", "scripts")
    huiyin.ok("import", str(write_jsonl(folder / "rules.jsonl", RULES)), "--kind", "rules")
    huiyin.ok("import", str(write_jsonl(folder / "bulletins.jsonl", BULLETINS)), "--kind", "bulletins")


@pytest.fixture
def other_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second, empty database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/other.sqlite3"
    else:
        yield from pg_schema_url()


def test_departments_entries_and_work_orders_with_chinese_labels(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huiyin = base(db_url, tmp_path / "home", capsys)
    load_everything(huiyin, tmp_path)
    got = huiyin.records()
    assert {d["external_id"]: (d["level"], d["active"]) for d in got["departments"]} == {
        "D-CY": ("district", True), "D-CY-SLT": ("street", True), "D-RQ": ("enterprise", False),
        "D-SW": ("city", True)}
    assert {e["external_id"]: e["status"] for e in got["entries"]} == {
        "E-1": "published", "E-2": "draft", "E-3": "review", "E-4": "archived"}
    assert [(w["external_id"], w["request_type"], w["urgency"], w["handling"], w["status"], w["returned"])
            for w in sorted(got["workorders"], key=lambda w: str(w["external_id"]))] == [
        ("W-1", "complaint", "normal", "dispatched", "dispatched", False),
        ("W-2", "help", "danger", "transferred", "closed", False),
        ("W-3", "suggestion", "normal", "answered", "closed", False),
        ("W-4", "complaint", "urgent", "dispatched", "returned", True)]
    assert {s["external_id"]: s["kind"] for s in got["scripts"]} == {"S-1": "greeting", "S-2": "节日问候"}


def test_a_work_order_file_whose_request_type_says_投诉(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huiyin = base(db_url, tmp_path / "home", capsys)
    path = write_csv(tmp_path / "calls.csv", [["received_at", "text", "request_type"],
                                              ["2026-11-20 09:30", "小区门口占道经营", "投诉"]])
    assert "新增 created 1" in huiyin.ok("import", str(path), "--kind", "workorders")
    [order] = huiyin.records()["workorders"]
    assert order["request_type"] == "complaint" and order["handling"] == "answered"


def test_a_value_that_is_neither_code_nor_label_is_bad_input(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huiyin = base(db_url, tmp_path / "home", capsys)
    path = write_csv(tmp_path / "calls.csv", [["受理时间", "诉求内容", "诉求类型", "办理方式", "紧急程度"],
                                              ["2026-11-20 09:30", "占道经营", "投拆", "直接答复", "一般"],
                                              ["2026-11-20 09:40", "噪音扰民", "投诉", "派送", "很急"],
                                              ["2026-11-20 09:50", "路灯不亮", "求助", "直接答复", "一般"]])
    code, _, err = huiyin("import", str(path), "--kind", "workorders")
    assert code == EXIT_BAD_INPUT and "Traceback" not in err
    lines = [line.strip() for line in err.splitlines()]
    assert lines[1].startswith("第 2 行 row 2 · 字段 field request_type · “投拆”不是有效的诉求类型，"
                               "应为 咨询(consult)、求助(help)、投诉(complaint)")
    assert lines[2].startswith("第 3 行 row 3 · 字段 field handling · “派送”不是有效的办理方式，"
                               "应为 直接答复(answered)")
    assert lines[3].startswith("第 3 行 row 3 · 字段 field urgency · “很急”不是有效的紧急程度")
    assert len(lines) == 4
    assert huiyin.records()["workorders"] == []  # the whole file or nothing


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx"])
def test_export_with_labels_then_import_is_lossless(
        db_url: str, other_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    source = base(db_url, tmp_path / "home", capsys)
    load_everything(source, tmp_path)
    files = tmp_path / "out"
    files.mkdir()
    for kind in KINDS:
        assert f"{kind} " in source.ok("export", "--kind", kind, str(files / f"{kind}.{fmt}"), "--labels", "zh")

    orders = files / f"workorders.{fmt}"
    if fmt == "xlsx":
        rows = list(load_workbook(orders, read_only=True).active.iter_rows(values_only=True))
        header = rows[0]
        assert header[:4] == ("工单编号", "编号", "受理时间", "电话") and "诉求类型" in header
        written = dict(zip(header, rows[1], strict=True))
        assert written["诉求类型"] in ("投诉", "求助", "建议") and written["退回"] in ("是", "否")
    else:
        text = orders.read_text(encoding="utf-8-sig")
        assert "投诉" in text and "已派单" in text and "complaint" not in text and "dispatched" not in text
        header = text.splitlines()[0] if fmt == "csv" else ",".join(json.loads(text.splitlines()[0]))
        assert header.split(",")[:3] == list(KIND_FIELDS["workorders"][:3])  # field names outside Excel

    target = base(other_url, tmp_path / "other", capsys)
    for kind in KINDS:
        target.ok("import", str(files / f"{kind}.{fmt}"), "--kind", kind)
    assert target.records() == source.records()
    again = target.ok("import", str(files / f"workorders.{fmt}"))  # the kind read from the header too
    assert "新增 created 0" in again and "更新 updated 0" in again


def test_export_codes_by_default_and_refuse_an_unknown_language(
        db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    huiyin = base(db_url, tmp_path / "home", capsys)
    load_everything(huiyin, tmp_path)
    huiyin.ok("export", "--kind", "workorders", str(tmp_path / "w.xlsx"))
    rows = list(load_workbook(tmp_path / "w.xlsx", read_only=True).active.iter_rows(values_only=True))
    assert rows[0] == KIND_FIELDS["workorders"]
    assert {dict(zip(rows[0], r, strict=True))["request_type"] for r in rows[1:]} == {"complaint", "help",
                                                                                    "suggestion"}
    code, _, err = huiyin("export", "--kind", "workorders", str(tmp_path / "w.csv"), "--labels", "en")
    assert code != EXIT_OK and "--labels" in err and not (tmp_path / "w.csv").exists()
