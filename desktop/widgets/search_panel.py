"""Search box and result list; matched words in the snippets are highlighted."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAbstractTextDocumentLayout, QKeyEvent, QPainter, QPalette, QResizeEvent, QTextDocument
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.style import rich_text_css
from desktop.widgets.common import highlight_html, plain_text, section_label
from indexer.hits import SearchHit

HTML_ROLE = Qt.ItemDataRole.UserRole + 1
HIT_ROLE = Qt.ItemDataRole.UserRole + 2


class HtmlDelegate(QStyledItemDelegate):
    """Paints an item's ``HTML_ROLE`` text (wrapped), so snippets can show highlighted words.

    The colours come from the theme's CSS classes (``style.rich_text_css``). Rows are as
    tall as their text wrapped at the list's width, so at a large font nothing overlaps.
    """

    def _document(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
                  ) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDefaultStyleSheet(rich_text_css())
        doc.setDocumentMargin(5)
        doc.setHtml(str(index.data(HTML_ROLE) or ""))
        width = option.rect.width()
        view = option.widget
        if isinstance(view, QAbstractItemView):  # sizeHint gets no rect: wrap at the viewport's width
            width = view.viewport().width() if width <= 0 else min(width, view.viewport().width())
        doc.setTextWidth(max((width if width > 0 else 300) - 4, 80))
        return doc

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        doc = self._document(option, index)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        # The selection background is a light tint (app.qss), so the text keeps its normal colour.
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(QPalette.ColorRole.Text))
        painter.save()
        rect = opt.rect
        painter.translate(rect.topLeft())
        painter.setClipRect(QRectF(0, 0, rect.width(), rect.height()))
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        doc = self._document(option, index)
        return QSize(int(doc.idealWidth()), int(doc.size().height()) + 2)


def hit_html(hit: SearchHit, hint: str = "") -> str:
    """Title (bold) + highlighted snippet + a dim line saying why it matched."""
    title = html.escape(hit.title)
    snippet = highlight_html(hit.snippet) if hit.snippet else ""
    why = "、".join(hit.matched[:4])
    meta = " · ".join(p for p in (html.escape(hit.category), f"匹配：{html.escape(why)}" if why else "") if p)
    prefix = f'<span class="key">{html.escape(hint)}</span>&nbsp;' if hint else ""
    parts = [f"{prefix}<b>{title}</b>"]
    if snippet:
        parts.append(f"<br>{snippet}")
    if meta:
        parts.append(f'<br><span class="dim">{meta}</span>')
    return "".join(parts)


def html_item(rich: str) -> QListWidgetItem:
    """A row painted from ``rich`` (by :class:`HtmlDelegate`) whose accessible text is everything it shows."""
    item = QListWidgetItem()
    item.setData(HTML_ROLE, rich)
    item.setData(Qt.ItemDataRole.AccessibleTextRole, plain_text(rich))
    return item


class RichList(QListWidget):
    """A list of rich-text rows (:class:`HtmlDelegate`), wrapped at its width.

    Its minimum height fits its first row: at a large font the column around it
    scrolls, and a row is never cut in the middle.
    """

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        self.setItemDelegate(HtmlDelegate(self))
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.model().rowsInserted.connect(lambda *_a: self.updateGeometry())
        self.model().modelReset.connect(self.updateGeometry)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        if not self.count():
            return hint
        first = self.sizeHintForRow(0) + 2 * self.frameWidth() + 4
        return QSize(hint.width(), max(hint.height(), first))

    def resizeEvent(self, event: QResizeEvent) -> None:  # rewrap the HTML rows
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.doItemsLayout()
            self.updateGeometry()


class AnswerList(RichList):
    """A list of :class:`SearchHit`; Enter or double-click emits ``hit_activated``."""

    hit_activated = Signal(object)

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(accessible_name, parent)
        self.itemActivated.connect(self._activated)

    def set_hits(self, hits: Sequence[SearchHit], *, hints: Sequence[str] = ()) -> None:
        self.clear()
        for i, hit in enumerate(hits):
            # Screen readers read the accessible text; the delegate paints the HTML instead.
            item = html_item(hit_html(hit, hints[i] if i < len(hints) else ""))
            item.setData(HIT_ROLE, hit)
            self.addItem(item)

    def hits(self) -> list[SearchHit]:
        return [self.item(i).data(HIT_ROLE) for i in range(self.count())]

    def current_hit(self) -> SearchHit | None:
        item = self.currentItem() or (self.item(0) if self.count() else None)
        return None if item is None else item.data(HIT_ROLE)

    def activate_row(self, row: int) -> bool:
        if not 0 <= row < self.count():
            return False
        item = self.item(row)
        self.setCurrentItem(item)
        self._activated(item)
        return True

    def _activated(self, item: QListWidgetItem) -> None:
        self.hit_activated.emit(item.data(HIT_ROLE))


class SearchPanel(QWidget):
    """Ctrl+K search: type, ↓ into the results, Enter opens the answer."""

    query_changed = Signal(str)
    hit_activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QLineEdit()
        self.box.setObjectName("searchBox")
        self.box.setPlaceholderText("搜索口径（Ctrl+K / F3）")
        self.box.setAccessibleName("搜索口径")
        self.box.setClearButtonEnabled(True)
        self.status = QLabel()
        self.status.setObjectName("hintLabel")
        self.status.setWordWrap(True)
        self.status.setAccessibleDescription("搜索状态")
        self.results = AnswerList("搜索结果")
        self.results.hide()
        self._loading = False
        self._compact(True)
        self.box.textChanged.connect(self._on_text)
        self.box.installEventFilter(self)
        self.results.hit_activated.connect(self.hit_activated)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(section_label("搜索", self.box))
        layout.addWidget(self.box)
        layout.addWidget(self.status)
        layout.addWidget(self.results, 1)

    def _compact(self, on: bool) -> None:
        """Without results the panel takes only the height of the box (the suggestions get the rest)."""
        policy = QSizePolicy.Policy.Maximum if on else QSizePolicy.Policy.Expanding
        self.setSizePolicy(QSizePolicy.Policy.Preferred, policy)
        self.results.setVisible(not on)

    @property
    def query(self) -> str:
        return self.box.text().strip()

    def focus_search(self) -> None:
        self.box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.box.selectAll()

    def _on_text(self, text: str) -> None:
        if not text.strip():
            self.results.clear()
            self._compact(True)
            self.status.setText("")
        self.query_changed.emit(text.strip())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.box and isinstance(event, QKeyEvent) and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.results.count():
                self.results.setFocus(Qt.FocusReason.TabFocusReason)
                row = 0 if key == Qt.Key.Key_Down else self.results.count() - 1
                self.results.setCurrentRow(row)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.results.count():
                self.results.activate_row(max(self.results.currentRow(), 0))
                return True
        return super().eventFilter(watched, event)

    def set_loading(self, text: str = "正在加载…") -> None:
        self._loading = True
        self.status.setText(text)

    def set_results(self, query: str, hits: Sequence[SearchHit]) -> None:
        """Show ``hits`` for ``query`` (ignored if the box changed meanwhile)."""
        if query != self.query:
            return
        self._loading = False
        self.results.set_hits(hits)
        self._compact(not query)
        if hits:
            self.results.setCurrentRow(0)
            self.status.setText(f"{len(hits)} 条结果 · ↓ 选择，Enter 打开")
        else:
            self.status.setText("没有找到相关口径，换个说法试试")

    def set_error(self, message: str) -> None:
        self.status.setText(message)
