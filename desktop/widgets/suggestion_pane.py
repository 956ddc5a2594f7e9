"""Suggestion pane: answers and departments for the call, each with the reason it was suggested."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.widgets.common import section_label
from desktop.widgets.search_panel import AnswerList, RichList, html_item
from kb.phones import phone_lines

if TYPE_CHECKING:  # the engine (whoosh, numpy) loads in the background, not at window start
    from indexer.engine import Suggestion
    from indexer.routing import DepartmentSuggestion

DEPT_ROLE = Qt.ItemDataRole.UserRole + 3
MAX_PICKS = 9


def department_html(n: int, d: DepartmentSuggestion) -> str:
    phones = "　".join(f"{label} {html.escape(number)}" for label, number in phone_lines(d.phones))
    reasons = "；".join(html.escape(r) for r in d.reasons)
    head = f'<span class="key">Alt+{n}</span>&nbsp;<b>{html.escape(d.name)}</b>'
    parts = [head]
    if phones:
        parts.append(f"&nbsp;&nbsp;{phones}")
    if reasons:
        parts.append(f'<br><span class="dim">依据：{reasons}</span>')
    return "".join(parts)


class SuggestionPane(QWidget):
    """Updated as the description is typed (the window debounces and computes off the UI thread)."""

    answer_activated = Signal(object)  # SearchHit
    department_picked = Signal(object)  # DepartmentSuggestion

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.answers = AnswerList("推荐口径")
        self.answers.hit_activated.connect(self.answer_activated)
        self.departments = RichList("建议承办单位")
        self.departments.itemActivated.connect(
            lambda item: self.department_picked.emit(item.data(DEPT_ROLE)))
        self.state = QLabel("输入诉求内容后，这里显示推荐口径和承办单位")
        self.state.setObjectName("hintLabel")
        self.state.setWordWrap(True)
        self.state.setAccessibleDescription("推荐状态")
        self.categories = QLabel()
        self.categories.setObjectName("hintLabel")
        self.categories.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(section_label("推荐口径（Ctrl+1…9 打开）", self.answers))
        layout.addWidget(self.state)
        layout.addWidget(self.answers, 3)
        layout.addWidget(section_label("建议承办单位（Alt+1…9 选用）", self.departments))
        layout.addWidget(self.departments, 2)
        layout.addWidget(self.categories)
        self._suggestion: Suggestion | None = None

    @property
    def suggestion(self) -> Suggestion | None:
        return self._suggestion

    def set_pending(self, text: str = "正在分析…") -> None:
        self.state.setText(text)

    def clear(self) -> None:
        self._suggestion = None
        self.answers.clear()
        self.departments.clear()
        self.categories.setText("")
        self.state.setText("输入诉求内容后，这里显示推荐口径和承办单位")

    def set_suggestion(self, suggestion: Suggestion) -> None:
        self._suggestion = suggestion
        hints = [f"Ctrl+{i}" for i in range(1, min(len(suggestion.answers), MAX_PICKS) + 1)]
        self.answers.set_hits(suggestion.answers, hints=hints)
        self.departments.clear()
        for n, d in enumerate(suggestion.departments[:MAX_PICKS], 1):
            item = html_item(department_html(n, d))  # the accessible text has the phones the row shows
            item.setData(DEPT_ROLE, d)
            self.departments.addItem(item)
        # A refresh (the address or the type changed) starts at the top, not at the old scroll offset.
        self.answers.scrollToTop()
        self.departments.scrollToTop()
        if suggestion.answers:
            self.state.setText(f"推荐 {len(suggestion.answers)} 条口径 · {len(suggestion.departments)} 个承办单位")
        elif suggestion.departments:  # below the relevance floor: no answer, the departments still help
            self.state.setText(f"没有找到相关口径 · {len(suggestion.departments)} 个承办单位")
        else:
            self.state.setText("没有找到相关口径：多记几个关键词，或用 Ctrl+K 搜索")
        cats = "、".join(c.name for c in suggestion.categories)
        self.categories.setText(f"可能分类：{cats}" if cats else "")

    def department_at(self, n: int) -> DepartmentSuggestion | None:
        """The n-th (1-based) suggested department."""
        item = self.departments.item(n - 1)
        return None if item is None else item.data(DEPT_ROLE)  # type: ignore[no-any-return]

    def pick_department(self, n: int) -> DepartmentSuggestion | None:
        dept = self.department_at(n)
        if dept is not None:
            self.departments.setCurrentRow(n - 1)
            self.department_picked.emit(dept)
        return dept

    def open_answer(self, n: int) -> bool:
        return self.answers.activate_row(n - 1)
