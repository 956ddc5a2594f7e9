"""Directory tabs that edit a whole list at once: synonyms, the jieba dictionary, the alert lexicon, the gazetteer.

Each list is edited in a table and saved as a whole (the services replace the
list in one transaction). Importing a file loads it into the table only: the
knowledge base changes when the editor checks the rows and clicks 保存.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.editor import directory_data as dd
from desktop.editor.directory_common import BAD_BRUSH, DirectoryContext, DirectoryTab, EditTable, filter_box, hint
from desktop.widgets.common import section_label
from indexer import analysis
from kb.alerts import ANY_KIND, POLARITIES, SENTENCE_POLARITIES, AlertLexicon, check_line
from kb.dto import Changes
from kb.errors import ImportRejected, RowError, ValidationError
from kb.exchange import export_file, read_rows
from kb.place import Gazetteer
from kb.service import KnowledgeBase

TRY_DEBOUNCE_MS = 200


class ListTab(DirectoryTab):
    """Filter, editable table, add/remove rows, save the whole list, import/export a file, a "试一试" box."""

    headers: tuple[str, ...] = ()
    import_filter = ""
    export_name = ""
    try_placeholder = ""

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.dirty = False
        self.filter = filter_box("筛选")
        self.table = EditTable(list(self.headers))
        self.table.setAccessibleName(self.title)
        self.add_button = QPushButton("添加一行")
        self.remove_button = QPushButton("删除所选行")
        self.revert_button = QPushButton("放弃修改")
        self.revert_button.setToolTip("重新载入知识库中已保存的内容")
        self.save_button = QPushButton("保存")
        self.save_button.setDefault(True)
        self.save_button.setToolTip("检查并保存整个列表 (Ctrl+S)")
        self.import_button = QPushButton("导入…")
        self.export_button = QPushButton("导出…")
        self.dirty_label = QLabel("")
        self.dirty_label.setObjectName("outboxLabel")
        self.count = hint("")
        self.try_input = QLineEdit()
        self.try_input.setPlaceholderText(self.try_placeholder)
        self.try_input.setAccessibleName("试一试")
        self.try_result = QTextBrowser()
        self.try_result.setAccessibleName("试一试结果")
        self.try_result.setMaximumHeight(96)
        self._try_timer = QTimer(self)
        self._try_timer.setSingleShot(True)
        self._try_timer.setInterval(TRY_DEBOUNCE_MS)
        self._try_timer.timeout.connect(self.run_try)

        self.filter.textChanged.connect(lambda _t: self.apply_filter())
        self.table.edited.connect(self.mark_dirty)
        self.add_button.clicked.connect(lambda: self.table.add_row())
        self.remove_button.clicked.connect(self.table.remove_selected)
        self.revert_button.clicked.connect(self.refresh)
        self.save_button.clicked.connect(self.save)
        self.import_button.clicked.connect(self.ask_import)
        self.export_button.clicked.connect(self.ask_export)
        self.try_input.textChanged.connect(lambda _t: self._try_timer.start())
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)

    def _layout(self, top_extra: list[QWidget], body: QWidget, help_text: str) -> None:
        top = QHBoxLayout()
        top.addWidget(self.filter, 1)
        for w in top_extra:
            top.addWidget(w)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.revert_button, self.save_button):
            buttons.addWidget(b)
        buttons.addWidget(self.dirty_label)
        buttons.addStretch(1)
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.export_button)
        trial = QWidget()
        tv = QVBoxLayout(trial)
        tv.setContentsMargins(0, 0, 0, 0)
        tv.addWidget(section_label("试一试（用表格中当前的内容，未保存也可以试）", self.try_input))
        tv.addWidget(self.try_input)
        tv.addWidget(self.try_result)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(hint(help_text))
        layout.addWidget(body, 1)
        layout.addWidget(self.count)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        layout.addWidget(trial)
        layout.addWidget(self.status)

    # ------------------------------------------------------------ state
    def mark_dirty(self) -> None:
        self.dirty = True
        self.dirty_label.setText("● 有未保存的修改")
        self._update_count()  # not a re-filter: a row being edited must not vanish under the cursor
        if self.try_input.text().strip():
            self._try_timer.start()

    def mark_clean(self) -> None:
        self.dirty = False
        self.dirty_label.setText("")

    def apply_filter(self) -> None:
        self.table.apply_filter(self.filter.text(), self.row_filter())
        self._update_count()

    def _update_count(self) -> None:
        shown = sum(not self.table.isRowHidden(r) for r in range(self.table.rowCount()))
        self.count.setText(f"显示 {shown} 行，共 {len(self.table.rows())} 条")

    def row_filter(self) -> Callable[[list[str]], bool] | None:
        return None

    # ------------------------------------------------------------ load
    def refresh(self) -> None:
        kb = self.ctx.kb
        self._read(lambda: self.load_rows(kb), self.show_rows)

    def load_rows(self, kb: KnowledgeBase) -> list[list[str]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def show_rows(self, rows: list[list[str]]) -> None:
        self.table.set_rows(rows)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(self.table.columnCount() - 1,
                                                           QHeaderView.ResizeMode.Stretch)
        self.mark_clean()
        self.error.clear()
        self.apply_filter()
        self.run_try()

    # ------------------------------------------------------------ save
    def collect(self) -> Any:  # pragma: no cover - overridden
        """The table as the service's input; ValidationError (rows marked) when something is wrong."""
        raise NotImplementedError

    def persist(self, kb: KnowledgeBase, payload: Any, user: str) -> Changes:  # pragma: no cover - overridden
        raise NotImplementedError

    def saved_message(self, payload: Any) -> str:
        return f"已保存 {len(payload)} 条{self.title}"

    def validated(self) -> Any | None:
        """The payload, or None after showing why not (nothing is written then)."""
        self.table.clear_marks()
        try:
            return self.collect()
        except ImportRejected as exc:
            self._mark_errors(exc.errors)
            return None
        except ValidationError as exc:
            self.show_error(exc)
            self.error.setText(self.error.text() + "；未保存")
            return None

    def _mark_errors(self, errors: list[RowError]) -> None:
        for e in errors:
            if 0 <= e.row < self.table.rowCount():
                self.table.mark_row(e.row, f"{e.field}：{e.reason}")
        lines = [f"第 {e.row + 1} 行 {e.field}：{e.reason}" for e in errors[:5]]
        more = f"……共 {len(errors)} 处" if len(errors) > 5 else ""
        self.error.setText("；".join(lines) + more)

    def save(self) -> None:
        payload = self.validated()
        if payload is None:
            return
        kb, user = self.ctx.kb, self.ctx.user

        def work() -> Changes:
            changes = self.persist(kb, payload, user)
            self.apply_to_engine(changes)
            return changes

        self.error.clear()
        self.save_button.setEnabled(False)
        self._write(work, lambda ch: self._saved(ch, payload), self._save_failed)

    def _saved(self, changes: Changes, payload: Any) -> None:
        self.save_button.setEnabled(True)
        self.committed(changes, self.saved_message(payload))
        self.refresh()

    def _save_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(exc, ImportRejected):
            self._mark_errors(exc.errors)
        else:
            self.show_error(exc)

    # ------------------------------------------------------------ files
    def read_file(self, path: Path) -> list[list[str]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def import_from(self, path: Path) -> None:
        """Load a file into the table (the knowledge base changes only on 保存)."""
        try:
            rows = self.read_file(path)
        except (ValidationError, OSError, UnicodeDecodeError) as exc:
            self.show_error(exc)
            return
        self.table.set_rows(rows)
        self.mark_dirty()
        self.error.clear()
        self.status.setText(f"已从 {path.name} 载入 {len(rows)} 行：核对后点「保存」生效（保存前知识库不变）")
        self.run_try()

    def ask_import(self) -> None:
        path = self.ask_open(f"导入{self.title}", self.import_filter)
        if path is not None:
            self.import_from(path)

    def write_file(self, kb: KnowledgeBase, path: Path) -> int:  # pragma: no cover - overridden
        raise NotImplementedError

    def export_to(self, path: Path) -> None:
        """Export what is saved in the knowledge base (not unsaved edits)."""
        kb = self.ctx.kb
        self._read(lambda: self.write_file(kb, path),
                   lambda n: self.status.setText(f"已导出 {n} 条到 {path}（知识库中已保存的内容）"), key="export")

    def ask_export(self) -> None:
        path = self.ask_save(f"导出{self.title}", self.export_name, self.import_filter)
        if path is not None:
            self.export_to(path)

    # ------------------------------------------------------------ try
    def run_try(self) -> None:
        """Overridden by tabs with a "试一试" box."""


# =================================================================== synonyms
class SynonymsTab(ListTab):
    """同义词: colloquial word → official term, expanded by the search at query time."""

    title = "同义词"
    key = "synonyms"
    headers = ("口语说法", "规范说法")
    import_filter = "同义词表 (*.tsv *.txt)"
    export_name = "synonyms.tsv"
    try_placeholder = "输入一句口语，看哪些词会被扩展：如 医保卡丢了"

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.filter.setPlaceholderText("筛选：口语说法或规范说法")
        self._layout([], self.table,
                     "搜索时把左列的口语说法扩展为右列的规范说法；一个口语说法可对应多个规范说法（多行）。"
                     "文件格式：每行「口语说法<Tab>规范说法」，# 开头为注释。")

    def load_rows(self, kb: KnowledgeBase) -> list[list[str]]:
        return [[a, b] for a, b in dd.synonym_pairs(kb.synonyms())]

    def collect(self) -> list[tuple[str, str]]:
        pairs: list[tuple[str, str]] = []
        errors: list[RowError] = []
        for row, (term, canonical) in self.table.rows():
            if not term or not canonical:
                errors.append(RowError(row, "口语说法" if not term else "规范说法", "两列都要填"))
            elif term == canonical:
                errors.append(RowError(row, "规范说法", "与口语说法相同"))
            else:
                pairs.append((term, canonical))
        if errors:
            raise ImportRejected(errors)
        return pairs

    def persist(self, kb: KnowledgeBase, payload: list[tuple[str, str]], user: str) -> Changes:
        return kb.set_synonyms(payload, user=user)

    def saved_message(self, payload: list[tuple[str, str]]) -> str:
        return f"已保存 {len(payload)} 对同义词，搜索立即生效"

    def read_file(self, path: Path) -> list[list[str]]:
        return [[a, b] for a, b in dd.load_synonyms(path)]

    def write_file(self, kb: KnowledgeBase, path: Path) -> int:
        return dd.write_synonyms(dd.synonym_pairs(kb.synonyms()), path)

    def run_try(self) -> None:
        text = self.try_input.text().strip()
        if not text:
            self.try_result.clear()
            return
        hits: dict[str, list[str]] = {}
        for _row, (term, canonical) in self.table.rows():
            if term and canonical and term in text:
                hits.setdefault(term, []).append(canonical)
        if not hits:
            self.try_result.setPlainText("没有可扩展的口语说法")
            return
        self.try_result.setHtml("<br>".join(
            f"<b>{html.escape(t)}</b> → {html.escape('、'.join(c))}" for t, c in sorted(hits.items())))


# =================================================================== jieba dictionary
class DictionaryTab(ListTab):
    """词典: the jieba user dictionary; saving reloads the words and rebuilds the search index in the background."""

    title = "词典"
    key = "dictionary"
    headers = ("词", "词频", "词性")
    import_filter = "jieba 用户词典 (*.txt)"
    export_name = "userdict.txt"
    try_placeholder = "输入一句话看分词结果：如 我想办理居住证签注"

    def __init__(self, ctx: DirectoryContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.rebuilding = False
        self.filter.setPlaceholderText("筛选：词或词性")
        self._layout([], self.table,
                     "热线专用词（如 接诉即办、居住证签注），让分词把它们当作一个词。词频可空（越大越倾向成词），"
                     "词性用 jieba 标记（n 名词、v 动词、nz 专名）。保存后在后台重建搜索索引，期间可继续工作。"
                     "文件格式：每行「词 词频 词性」。")

    def load_rows(self, kb: KnowledgeBase) -> list[list[str]]:
        return [[w, "" if f is None else str(f), p] for w, f, p in kb.dict_words()]

    def collect(self) -> list[tuple[str, int | None, str]]:
        words: list[tuple[str, int | None, str]] = []
        errors: list[RowError] = []
        seen: dict[str, int] = {}
        for row, (word, freq, pos) in self.table.rows():
            try:
                parsed = dd.check_dict_word(word, freq, pos)
            except ValidationError as exc:
                errors.append(RowError(row, "词", exc.reason))
                continue
            if parsed[0] in seen:
                errors.append(RowError(row, "词", f"与第 {seen[parsed[0]] + 1} 行重复"))
                continue
            seen[parsed[0]] = row
            words.append(parsed)
        if errors:
            raise ImportRejected(errors)
        return words

    def persist(self, kb: KnowledgeBase, payload: list[tuple[str, int | None, str]], user: str) -> Changes:
        return kb.set_dict_words(payload, user=user)

    def save(self) -> None:
        """Two ops on the write queue: commit the words (quick), then reload jieba and rebuild the index."""
        payload = self.validated()
        if payload is None:
            return
        kb, user = self.ctx.kb, self.ctx.user
        self.error.clear()
        self.save_button.setEnabled(False)
        self._write(lambda: kb.set_dict_words(payload, user=user),
                    lambda ch: self._words_saved(ch, len(payload)), self._save_failed)

    def _words_saved(self, changes: Changes, count: int) -> None:
        self.save_button.setEnabled(True)
        self.committed(changes, f"已保存 {count} 个词")
        self.refresh()
        if self.ctx.engine is None:
            self.status.setText(f"已保存 {count} 个词；搜索引擎尚未就绪，启动时会按新词典建立索引")
            return
        self.rebuilding = True
        self.status.setText(f"已保存 {count} 个词，正在后台重建搜索索引…（可继续工作）")

        def rebuilt(_r: object) -> None:
            self.rebuilding = False
            self.status.setText(f"已保存 {count} 个词，搜索索引已按新词典重建")
            self.run_try()

        def failed(exc: BaseException) -> None:
            self.rebuilding = False
            self.show_error(exc)

        self._write(lambda: self.apply_to_engine(changes), rebuilt, failed)

    def saved_message(self, payload: list[tuple[str, int | None, str]]) -> str:
        return f"已保存 {len(payload)} 个词"

    def read_file(self, path: Path) -> list[list[str]]:
        return [[w, "" if f is None else str(f), p] for w, f, p in dd.load_dict_words(path)]

    def write_file(self, kb: KnowledgeBase, path: Path) -> int:
        return dd.write_dict_words(kb.dict_words(), path)

    def run_try(self) -> None:
        text = self.try_input.text().strip()
        if not text:
            self.try_result.clear()
            return
        pending = {w for _r, (w, _f, _p) in self.table.rows() if w}
        self._read(lambda: analysis.words_of(text), lambda words: self._show_words(words, pending), key="try")

    def _show_words(self, words: list[str], table_words: set[str]) -> None:
        shown = " / ".join(f"<b>{html.escape(w)}</b>" if w in table_words else html.escape(w) for w in words)
        note = ("<br><span style='color:#5a6472;'>（分词用的是已生效的词典；新词保存并重建后生效）</span>"
                if self.dirty else "")
        self.try_result.setHtml(shown + note)


# =================================================================== alert lexicon
KIND_HEADERS = ["类型代码", "名称", "转接", "严重度", "应答话术"]
TERM_HEADERS = ("类型", "提醒词", "作用", "备注")
POLARITY_HELP = ("作用：trigger（触发）、cue（线索：单独不触发，同一句里同类型两条不同的线索一起出现才触发）"
                 "或 exclude（排除，压住重叠的触发词和线索）；类型 * 的排除词对所有类型生效。"
                 "example（例句：一整句应弹出该类型的话）和 counter（反例：一整句不应弹出任何警报的话，类型可写 *）"
                 "让系统学会没写成提醒词的说法：漏报的来电加为例句，误报的加为反例。")
PATTERN_HELP = ("写法：纯文字；(甲|乙) 任选一个；甲…乙 表示同一句内 10 字以内先后出现；re: 开头为正则表达式"
                "（例句、反例照原话写）。编辑时逐条检查，有错的格标红。")
POLARITY_ERROR = "作用应为 trigger（触发）、cue（线索）、exclude（排除）、example（例句）或 counter（反例）"


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
        terms, kinds = kb.alert_records()
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
        current = self.kind_filter.currentData()
        self.kind_filter.blockSignals(True)
        self.kind_filter.clear()
        self.kind_filter.addItem("全部类型", "")
        for _row, values in self.kinds.rows():
            if values[0]:
                self.kind_filter.addItem(f"{values[1] or values[0]}（{values[0]}）", values[0])
        self.kind_filter.addItem("通用排除词（*）", ANY_KIND)
        self.kind_filter.setCurrentIndex(max(self.kind_filter.findData(current), 0))
        self.kind_filter.blockSignals(False)

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
                user: str) -> Changes:
        terms, kinds = payload
        return kb.set_alert_records(terms, kinds, user=user)

    def saved_message(self, payload: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> str:
        return f"已保存 {len(payload[0])} 条提醒词、{len(payload[1])} 种提醒类型，坐席端立即生效"

    # ------------------------------------------------------------ files
    def import_files(self, paths: list[Path]) -> None:
        """One or both JSONL files; the one not given keeps the table's current content."""
        try:
            terms, kinds = dd.load_alert_files(paths)
        except (ValidationError, OSError, UnicodeDecodeError) as exc:
            self.show_error(exc)
            return
        if kinds is not None:
            self.kinds.set_rows([[str(k.get("kind", "")), str(k.get("label", "")), str(k.get("transfer_to", "")),
                                  str(k.get("severity", "")), str(k.get("script", ""))] for k in kinds])
            self._fill_kind_filter()
        if terms is not None:
            self.table.set_rows([[str(t.get("kind", "")), str(t.get("pattern", "")), str(t.get("polarity", "")),
                                  str(t.get("note", ""))] for t in terms])
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

    def import_from(self, path: Path) -> None:
        self.import_files([path])

    def ask_import(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "导入警报词库（可同时选两个文件）", "", self.import_filter)
        if names:
            self.import_files([Path(n) for n in names])

    def export_to(self, path: Path) -> None:
        """``path`` is a folder: alert_terms.jsonl and alert_kinds.jsonl are written there."""
        kb = self.ctx.kb
        self._read(lambda: dd.export_alerts(kb, path),
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


# =================================================================== gazetteer
class PlacesTab(ListTab):
    """地名库: districts and streets/towns with aliases, for territorial routing (属地)."""

    title = "地名库"
    key = "places"
    headers = ("区", "街道/乡镇", "别名")
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
        return [[p["district"], p["street"], "、".join(p["aliases"])] for p in kb.places()]

    def show_rows(self, rows: list[list[str]]) -> None:
        current = self.district_filter.currentData()
        self.district_filter.blockSignals(True)
        self.district_filter.clear()
        self.district_filter.addItem("全部区", "")
        for d in dict.fromkeys(r[0] for r in rows if r[0]):
            self.district_filter.addItem(d, d)
        self.district_filter.setCurrentIndex(max(self.district_filter.findData(current), 0))
        self.district_filter.blockSignals(False)
        super().show_rows(rows)

    def row_filter(self) -> Callable[[list[str]], bool] | None:
        district = self.district_filter.currentData() if hasattr(self, "district_filter") else ""
        return (lambda values: values[0] == district) if district else None

    def records(self) -> tuple[list[int], list[dict[str, Any]]]:
        rows = self.table.rows()
        return [r for r, _v in rows], dd.place_rows({"district": d, "street": s, "aliases": a}
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

    def persist(self, kb: KnowledgeBase, payload: list[dict[str, Any]], user: str) -> Changes:
        return kb.set_places(payload, user=user)

    def saved_message(self, payload: list[dict[str, Any]]) -> str:
        return f"已保存 {len(payload)} 条地名，属地识别立即生效"

    def read_file(self, path: Path) -> list[list[str]]:
        records = dd.place_rows(r for _n, r in read_rows(path))
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
