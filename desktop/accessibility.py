"""Screen readers and the keyboard: announcements, Tab that never traps, names for Qt's unnamed parts.

Agents with low vision work with Orca (Linux) or NVDA (Windows). What they hear
comes from Qt's accessibility interface: a widget's name, role and text, the
events Qt sends, and the Tab chain.

* :class:`Announcer` speaks a message without moving the keyboard focus. Qt 6.8+
  has an announcement event (assertive for emergencies, polite for counts); older
  Qt sends an alert event on the source widget and puts the message in a live
  region (a label: a label whose text changes sends a name-change event).
* :func:`prepare` makes tables, lists and multi-line fields pass Tab on
  (Ctrl+Tab switches the tab page), names the parts Qt creates without a name
  (the text field inside an editable combo box, the clear button of a search box)
  and puts the panes of splitters in the order they show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6 import QtGui
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAccessible, QAccessibleEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QSplitter,
    QTextEdit,
    QToolButton,
    QWidget,
)

from desktop.widgets.layout import read_in_order
from kb.alerts import Alert

log = logging.getLogger(__name__)

# Qt 6.8+; the pin allows 6.6, where the fallback below is used.
ANNOUNCEMENT_EVENT: type[QAccessibleEvent] | None = getattr(QtGui, "QAccessibleAnnouncementEvent", None)


@dataclass(frozen=True)
class Announcement:
    message: str
    assertive: bool
    native: bool  # sent as Qt's announcement event; False: the alert event and the live region


class Announcer(QObject):
    """Speaks messages through the screen reader; the keyboard focus stays where it is.

    ``live_region`` receives the message as text when Qt has no announcement event
    (or ``native=False``): a label whose text changes sends a name-change event.
    """

    announced = Signal(object)  # Announcement

    def __init__(self, parent: QObject | None = None, *, live_region: Callable[[str], None] | None = None,
                 native: bool = True) -> None:
        super().__init__(parent)
        self.native = native and ANNOUNCEMENT_EVENT is not None
        self.live_region = live_region
        self.last: Announcement | None = None
        self.last_event: QAccessibleEvent | None = None

    def announce(self, source: QWidget, message: str, *, assertive: bool = False) -> Announcement:
        message = " ".join(message.split())
        event: QAccessibleEvent | None = None
        if self.native and ANNOUNCEMENT_EVENT is not None:
            event = ANNOUNCEMENT_EVENT(source, message)
            politeness = QAccessible.AnnouncementPoliteness
            event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)  # type: ignore[attr-defined]
        else:
            if self.live_region is not None:
                self.live_region(message)
            if assertive:
                event = QAccessibleEvent(source, QAccessible.Event.Alert)
        if event is not None:
            QAccessible.updateAccessibility(event)
        self.last_event = event
        self.last = Announcement(message, assertive, self.native)
        log.debug("announced (%s): %s", "assertive" if assertive else "polite", message)
        self.announced.emit(self.last)
        return self.last


def alert_message(alerts: Sequence[Alert]) -> str:
    """What the screen reader says when an alert is raised: the transfer number first, then the script.

    Worded like the banner: an emergency is to be transferred at once, a risk (a fire
    hazard for the daily line) says where it goes.
    """
    if not alerts:
        return ""
    top, *others = sorted(alerts, key=lambda a: -a.severity)
    head = (f"紧急警报：{top.label}，请立即转 {top.transfer_to}" if top.emergency
            else f"风险提示：{top.label}，{top.transfer_to}")
    parts = [f"{head}。话术：{top.script}"]
    parts += [f"另：{a.label}，转 {a.transfer_to}。" for a in others]
    return "".join(parts)


def alert_is_urgent(alerts: Sequence[Alert]) -> bool:
    """Assertive (interrupting the screen reader) for an emergency; a risk alone is said politely."""
    return any(a.emergency for a in alerts)


def suggestion_message(answers: int, departments: int) -> str:
    if not answers and not departments:
        return "暂无推荐"
    return f"推荐 {answers} 条口径，{departments} 个承办单位"


def pass_tab_on(root: QWidget) -> None:
    """Tab leaves tables, lists and multi-line fields; inside them the arrow keys move, Ctrl+Tab switches pages."""
    for view in root.findChildren(QAbstractItemView):
        view.setTabKeyNavigation(False)
    for edit in (*root.findChildren(QPlainTextEdit), *root.findChildren(QTextEdit)):
        edit.setTabChangesFocus(True)


def name_inner_parts(root: QWidget) -> None:
    """Names for the parts Qt builds unnamed: combo text fields and line-edit clear buttons."""
    for combo in root.findChildren(QComboBox):
        edit = combo.lineEdit()
        if edit is not None and not edit.accessibleName():
            edit.setAccessibleName(combo.accessibleName() or "输入")
    for edit in root.findChildren(QLineEdit):
        if not edit.isClearButtonEnabled():
            continue
        for button in edit.findChildren(QToolButton):
            if not button.accessibleName():
                button.setAccessibleName(f"清除{edit.accessibleName()}".strip())


def prepare(root: QWidget) -> None:
    """:func:`pass_tab_on`, :func:`name_inner_parts` and splitters read in order, under ``root``."""
    pass_tab_on(root)
    name_inner_parts(root)
    for splitter in root.findChildren(QSplitter):
        read_in_order(splitter)


def rows_text(*views: QListWidget) -> tuple[tuple[str, ...], ...]:
    """What the rows of ``views`` say (their accessible text): to tell whether a refresh changed anything."""
    return tuple(tuple(str(view.item(i).data(Qt.ItemDataRole.AccessibleTextRole) or view.item(i).text())
                       for i in range(view.count())) for view in views)
