"""地名库 (places): districts and streets/towns with aliases, for territorial routing (属地)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QComboBox, QWidget

from desktop.editor.directory.common import DirectoryContext, ListTab
from desktop.editor.directory.widgets import refill
from kb.actor import Actor
from kb.dto import Changes
from kb.errors import ImportRejected, RowError
from kb.export import export_file
from kb.place import Gazetteer
from kb.service import KnowledgeBase
from kb.tables import read_rows


def place_rows(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in records:
        aliases = r.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [a for a in re.split(r"[|;；,，、\n]", aliases) if a.strip()]
        out.append({"district": str(r.get("district") or ""), "street": str(r.get("street") or ""),
                    "aliases": [str(a) for a in aliases]})
    return out


class PlacesTab(ListTab):
    """地名库: districts and streets/towns with aliases, for territorial routing (属地)."""

    title = "地名库"
    key = "places"
    headers = ("区", "街道/乡镇", "别名")
    key_columns = (0, 1)  # district and street
    import_filter = "地名库 (*.jsonl *.json *.csv *.xlsx)"
    export_name = "gazetteer.jsonl"
    try_placeholder = "输入地址或一句话，看识别出的区和街道：如 朝阳三里屯那边晚上施工"

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.filter.setPlaceholderText("筛选：区、街道、别名")
        self.district_filter = QComboBox()
        self.district_filter.setAccessibleName("区")
        self._layout([self.district_filter], self.table,
                     "区本身一行的「街道/乡镇」留空。别名用顿号分隔，至少两个字；像“前门”“天桥”这种普通词不要做别名。")
        self.district_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())

    def load_rows(self, kb: KnowledgeBase) -> list[list[str]]:
        return [[p["district"], p["street"], "、".join(p["aliases"])] for p in kb.lexicons.places()]

    def show_rows(self, rows: list[list[str]]) -> None:
        refill(self.district_filter, [("全部区", ""), *((d, d) for d in dict.fromkeys(r[0] for r in rows if r[0]))])
        super().show_rows(rows)

    def row_filter(self) -> Callable[[list[str]], bool] | None:
        district = self.district_filter.currentData() if hasattr(self, "district_filter") else ""
        return (lambda values: values[0] == district) if district else None

    def records(self) -> tuple[list[int], list[dict[str, Any]]]:
        rows = self.table.rows()
        return [r for r, _v in rows], place_rows({"district": d, "street": s, "aliases": a}
                                                     for _r, (d, s, a) in rows)

    def collect(self) -> list[dict[str, Any]]:
        table_rows, records = self.records()
        try:
            Gazetteer(records)
        except ImportRejected as exc:  # record numbers → table rows
            raise ImportRejected([RowError(table_rows[e.row - 1], e.field, e.reason) for e in exc.errors]) from None
        return records

    def _mark_errors(self, errors: list[RowError]) -> None:
        labels = {"district": "区", "street": "街道/乡镇", "aliases": "别名"}
        super()._mark_errors([RowError(e.row, labels.get(e.field, e.field), e.reason) for e in errors])

    def persist(self, kb: KnowledgeBase, payload: list[dict[str, Any]], actor: Actor) -> Changes:
        return kb.lexicons.set_places(payload, actor=actor)

    def saved_message(self, payload: list[dict[str, Any]]) -> str:
        return f"已保存 {len(payload)} 条地名，属地识别立即生效"

    def read_file(self, path: Path) -> list[list[str]]:
        records = place_rows(r for _n, r in read_rows(path))
        return [[r["district"], r["street"], "、".join(r["aliases"])] for r in records]

    def write_file(self, kb: KnowledgeBase, path: Path) -> int:
        return export_file(kb, "places", path)

    def run_try(self) -> None:
        text = self.try_input.text().strip()
        if not text:
            self.try_result.clear()
            return
        try:
            place = Gazetteer(self.records()[1]).locate(text)
        except ImportRejected as exc:
            self.try_result.setPlainText(f"地名库有 {len(exc.errors)} 处错误，先改正再试")
            return
        if not place.matched:
            self.try_result.setPlainText("没有识别出区或街道")
            return
        self.try_result.setHtml(
            f"区：<b>{html.escape(place.district or '不确定')}</b>"
            f"　街道/乡镇：<b>{html.escape(place.street or '—')}</b>"
            f"　（依据「{html.escape(place.matched)}」）")
