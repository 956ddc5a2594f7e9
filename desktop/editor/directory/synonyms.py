"""同义词 (synonyms): colloquial word → official term, expanded by the search at query time."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from pathlib import Path

from PySide6.QtWidgets import QWidget

from desktop.editor.directory.common import DirectoryContext, ListTab
from desktop.editor.directory.data import write_text
from kb.actor import Actor
from kb.dto import Changes
from kb.errors import ImportRejected, RowError
from kb.sample import read_synonyms
from kb.service import KnowledgeBase


def synonym_pairs(synonyms: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    return [(term, canonical) for term, canonicals in synonyms.items() for canonical in canonicals]


def write_synonyms(pairs: Iterable[tuple[str, str]], path: Path) -> int:
    rows = list(pairs)
    lines = ["# 口语说法<TAB>规范说法（colloquial<TAB>official），每行一对"]
    lines += [f"{a}\t{b}" for a, b in rows]
    write_text(path, "\n".join(lines) + "\n")
    return len(rows)


class SynonymsTab(ListTab):
    """同义词: colloquial word → official term, expanded by the search at query time."""

    title = "同义词"
    key = "synonyms"
    headers = ("口语说法", "规范说法")
    key_columns = (0, 1)  # one colloquial term may have several official ones
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
        return [[a, b] for a, b in synonym_pairs(kb.lexicons.synonyms())]

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

    def persist(self, kb: KnowledgeBase, payload: list[tuple[str, str]], actor: Actor) -> Changes:
        return kb.lexicons.set_synonyms(payload, actor=actor)

    def saved_message(self, payload: list[tuple[str, str]]) -> str:
        return f"已保存 {len(payload)} 对同义词，搜索立即生效"

    def read_file(self, path: Path) -> list[list[str]]:
        return [[a, b] for a, b in read_synonyms(path)]

    def write_file(self, kb: KnowledgeBase, path: Path) -> int:
        return write_synonyms(synonym_pairs(kb.lexicons.synonyms()), path)

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
