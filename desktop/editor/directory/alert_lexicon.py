"""警报词库 (alert lexicon): alert kinds and their trigger/cue/exclude patterns and example sentences.

Imported and exported as two JSONL files, alert_terms.jsonl and alert_kinds.jsonl.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.editor.directory.common import DirectoryContext, ListTab, ask_merge_or_replace, merge_rows
from desktop.editor.directory.data import write_text
from desktop.editor.directory.widgets import BAD_BRUSH, EditTable, hint, refill
from desktop.widgets.common import section_label
from kb.actor import Actor
from kb.alerts import ANY_KIND, POLARITIES, SENTENCE_POLARITIES, AlertLexicon, check_line
from kb.dto import Changes
from kb.errors import ImportRejected, RowError, ValidationError
from kb.sample import read_jsonl
from kb.service import KnowledgeBase

TERMS_FILE = "alert_terms.jsonl"
KINDS_FILE = "alert_kinds.jsonl"
KIND_HEADERS = ["类型代码", "名称", "转接", "严重度", "应答话术"]
TERM_HEADERS = ("类型", "提醒词", "作用", "备注")
POLARITY_HELP = ("作用：trigger（触发）、cue（线索：单独不触发，同一句里同类型两条不同的线索一起出现才触发）"
                 "或 exclude（排除，压住重叠的触发词和线索）；类型 * 的排除词对所有类型生效。"
                 "example（例句：一整句应弹出该类型的话）和 counter（反例：一整句不应弹出任何警报的话，类型可写 *）"
                 "让系统学会没写成提醒词的说法：漏报的来电加为例句，误报的加为反例。")
PATTERN_HELP = ("写法：纯文字；(甲|乙) 任选一个；甲…乙 表示同一句内 10 字以内先后出现；re: 开头为正则表达式"
                "（例句、反例照原话写）。编辑时逐条检查，有错的格标红。")
POLARITY_ERROR = "作用应为 trigger（触发）、cue（线索）、exclude（排除）、example（例句）或 counter（反例）"


def classify_alert_file(records: list[dict[str, Any]]) -> str:
    """'terms', 'kinds' or '' from the keys of an alert JSONL file."""
    keys = set().union(*(r.keys() for r in records)) if records else set()
    if "pattern" in keys:
        return "terms"
    if "label" in keys or "transfer_to" in keys:
        return "kinds"
    return ""


def load_alert_files(paths: Iterable[Path]) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    """(terms, kinds) read from one or two JSONL files (None: that file was not among them)."""
    terms = kinds = None
    for path in paths:
        try:
            records = read_jsonl(path)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{path.name} 第 {exc.lineno} 行不是有效的 JSON：{exc.msg}") from exc
        kind = classify_alert_file(records)
        if kind == "terms":
            terms = records
        elif kind == "kinds":
            kinds = records
        else:
            raise ValidationError(f"{path.name}：看不出是提醒词（pattern）还是提醒类型（label）文件")
    return terms, kinds


def write_jsonl(records: Iterable[Mapping[str, Any]], path: Path) -> int:
    rows = [json.dumps(dict(r), ensure_ascii=False) for r in records]
    write_text(path, "\n".join(rows) + ("\n" if rows else ""))
    return len(rows)


def export_alerts(kb: KnowledgeBase, folder: Path) -> tuple[int, int]:
    terms, kinds = kb.lexicons.alert_records()
    return write_jsonl(terms, folder / TERMS_FILE), write_jsonl(kinds, folder / KINDS_FILE)


class AlertsTab(ListTab):
    """警报词库: alert kinds (transfer to 110/119/120 …) and the trigger/exclude patterns, checked as you type."""

    title = "警报词库"
    key = "alerts"
    headers = TERM_HEADERS
    import_filter = "提醒词库 (*.jsonl)"
    try_placeholder = "输入来电人的一句话，看是否会弹出警报：如 楼道里有很大的煤气味"

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.filter.setPlaceholderText("筛选提醒词：文字、备注")
        self.kind_filter = QComboBox()
        self.kind_filter.setAccessibleName("提醒类型")
        self.polarity_filter = QComboBox()
        self.polarity_filter.setAccessibleName("作用")
        self.polarity_filter.addItem("提醒词和例句", "")
        self.polarity_filter.addItem("只看提醒词（触发、线索、排除）", "patterns")
        self.polarity_filter.addItem("只看例句和反例", "sentences")
        self.kinds = EditTable(KIND_HEADERS)
        self.kinds.setAccessibleName("提醒类型")
        self.kinds.setMaximumHeight(240)
        self.add_kind_button = QPushButton("添加类型")
        self.remove_kind_button = QPushButton("删除所选类型")
        kinds_box = QWidget()
        kv = QVBoxLayout(kinds_box)
        kv.setContentsMargins(0, 0, 0, 0)
        head = QHBoxLayout()
        head.addWidget(section_label("提醒类型"))
        head.addStretch(1)
        head.addWidget(self.add_kind_button)
        head.addWidget(self.remove_kind_button)
        kv.addLayout(head)
        kv.addWidget(self.kinds, 1)
        terms_box = QWidget()
        tv = QVBoxLayout(terms_box)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.addWidget(section_label("提醒词"))
        tv.addWidget(hint(PATTERN_HELP + " " + POLARITY_HELP))
        tv.addWidget(self.table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(kinds_box)
        split.addWidget(terms_box)
        split.setSizes([220, 430])
        self.add_button.setText("添加提醒词")
        self.remove_button.setText("删除所选提醒词")
        self._layout([self.kind_filter, self.polarity_filter], split,
                     "来电内容命中触发词时，坐席界面立即弹出警报和应答话术；保存前整表校验，有错不会保存。"
                     "导入/导出为两个 JSONL 文件：alert_terms.jsonl 与 alert_kinds.jsonl。")
        self.kind_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.polarity_filter.currentIndexChanged.connect(lambda _i: self.apply_filter())
        self.kinds.edited.connect(self.mark_dirty)
        self.kinds.edited.connect(self._fill_kind_filter)
        self.table.itemChanged.connect(self._check_cell)
        self.add_kind_button.clicked.connect(lambda: self.kinds.add_row())
        self.remove_kind_button.clicked.connect(self.kinds.remove_selected)

    # ------------------------------------------------------------ load
    def load_rows(self, kb: KnowledgeBase) -> list[list[str]]:
        terms, kinds = kb.lexicons.alert_records()
        self._loaded_kinds = [[k["kind"], k["label"], k["transfer_to"], str(k["severity"]), k["script"]]
                              for k in kinds]
        return [[t["kind"], t["pattern"], t["polarity"], t.get("note", "")] for t in terms]

    def show_rows(self, rows: list[list[str]]) -> None:
        self.kinds.set_rows(getattr(self, "_loaded_kinds", []))
        self.kinds.resizeColumnsToContents()
        self.kinds.setColumnWidth(2, min(self.kinds.columnWidth(2), 260))
        self.kinds.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self._fill_kind_filter()
        super().show_rows(rows)
        self.table.setColumnWidth(1, min(max(self.table.columnWidth(1), 260), 520))
        polarity_width = self.fontMetrics().horizontalAdvance("example") + 24
        self.table.setColumnWidth(2, max(self.table.columnWidth(2), polarity_width))

    def _fill_kind_filter(self) -> None:
        kinds = [(f"{v[1] or v[0]}（{v[0]}）", v[0]) for _row, v in self.kinds.rows() if v[0]]
        refill(self.kind_filter, [("全部类型", ""), *kinds, ("通用排除词（*）", ANY_KIND)])

    def row_filter(self) -> Callable[[list[str]], bool] | None:
        kind = self.kind_filter.currentData() if hasattr(self, "kind_filter") else ""
        group = self.polarity_filter.currentData() if hasattr(self, "polarity_filter") else ""
        if not kind and not group:
            return None
        sentences = group == "sentences"
        return lambda values: ((not kind or values[0] == kind)
                               and (not group or (values[2] in SENTENCE_POLARITIES) == sentences))

    # ------------------------------------------------------------ live check
    def _check_cell(self, cell: QTableWidgetItem) -> None:
        """Validate a pattern (or polarity) as soon as it is edited: red cell + reason, inline."""
        if cell.column() not in (1, 2):
            return
        problem = self.cell_problem(cell.row(), cell.column())
        self.table.blockSignals(True)
        try:
            cell.setBackground(BAD_BRUSH if problem else self.table.palette().base())
            cell.setToolTip(problem)
            pattern = self.table.item(cell.row(), 1)
            if cell.column() == 2 and pattern is not None:  # the polarity decides how the pattern reads
                pattern_problem = self.cell_problem(cell.row(), 1)
                pattern.setBackground(BAD_BRUSH if pattern_problem else self.table.palette().base())
                pattern.setToolTip(pattern_problem)
                problem = problem or pattern_problem
        finally:
            self.table.blockSignals(False)
        if problem:
            self.error.setText(f"第 {cell.row() + 1} 行：{problem}")
        elif self.error.text().startswith(f"第 {cell.row() + 1} 行"):
            self.error.clear()

    def cell_problem(self, row: int, col: int) -> str:
        text = self.table.cell_text(row, col)
        if col == 2:
            return "" if text in POLARITIES else POLARITY_ERROR
        if not text:
            return "提醒词不能为空"
        try:
            check_line(text, self.table.cell_text(row, 2))
        except ValidationError as exc:
            return str(exc)
        return ""

    # ------------------------------------------------------------ save
    def records(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        kinds: list[dict[str, Any]] = []
        for row, (kind, label, transfer_to, severity, script) in self.kinds.rows():
            try:
                level = int(severity)
            except ValueError:
                raise ValidationError(
                    f"提醒类型第 {row + 1} 行：严重度应为整数（越大越先显示）：{severity!r}") from None
            kinds.append({"kind": kind, "label": label, "transfer_to": transfer_to, "script": script,
                          "severity": level})
        terms = [{"kind": kind, "pattern": pattern, "polarity": polarity, "note": note}
                 for _row, (kind, pattern, polarity, note) in self.table.rows()]
        return terms, kinds

    def collect(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        bad = [RowError(row, "提醒词", problem) for row, _v in self.table.rows()
               for problem in [self.cell_problem(row, 1) or self.cell_problem(row, 2)] if problem]
        if bad:
            raise ImportRejected(bad)
        terms, kinds = self.records()
        AlertLexicon.from_records(terms, kinds)  # the same check the service makes: kinds exist, no duplicates
        return terms, kinds

    def _mark_errors(self, errors: list[RowError]) -> None:
        for e in errors:
            if 0 <= e.row < self.table.rowCount():
                self.table.mark_row(e.row, e.reason)
        first = errors[0]
        more = f"（共 {len(errors)} 处，已标红）" if len(errors) > 1 else ""
        self.error.setText(f"第 {first.row + 1} 行：{first.reason}{more}；未保存")

    def persist(self, kb: KnowledgeBase, payload: tuple[list[dict[str, Any]], list[dict[str, Any]]],
                actor: Actor) -> Changes:
        terms, kinds = payload
        return kb.lexicons.set_alert_records(terms, kinds, actor=actor)

    def saved_message(self, payload: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> str:
        return f"已保存 {len(payload[0])} 条提醒词、{len(payload[1])} 种提醒类型，坐席端立即生效"

    # ------------------------------------------------------------ files
    def import_files(self, paths: list[Path], *, replace: bool | None = None) -> None:
        """One or both JSONL files, merged into the tables (see :meth:`ListTab.import_from`); the one not
        given keeps its table as it is."""
        try:
            terms, kinds = load_alert_files(paths)
        except (ValidationError, OSError, UnicodeDecodeError) as exc:
            self.show_error(exc)
            return
        kind_rows = None if kinds is None else [
            [str(k.get("kind", "")), str(k.get("label", "")), str(k.get("transfer_to", "")),
             str(k.get("severity", "")), str(k.get("script", ""))] for k in kinds]
        term_rows = None if terms is None else [
            [str(t.get("kind", "")), str(t.get("pattern", "")), str(t.get("polarity", "")), str(t.get("note", ""))]
            for t in terms]
        merged_kinds, lost_kinds = merge_rows([v for _r, v in self.kinds.rows()], kind_rows or [], (0,))
        merged_terms, lost_terms = merge_rows([v for _r, v in self.table.rows()], term_rows or [], (0, 1, 2))
        lost = (lost_kinds if kind_rows is not None else 0) + (lost_terms if term_rows is not None else 0)
        if lost and replace is None:
            replace = ask_merge_or_replace(self, self.title, "、".join(p.name for p in paths),
                                           len(kind_rows or []) + len(term_rows or []), lost)
            if replace is None:
                self.status.setText("已取消导入，表格未改动")
                return
        if kind_rows is not None:
            self.kinds.set_rows(kind_rows if replace else merged_kinds)
            self._fill_kind_filter()
        if term_rows is not None:
            self.table.set_rows(term_rows if replace else merged_terms)
        self.mark_dirty()
        self.error.clear()
        loaded = []
        if terms is not None:
            loaded.append(f"{len(terms)} 条提醒词")
        if kinds is not None:
            loaded.append(f"{len(kinds)} 种提醒类型")
        self.status.setText(f"已载入 {'、'.join(loaded)}：核对后点「保存」生效（保存前知识库不变）")
        self.validated()  # mark bad rows right away
        self.run_try()

    def import_from(self, path: Path, *, replace: bool | None = None) -> None:
        self.import_files([path], replace=replace)

    def ask_import(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "导入警报词库（可同时选两个文件）", "", self.import_filter)
        if names:
            self.import_files([Path(n) for n in names])

    def export_to(self, path: Path) -> None:
        """``path`` is a folder: alert_terms.jsonl and alert_kinds.jsonl are written there."""
        kb = self.ctx.kb
        self._read(lambda: export_alerts(kb, path),
                   lambda n: self.status.setText(f"已导出 {n[0]} 条提醒词、{n[1]} 种类型到 {path}"), key="export")

    def ask_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "导出警报词库到文件夹")
        if folder:
            self.export_to(Path(folder))

    # ------------------------------------------------------------ try
    def run_try(self) -> None:
        text = self.try_input.text().strip()
        if not text:
            self.try_result.clear()
            return
        try:
            lexicon = self._try_lexicon()
        except ValidationError as exc:
            self.try_result.setPlainText(f"词库有错，无法试：{exc}")
            return
        alerts = lexicon.detect(text)
        lines = [f"<b style='color:#c40000;'>{html.escape(a.label)}</b>（命中「{html.escape(a.matched)}」）"
                 f" → 转接 {html.escape(a.transfer_to)}" for a in alerts] or ["不会弹出警报"]
        raised = {a.kind for a in alerts}
        labels = {k.kind: k.label for k in lexicon.kinds}
        verdicts = []
        for kind, (span, evidence, adjust) in lexicon.explain(text).items():
            if span is not None and kind not in raised:
                lines.append(f"提醒词命中「{html.escape(text[span[0]:span[1]])}」，但例句判断不是"
                             f"{html.escape(labels[kind])}，未弹出（确属紧急情况请把这句加为例句）")
            if evidence is not None and (evidence.score > 0 or kind in raised):
                why = ("，含提醒词" if adjust > 0 else "，提醒词被否定、过去、假设或排除词压住" if adjust < 0 else "")
                total = f" → {evidence.score + adjust:+.1f}" if adjust else ""
                verdicts.append(f"{html.escape(labels[kind])} {evidence.score:+.1f}{why}{total}")
        if lexicon.examples:
            lines.append(f"<span style='color:#666;'>例句判断（{lexicon.examples} 句学得，正数像、负数不像）："
                         f"{'，'.join(verdicts) or '都不像'}</span>")
        self.try_result.setHtml("<br>".join(lines))

    def _try_lexicon(self) -> AlertLexicon:
        """The table's current lexicon (good lines only), built once per content."""
        terms, kinds = self.records()
        return AlertLexicon.shared([t for t in terms if not self._bad_term(t)], kinds)

    @staticmethod
    def _bad_term(term: dict[str, Any]) -> bool:
        try:
            check_line(term["pattern"], term["polarity"])
        except ValidationError:
            return True
        return term["polarity"] not in POLARITIES
