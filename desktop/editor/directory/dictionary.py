"""词典 (dictionary): the jieba user dictionary, and its ``word [freq] [pos]`` file format."""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtWidgets import QWidget

from desktop.editor.directory.common import DirectoryContext, ListTab
from desktop.editor.directory.data import write_text
from indexer import analysis
from kb.actor import Actor
from kb.dto import Changes
from kb.errors import ImportRejected, RowError, ValidationError
from kb.service import KnowledgeBase


def parse_dict_line(line: str, number: int = 0) -> tuple[str, int | None, str] | None:
    """One jieba userdict line ``word [freq] [pos]``; None for blank and comment lines."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = text.split()
    word, rest = parts[0], parts[1:]
    freq: int | None = None
    pos = ""
    if rest and rest[0].isdigit():
        freq = int(rest.pop(0))
    if rest:
        pos = rest.pop(0)
    if rest:
        where = f"第 {number} 行：" if number else ""
        raise ValidationError(f"{where}格式应为「词 词频 词性」：{text}")
    return word, freq, pos


def check_dict_word(word: str, freq: str, pos: str) -> tuple[str, int | None, str]:
    """A table row of the dictionary editor as (word, freq, pos), or ValidationError."""
    word, freq, pos = word.strip(), freq.strip(), pos.strip()
    if not word:
        raise ValidationError("词不能为空")
    if any(ch.isspace() for ch in word):
        raise ValidationError(f"词「{word}」不能含空格")
    if freq and not freq.isdigit():
        raise ValidationError(f"词「{word}」的词频应为正整数：{freq}")
    if pos and (any(ch.isspace() for ch in pos) or not pos.isascii()):
        raise ValidationError(f"词「{word}」的词性应为英文标记（如 n、v、nz）：{pos}")
    return word, int(freq) if freq else None, pos


def load_dict_words(path: Path) -> list[tuple[str, int | None, str]]:
    out: list[tuple[str, int | None, str]] = []
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        parsed = parse_dict_line(line, n)
        if parsed is not None:
            out.append(parsed)
    return out


def write_dict_words(words: Iterable[tuple[str, int | None, str]], path: Path) -> int:
    rows = list(words)
    lines = [" ".join(p for p in (w, "" if f is None else str(f), pos) if p) for w, f, pos in rows]
    write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return len(rows)



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
        return [[w, "" if f is None else str(f), p] for w, f, p in kb.lexicons.dict_words()]

    def collect(self) -> list[tuple[str, int | None, str]]:
        words: list[tuple[str, int | None, str]] = []
        errors: list[RowError] = []
        seen: dict[str, int] = {}
        for row, (word, freq, pos) in self.table.rows():
            try:
                parsed = check_dict_word(word, freq, pos)
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

    def persist(self, kb: KnowledgeBase, payload: list[tuple[str, int | None, str]], actor: Actor) -> Changes:
        return kb.lexicons.set_dict_words(payload, actor=actor)

    def save(self) -> None:
        """Two ops on the write queue: commit the words (quick), then reload jieba and rebuild the index."""
        payload = self.validated()
        if payload is None:
            return
        kb, actor = self.ctx.kb, self.ctx.actor
        self.error.clear()
        self.save_button.setEnabled(False)
        self._write(lambda: kb.lexicons.set_dict_words(payload, actor=actor),
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
        return [[w, "" if f is None else str(f), p] for w, f, p in load_dict_words(path)]

    def write_file(self, kb: KnowledgeBase, path: Path) -> int:
        return write_dict_words(kb.lexicons.dict_words(), path)

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
