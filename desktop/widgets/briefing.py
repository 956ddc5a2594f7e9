"""Briefing for the empty screen: active bulletins (pinned first) and the answers changed since the last shift.

Shown in the answer column while no call and no answer is open; hidden as soon
as a call starts, an answer is opened or an emergency alert is up.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.widgets.common import plain_text, section_label
from desktop.widgets.search_panel import RichList, html_item
from kb.dto import BulletinView
from kb.editorial import EntryUpdate

UPDATE_ROLE = Qt.ItemDataRole.UserRole + 4
UPDATE_CLASSES = {"new": "new", "changed": "changed", "withdrawn": "withdrawn"}  # colours: style.rich_text_css
FIELD_NAMES = {"title": "标题", "answer": "口径", "aliases": "问法", "keywords": "关键词", "category": "分类",
               "department": "承办单位", "basis": "依据", "valid_from": "生效日期", "valid_to": "失效日期"}
BODY_CHARS = 90
WHO = {"system": "系统（定时发布/到期下架）", "init": "示例知识库"}


def bulletin_html(b: BulletinView, *, full: bool = False) -> str:
    pin = '<span class="pin">【置顶】</span>' if b.pinned else ""
    until = f"　至 {b.ends_at:%m-%d %H:%M}" if b.ends_at else ""
    body = b.body if full or len(b.body) <= BODY_CHARS else b.body[:BODY_CHARS] + "…"
    return (f"{pin}<b>{html.escape(b.title)}</b><br>{html.escape(body)}"
            f'<br><span class="dim">{b.starts_at:%m-%d %H:%M} 起{until}</span>')


def update_html(u: EntryUpdate) -> str:
    css = UPDATE_CLASSES.get(u.kind, "dim")
    fields = "、".join(FIELD_NAMES.get(f, f) for f in u.changed_fields[:4])
    what = f" · 改了{fields}" if fields else ""
    return (f'<span class="{css}">[{html.escape(u.label)}]</span> '
            f"<b>{html.escape(u.entry.title)}</b>"
            f'<br><span class="dim">{u.changed_at:%m-%d %H:%M} · '
            f"{html.escape(WHO.get(u.changed_by, u.changed_by))}{what}</span>")


class BriefingPanel(QFrame):
    """The idle screen of the answer column. Enter on an update opens that answer."""

    entry_requested = Signal(int)  # entry id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("briefing")
        self.hint = QLabel("按 F2 接听新来电 · Ctrl+K 搜索口径 · F10 设置")
        self.hint.setObjectName("briefingHint")
        self.hint.setWordWrap(True)

        self.bulletins = self._list("公告")
        self.bulletins_label = section_label("公告", self.bulletins)
        self.bulletins_empty = QLabel("当前没有生效的公告")
        self.bulletins_empty.setObjectName("hintLabel")

        self.updates = self._list("口径更新")
        self.updates.itemActivated.connect(self._activated)
        self.updates_label = section_label("上次下班以来的口径更新", self.updates)
        self.updates_empty = QLabel("没有新的口径更新")
        self.updates_empty.setObjectName("hintLabel")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.hint)
        layout.addWidget(self.bulletins_label)
        layout.addWidget(self.bulletins_empty)
        layout.addWidget(self.bulletins, 3)
        layout.addWidget(self.updates_label)
        layout.addWidget(self.updates_empty)
        layout.addWidget(self.updates, 2)
        self.set_bulletins([])
        self.set_updates([], None)

    @staticmethod
    def _list(name: str) -> QListWidget:
        return RichList(name)

    def set_bulletins(self, bulletins: Sequence[BulletinView]) -> None:
        """Active bulletins; pinned ones first (kept stable otherwise)."""
        ordered = sorted(bulletins, key=lambda b: not b.pinned)
        self.bulletins.clear()
        for b in ordered:
            item = html_item(bulletin_html(b))
            # The row shows the first BODY_CHARS characters; the screen reader gets the whole bulletin.
            item.setData(Qt.ItemDataRole.AccessibleTextRole, plain_text(bulletin_html(b, full=True)))
            self.bulletins.addItem(item)
        self.bulletins_label.setText(f"公告（{len(ordered)}）" if ordered else "公告")
        self.bulletins.setVisible(bool(ordered))
        self.bulletins_empty.setVisible(not ordered)

    def set_updates(self, updates: Sequence[EntryUpdate], since: datetime | None, *,
                    first_shift: bool = False) -> None:
        self.updates.clear()
        for u in updates:
            item = html_item(update_html(u))
            item.setData(UPDATE_ROLE, u.entry.id)
            self.updates.addItem(item)
        if first_shift and since is not None:
            heading = f"近期口径变更（{since:%m-%d} 以来）"
        elif since is not None:
            heading = f"上次下班（{since:%m-%d %H:%M}）以来的口径更新"
        else:
            heading = "口径更新"
        self.updates_label.setText(f"{heading}：{len(updates)} 条" if updates else heading)
        self.updates.setVisible(bool(updates))
        self.updates_empty.setVisible(not updates)

    def bulletin_titles(self) -> list[str]:
        return [str(self.bulletins.item(i).data(Qt.ItemDataRole.AccessibleTextRole))
                for i in range(self.bulletins.count())]

    def _activated(self, item: QListWidgetItem) -> None:
        entry_id = item.data(UPDATE_ROLE)
        if entry_id is not None:
            self.entry_requested.emit(int(entry_id))
