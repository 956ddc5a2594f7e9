"""Reading import files into rows: formats, encodings, Excel sheets, headers and size limits.

Formats by file suffix: ``.jsonl``, ``.json`` (an array of objects), ``.csv`` (UTF-8 with or
without BOM, or GBK/GB18030 as Chinese Excel saves it) and ``.xlsx`` (one sheet, the first unless
named; header row; merged cells read as their value, formulas as the result Excel saved). A header
may name a field or give its Chinese header (:data:`HEADER_ALIASES`). What the rows mean is
:mod:`kb.exchange`'s business.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.errors import ImportRejected, RowError, StorageError, ValidationError

FORMATS = ("jsonl", "json", "csv", "xlsx")

# The Chinese header of every field (XLSX exports with labels write these; imports read them).
HEADER_LABELS: dict[str, str] = {
    "external_id": "编号", "title": "标题", "answer": "答复口径", "aliases": "问法", "keywords": "关键词",
    "category": "分类", "department": "承办单位", "basis": "政策依据", "valid_from": "生效日期",
    "valid_to": "失效日期", "status": "状态", "name": "名称", "short_name": "简称", "level": "层级",
    "district": "属地", "parent": "上级", "duties": "职责", "phone": "电话", "duty_phone": "值班电话",
    "transfer_phone": "转接电话", "address": "地址", "hours": "办公时间", "last_verified": "核实日期",
    "active": "启用", "id": "工单编号", "received_at": "受理时间", "caller_name": "来电人", "text": "诉求内容",
    "street": "街道", "request_type": "诉求类型", "urgency": "紧急程度", "handling": "办理方式",
    "entry": "选用口径", "due_at": "办理时限", "returned": "退回", "seat": "坐席", "kind": "话术类型",
    "body": "内容", "priority": "优先级", "note": "备注", "starts_at": "开始时间", "ends_at": "结束时间",
    "pinned": "置顶",
}
KIND_HEADER_LABELS: dict[str, dict[str, str]] = {"places": {"aliases": "别名", "street": "街道/乡镇"}}
# Import files written by people often use Chinese headers: the ones above, and these.
HEADER_ALIASES = {
    **{label: f for f, label in HEADER_LABELS.items()},
    **{label: f for labels in KIND_HEADER_LABELS.values() for f, label in labels.items()},
    "问题": "title", "答复": "answer", "口径": "answer", "区": "district", "来电号码": "phone",
    "诉求内容描述": "text", "工单状态": "status", "条目状态": "status", "单位层级": "level", "类型": "kind",
}
# One field of an import file holds at most this many characters. The longest answer scripts are a
# few thousand; a 10 MB cell is a mistake (and would take a minute to index).
MAX_FIELD_CHARS = 20_000

Rows = list[tuple[int, dict[str, Any]]]


@dataclass
class ImportTable:
    """The rows of a file as (row number, record), and what the user should know about reading it."""

    rows: Rows
    notes: list[str] = field(default_factory=list)


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValidationError(f"format: 不支持的文件类型 .{suffix}（支持 {', '.join(FORMATS)}）")
    return suffix


def read_rows(path: Path) -> Rows:
    """Rows of a file as (row number, record). CSV/XLSX count the header as row 1."""
    return read_table(path).rows


def read_table(path: Path, *, sheet: str | None = None) -> ImportTable:
    """Read an import file; ``sheet`` names the Excel sheet (default: the first).

    Raises ValidationError for a missing file, a folder, an unknown format or encoding, an empty
    file; ImportRejected listing the bad rows (unreadable lines, oversized fields, Excel cells that
    cannot be read as one value).
    """
    if path.is_dir():
        raise ValidationError(f"path: 这是一个文件夹，不是文件：{path}")
    fmt = detect_format(path)
    if not path.exists():
        raise ValidationError(f"path: 文件不存在：{path}")
    if sheet and fmt != "xlsx":
        raise ValidationError("sheet: 只有 Excel (xlsx) 文件有工作表")
    try:
        if fmt == "xlsx":
            table = _read_xlsx(path, sheet)
        else:
            content, note = _decode(path.read_bytes(), path)
            reader = {"jsonl": _read_jsonl, "json": _read_json, "csv": _read_csv}[fmt]
            table = reader(content)
            if note:
                table.notes.insert(0, note)
    except OSError as exc:
        raise StorageError(f"无法读取文件 {path}：{exc}") from exc
    _check_sizes(table.rows)
    if not table.rows:
        where = f"工作表「{sheet}」" if sheet else "文件"
        raise ValidationError(f"{where}中没有数据行（空的，或只有表头）：{path.name}")
    return table


def sheet_names(path: Path) -> list[str]:
    """The sheets of an Excel file, in order (empty for other formats and unreadable files)."""
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return []
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError):
        return []
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    """The text of a file and a note on its encoding: UTF-8 (BOM optional), UTF-16 with BOM, or GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "文件按 UTF-16 编码读取"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "文件按 GBK/GB18030 编码读取（中文版 Excel 保存 CSV 的默认编码）"
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"encoding: 无法识别文件编码（既不是 UTF-8，也不是 GBK/GB18030）：{path.name}。请用 Excel 打开，"
            "「文件 → 另存为」，保存类型选「CSV UTF-8（逗号分隔）」后再导入") from exc


