"""Layout helpers for large fonts on small screens: panes scroll or wrap instead of widening the window.

* :class:`ScrollPane` scrolls its content vertically (and, if asked, sideways) so the
  content's minimum height never becomes the window's minimum height.
* :func:`size_by_current_page`: a stack or tab widget takes its size from the page
  shown, so a hidden page (the editor behind the call window) never sets the
  window's minimum size.
* :class:`FlowLayout` puts its items in a row and wraps them onto more rows when the
  row is too narrow (the status bar and the filter bars at 22 pt), after the Qt
  "Flow Layout" example.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLayout,
    QLayoutItem,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QWidget,
)


class ScrollPane(QScrollArea):
    """``content`` in a frameless scroll area that is no Tab stop.

    Vertically the pane asks for little, so a tall content scrolls instead of
    pushing the window past the screen. Sideways it asks for the content's
    minimum width (nothing is cut), unless ``sideways`` lets it scroll that way
    too. Whatever gets the keyboard focus inside is scrolled into view.
    """

    def __init__(self, content: QWidget, parent: QWidget | None = None, *, sideways: bool = False) -> None:
        super().__init__(parent)
        self.sideways = sideways
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded if sideways
                                          else Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        content.installEventFilter(self)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)

    def _bar_width(self) -> int:
        return self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, self)

    def minimumSizeHint(self) -> QSize:
        content = self.widget()
        if content is None or self.sideways:
            return QSize(self._bar_width() * 3, self._bar_width() * 3)
        width = max(content.minimumSizeHint().width(), content.minimumWidth())
        return QSize(width + self._bar_width(), self._bar_width() * 3)

    def sizeHint(self) -> QSize:
        content = self.widget()
        if content is None:
            return super().sizeHint()
        hint = content.sizeHint()
        return QSize(hint.width() + self._bar_width(), hint.height())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The content's minimum width changed (font size, a row shown): the splitter must hear it.
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()
        return super().eventFilter(watched, event)

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        content = self.widget()
        if new is not None and content is not None and content.isAncestorOf(new) and self.isVisible():
            self.ensureWidgetVisible(new, 8, 8)


def read_in_order(splitter: QSplitter) -> None:
    """The screen reader meets the panes in the order they show (a splitter lists its last-added pane first)."""
    for i in range(splitter.count()):
        splitter.widget(i).raise_()  # raise_ moves it to the end of the children


def size_by_current_page(pages: QStackedWidget | QTabWidget) -> Callable[[], None]:
    """``pages`` takes its minimum size from the page shown, not from the largest hidden one.

    Hidden pages get the Ignored size policy (their own comes back when shown).
    Returns the update, to call after adding a page later.
    """
    own: dict[QWidget, QSizePolicy] = {}
    ignored = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def follow(_index: int = -1) -> None:
        current = pages.currentWidget()
        for i in range(pages.count()):
            page = pages.widget(i)
            policy = own.setdefault(page, page.sizePolicy())
            page.setSizePolicy(policy if page is current else ignored)
        pages.updateGeometry()

    pages.currentChanged.connect(follow)
    follow()
    return follow


class FlowLayout(QLayout):
    """Items left to right, wrapping onto the next row when the row is full (height for width)."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 8, align_right: bool = False,
                 fill: bool = False) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self._align_right = align_right
        self._fill = fill  # widen the items of each row to its full width (pickers that used to stretch)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # type: ignore[override]
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._arrange(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._arrange(rect, apply=True)

    def sizeHint(self) -> QSize:
        """Everything on one row."""
        visible = [i for i in self._items if not i.isEmpty()]
        width = sum(i.sizeHint().width() for i in visible) + self._spacing * max(len(visible) - 1, 0)
        height = max((i.sizeHint().height() for i in visible), default=0)
        m = self.contentsMargins()
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def minimumSize(self) -> QSize:
        """The widest item (one item per row)."""
        size = QSize(0, 0)
        for item in self._items:
            if not item.isEmpty():
                size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _rows(self, width: int) -> list[list[QLayoutItem]]:
        rows: list[list[QLayoutItem]] = [[]]
        used = 0
        for item in self._items:
            if item.isEmpty():
                continue
            w = item.sizeHint().width()
            if rows[-1] and used + self._spacing + w > width:
                rows.append([])
                used = 0
            used += (self._spacing if rows[-1] else 0) + w
            rows[-1].append(item)
        return [r for r in rows if r]

    def _arrange(self, rect: QRect, *, apply: bool) -> int:
        m = self.contentsMargins()
        inner = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        y = inner.y()
        for row in self._rows(inner.width()):
            height = max(i.sizeHint().height() for i in row)
            widths = [min(i.sizeHint().width(), inner.width()) for i in row]
            row_width = sum(widths) + self._spacing * (len(row) - 1)
            if self._fill and row_width < inner.width():
                extra, rest = divmod(inner.width() - row_width, len(row))
                widths = [w + extra + (1 if n < rest else 0) for n, w in enumerate(widths)]
                row_width = inner.width()
            x = inner.x() + (inner.width() - row_width if self._align_right else 0)
            for item, w in zip(row, widths, strict=True):
                if apply:
                    item.setGeometry(QRect(QPoint(max(x, inner.x()), y), QSize(w, height)))
                x += w + self._spacing
            y += height + self._spacing
        return max(y - self._spacing - rect.y() + m.bottom(), 0)


class _LinesTall(QObject):
    def __init__(self, widget: QWidget, lines: float, fixed: bool) -> None:
        super().__init__(widget)
        self.lines, self.fixed = lines, fixed
        widget.installEventFilter(self)
        self.fit(widget)

    def fit(self, widget: QWidget) -> None:
        margins = widget.contentsMargins()
        height = int(self.lines * widget.fontMetrics().lineSpacing()) + margins.top() + margins.bottom() + 10
        if self.fixed:
            widget.setFixedHeight(height)
        else:
            widget.setMinimumHeight(height)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FontChange and isinstance(watched, QWidget):
            self.fit(watched)
        return False


def lines_tall(widget: QWidget, lines: float, *, fixed: bool = False) -> None:
    """``widget`` is (at least, or exactly) ``lines`` lines of its font tall, at every font size."""
    _LinesTall(widget, lines, fixed)
