"""Small helpers shared by the widgets: highlight rendering, validity badges, accessible row text.

The labels of domain codes come from :mod:`kb.vocab`.
"""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel, QWidget

from indexer.hits import HIGHLIGHT_CLOSE, HIGHLIGHT_OPEN

EXPIRING_DAYS = 30

_MARK_RE = re.compile(re.escape(HIGHLIGHT_OPEN) + "(.*?)" + re.escape(HIGHLIGHT_CLOSE), re.S)


def highlight_html(snippet: str) -> str:
    """Escape ``snippet`` and render the 【matched】 words highlighted."""
    parts: list[str] = []
    last = 0
    for m in _MARK_RE.finditer(snippet):
        parts.append(html.escape(snippet[last:m.start()]))
        parts.append(f'<span class="hit">{html.escape(m.group(1))}</span>')  # coloured by style.rich_text_css
        last = m.end()
    parts.append(html.escape(snippet[last:]))
    return "".join(parts).replace("\n", "<br>")


def mark_words_html(text: str, words: tuple[str, ...] | list[str]) -> str:
    """Escape ``text`` and highlight every occurrence of ``words`` (longest first)."""
    words = sorted({w for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return html.escape(text).replace("\n", "<br>")
    pattern = re.compile("|".join(re.escape(w) for w in words))
    marked = pattern.sub(lambda m: f"{HIGHLIGHT_OPEN}{m.group(0)}{HIGHLIGHT_CLOSE}", text)
    return highlight_html(marked)


def validity(status: str, valid_to: date | None, today: date) -> tuple[str, str]:
    """(badge text, object name for the style) of an entry's validity."""
    if status == "archived" or (valid_to is not None and valid_to < today):
        return "已废止", "badgeExpired"
    if valid_to is not None and valid_to <= today + timedelta(days=EXPIRING_DAYS):
        return f"即将到期（{valid_to:%m-%d}）", "badgeExpiring"
    return "有效", "badgeValid"


def plain_text(rich: str) -> str:
    """What a rich-text row shows, as one line for a screen reader (its lines become sentences)."""
    doc = QTextDocument()
    doc.setHtml(rich)
    lines = [" ".join(line.split()) for line in doc.toPlainText().splitlines()]
    return "。".join(line.rstrip("。") for line in lines if line)


def section_label(text: str, buddy: QWidget | None = None) -> QLabel:
    """A heading for a group of widgets (bold, with an optional buddy for Alt+key mnemonics).

    It wraps, so at a large font it takes a second line instead of widening its column.
    """
    label = QLabel(text)
    label.setObjectName("sectionLabel")
    label.setWordWrap(True)
    if buddy is not None:
        label.setBuddy(buddy)
    return label