def _check_sizes(rows: Rows) -> None:
    errors = [RowError(n, str(key), _too_long(value))
              for n, rec in rows for key, value in rec.items() if _length(value) > MAX_FIELD_CHARS]
    if errors:
        raise ImportRejected(errors)


def _length(value: object) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(len(str(v)) for v in value)
    return 0


def _too_long(value: object) -> str:
    size = f"{_length(value)} 字" if value is not None else f"超过 {csv.field_size_limit()} 字"
    return f"内容过长（{size}），一个字段最多 {MAX_FIELD_CHARS} 字：请检查是否粘贴错了内容"


def _read_jsonl(content: str) -> ImportTable:
    errors: list[RowError] = []
    rows: Rows = []
    for n, line in enumerate(content.split("\n"), start=1):  # not splitlines(): U+2028 may be inside a string
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(RowError(n, "json", f"不是合法的 JSON：{exc.msg}"))
            continue
        if not isinstance(obj, dict):
            errors.append(RowError(n, "json", "每行应为一个 JSON 对象"))
            continue
        rows.append((n, obj))
    if errors:
        raise ImportRejected(errors)
    return ImportTable(rows)


def _read_json(content: str) -> ImportTable:
    try:
        data = json.loads(content) if content.strip() else []
    except json.JSONDecodeError as exc:
        raise ImportRejected([RowError(exc.lineno, "json", f"不是合法的 JSON：{exc.msg}")]) from exc
    if isinstance(data, dict):  # {"entries": [...]} is accepted too
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else None
    if not isinstance(data, list):
        raise ImportRejected([RowError(1, "json", "应为 JSON 数组 [ {…}, {…} ]")])
    bad = [RowError(i, "json", "应为 JSON 对象") for i, o in enumerate(data, 1) if not isinstance(o, dict)]
    if bad:
        raise ImportRejected(bad)
    return ImportTable(list(enumerate(data, start=1)))


def _normalise_header(name: object) -> str:
    key = str(name or "").strip().lstrip("\ufeff")
    if key in HEADER_ALIASES:
        return HEADER_ALIASES[key]
    return key.lower() if key.isascii() else key


def _header(cells: Iterable[object]) -> list[str]:
    """Field names of a header row; two columns naming one field are refused."""
    names = [_normalise_header(c) for c in cells]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name and name in seen:
            raise ValidationError(f"header: 表头第 {seen[name] + 1} 列和第 {i + 1} 列是同一个字段 {name}，"
                                  "请删掉其中一列")
        seen[name] = i
    return names


def _read_csv(content: str) -> ImportTable:
    first_line = content.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    rows: Rows = []
    n = 0  # records read (the header is record 1): a csv.Error is about record n + 1
    try:
        header = _header(next(reader, []))
        n = 1
        for values in reader:
            n += 1
            if any(v.strip() for v in values):
                rows.append((n, {h: v for h, v in zip(header, values, strict=False) if h}))
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise ImportRejected([RowError(n + 1, "-", _too_long(None))]) from None
        raise ImportRejected([RowError(n + 1, "csv", f"CSV 格式错误：{exc}")]) from None
    return ImportTable(rows)


def _read_xlsx(path: Path, sheet: str | None) -> ImportTable:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.cell.cell import ERROR_CODES
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.exceptions import InvalidFileException

    try:  # not read-only: merged ranges are known only to a fully loaded sheet
        wb = load_workbook(path, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise ValidationError(f"format: 不是有效的 Excel (xlsx) 文件：{exc}") from exc
    names = wb.sheetnames
    notes: list[str] = []
    if sheet is not None and sheet not in names:
        raise ValidationError(f"sheet: 没有名为「{sheet}」的工作表（有：{'、'.join(names)}）")
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    if sheet is None and len(names) > 1:
        others = "、".join(f"「{n}」" for n in names[1:])
        notes.append(f"只读取了第一个工作表「{ws.title}」；{others} 未读取（可以指定要读取的工作表）")
    grid = [list(r) for r in ws.iter_rows(values_only=True)]
    if not grid:
        return ImportTable([], notes)
    header = _header(grid[0])
    errors: list[RowError] = []

    def field_of(col: int) -> str:
        return header[col - 1] if col - 1 < len(header) and header[col - 1] else get_column_letter(col)

    for rng in ws.merged_cells.ranges:
        if rng.min_row == 1:
            raise ValidationError(f"header: 表头的 {rng.coord} 是合并单元格：第 1 行应是表头，每一列各有一个字段名，"
                                  "请取消合并（或删掉表头上方的标题行）")
        if rng.min_col != rng.max_col:
            fields = "、".join(field_of(c) for c in range(rng.min_col, rng.max_col + 1))
            errors.append(RowError(rng.min_row, field_of(rng.min_col),
                                   f"{rng.coord} 是跨列的合并单元格（{fields}），无法判断值属于哪一列：请取消合并"))
            continue
        value = grid[rng.min_row - 1][rng.min_col - 1]
        for r in range(rng.min_row + 1, rng.max_row + 1):  # a merged block reads as its value in every row
            grid[r - 1][rng.min_col - 1] = value
    for (r, c), formula in _formula_cells(path, ws.title).items():
        if r > 1 and grid[r - 1][c - 1] is None:
            errors.append(RowError(r, field_of(c), f"单元格 {get_column_letter(c)}{r} 是公式 {formula}，但文件中"
                                   "没有保存计算结果（文件由程序生成，未在 Excel/WPS 中打开保存过）：请用 Excel/WPS "
                                   "打开后保存一次，或把公式复制后「粘贴为数值」"))
    rows: Rows = []
    for r, values in enumerate(grid[1:], start=2):
        for c, v in enumerate(values, start=1):
            if isinstance(v, str) and v in ERROR_CODES:
                errors.append(RowError(r, field_of(c), f"单元格 {get_column_letter(c)}{r} 的公式结果是错误值 {v}"))
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        rows.append((r, {h: ("" if v is None else v) for h, v in zip(header, values, strict=False) if h}))
    if errors:
        raise ImportRejected(sorted(errors, key=lambda e: (e.row, e.field)))
    if not rows and sheet is None and len(names) > 1:
        raise ValidationError(f"sheet: 第一个工作表「{ws.title}」中没有数据行：请指定要读取的工作表"
                              f"（文件中的工作表：{'、'.join(names)}）")
    return ImportTable(rows, notes)


def _formula_cells(path: Path, title: str) -> dict[tuple[int, int], str]:
    """(row, column) → formula of every formula cell of a sheet (a second, streaming read)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        found: dict[tuple[int, int], str] = {}
        for row in wb[title].iter_rows():
            for cell in row:
                if getattr(cell, "data_type", "") == "f":
                    formula = cell.value
                    found[(cell.row, cell.column)] = str(getattr(formula, "text", formula))
        return found
    finally:
        wb.close()
