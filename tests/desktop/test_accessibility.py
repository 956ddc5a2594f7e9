"""Issue #17: agents who cannot see well.

The window is walked through Qt's accessibility interface (what Orca and NVDA read:
name, role, text) and with the Tab key, in the states of a call; alerts must be
announced without taking the keyboard; every key is in the F1 help; at the largest
font both workspaces fit a 1366×768 screen; both themes meet WCAG AA, computed
from the generated style sheet.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6 import QtGui
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QAccessible, QAccessibleInterface, QKeySequence, QPalette, QShortcut, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QScrollBar,
    QSplitterHandle,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from desktop import style
from desktop.accessibility import ANNOUNCEMENT_EVENT, Announcement, Announcer
from desktop.main_window import FONT_MAX, MainWindow
from desktop.tasks import TaskManager
from desktop.widgets.search_panel import HTML_ROLE
from kb import settings as settings_mod
from kb.errors import ValidationError
from tests.desktop.conftest import REPEAT_PHONE, Env, type_text, wait_idle

Role = QAccessible.Role
CONTROL_ROLES = {Role.EditableText, Role.ComboBox, Role.PushButton, Role.CheckBox, Role.RadioButton, Role.SpinBox,
                 Role.List, Role.Table, Role.Tree, Role.PageTabList, Role.Slider}
SCREEN = QRect(0, 0, 1366, 740)  # 1366×768 less the title bar: the smallest screen agents use


# ----------------------------------------------------------------- helpers
def make_window(qtbot: object, env: Env, tasks: TaskManager, **settings: object) -> MainWindow:
    w = MainWindow(env.services(tasks, **settings))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.set_engine(env.engine)
    w.resize(SCREEN.size())
    w.show()
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    w.activateWindow()
    wait_idle(qtbot, tasks)
    return w


@pytest.fixture
def agent(qtbot: object, env: Env, tasks: TaskManager) -> Iterator[MainWindow]:
    w = make_window(qtbot, env, tasks)
    yield w
    w.agent.calls.call_active = False  # the test calls are no drafts
    w.close()
    wait_idle(qtbot, tasks)


@pytest.fixture
def editor(qtbot: object, env: Env, tasks: TaskManager) -> Iterator[MainWindow]:
    w = make_window(qtbot, env, tasks, role="editor")
    yield w
    w.close()
    wait_idle(qtbot, tasks)


def settle(qtbot: object, w: MainWindow, tasks: TaskManager) -> None:
    """No debounce timer pending and no operation running: the lists will not change under the walk."""
    timers = (w.agent.suggest.suggest_timer, w.agent._search_timer, w.agent.suggest.phone_timer)
    qtbot.waitUntil(lambda: not any(t.isActive() for t in timers), timeout=5000)  # type: ignore[attr-defined]
    wait_idle(qtbot, tasks)


def describe(w: QWidget | None) -> str:
    if w is None:
        return "None"
    label = w.objectName() or w.accessibleName() or getattr(w, "text", lambda: "")()
    if not label and w.parentWidget() is not None:  # an unnamed box: say where it is
        return f"{type(w).__name__} in {describe(w.parentWidget())}"
    return f"{type(w).__name__}({label!r})"


def plain(text: str) -> str:
    """What a label or a row shows, as text (rich text rendered, && and mnemonic & removed)."""
    if QtGui.Qt.mightBeRichText(text):
        doc = QTextDocument()
        doc.setHtml(text)
        text = doc.toPlainText()
    return re.sub(r"&(.)", r"\1", text)


def squeeze(text: str) -> str:
    return re.sub(r"[\s\u00a0\u3000]+", "", text)


def accessible_tree(root: QWidget) -> Iterator[QAccessibleInterface]:
    """Every node a screen reader can reach (not the invisible ones)."""
    stack = [QAccessible.queryAccessibleInterface(root)]
    while stack:
        iface = stack.pop()
        if iface is None or iface.state().invisible:
            continue
        yield iface
        stack.extend(iface.child(i) for i in range(iface.childCount()))


def has_buddy(widget: QWidget) -> bool:
    window = widget.window()
    return any(label.buddy() is widget and label.isVisible() for label in window.findChildren(QLabel))


def forget_rows(root: QWidget) -> None:
    """Drop Qt's cached row interfaces of every list and table under ``root``.

    Qt updates them when the platform bridge reports a model change; offscreen there is
    no bridge (no screen reader), so a refilled list would answer with its old rows.
    """
    for view in root.findChildren(QAbstractItemView):
        iface = QAccessible.queryAccessibleInterface(view)
        if iface is not None:
            QAccessible.deleteAccessibleInterface(QAccessible.uniqueId(iface))


def accessibility_problems(root: QWidget) -> list[str]:
    """Unnamed controls, labels whose name hides their text, list rows that hide what they show."""
    problems: list[str] = []
    forget_rows(root)
    for iface in accessible_tree(root):
        obj = iface.object()
        name = iface.text(QAccessible.Text.Name).strip()
        if isinstance(obj, QLabel):
            shown = plain(obj.text())
            if squeeze(shown) and squeeze(name) != squeeze(shown):
                problems.append(f"label shows {shown!r} but a screen reader hears {name!r}")
            elif obj.accessibleName():  # empty now; once it shows a message the name would hide it
                problems.append(f"label {describe(obj)} has a fixed name {obj.accessibleName()!r}")
        elif isinstance(obj, QComboBox):
            # On Linux a combo's name is its value; what it is comes from its accessible name or its label.
            if not obj.accessibleName() and not has_buddy(obj):
                problems.append(f"unnamed combo box {describe(obj)}")
        elif isinstance(obj, QWidget) and iface.role() in CONTROL_ROLES and not name:
            problems.append(f"unnamed {iface.role().name} {describe(obj)} in {describe(obj.parentWidget())}")
        children = [c.object() for c in (iface.child(i) for i in range(iface.childCount()))
                    if c is not None and not c.state().invisible]
        read = [c for c in children if isinstance(c, QWidget) and not isinstance(c, QSplitterHandle | QScrollBar)]
        for x, y in itertools.pairwise(read):
            if _reading_cmp(x, y) > 0 and not isinstance(obj, QTabWidget):  # Qt's own tab bar and pages aside
                problems.append(f"the screen reader meets {describe(y)} before {describe(x)}")
        if isinstance(obj, QListWidget):
            for row in range(obj.count()):
                rich = obj.item(row).data(HTML_ROLE)
                child = iface.child(row)
                heard = squeeze(child.text(QAccessible.Text.Name)) if child is not None else ""
                if not heard:
                    problems.append(f"unnamed row {row} of {describe(obj)}")
                for line in plain(str(rich or "")).splitlines():
                    for part in line.split("…"):
                        if squeeze(part) and squeeze(part) not in heard:
                            problems.append(f"row {row} of {describe(obj)} shows {part!r}; the reader skips it")
    return problems


def typed_text(w: QWidget) -> str:
    if isinstance(w, QPlainTextEdit | QTextEdit):
        return w.toPlainText()
    return w.text() if isinstance(w, QLineEdit) else ""


def tab_cycle(start: QWidget, limit: int = 250) -> list[QWidget]:
    """The Tab chain from ``start`` round to ``start``; fails on a trap (the focus stays, Tab typed a tab)."""
    start.setFocus(Qt.FocusReason.TabFocusReason)
    QApplication.processEvents()
    first = QApplication.focusWidget()
    assert first is not None, f"{describe(start)} takes no focus"
    chain = [first]
    for _ in range(limit):
        here = QApplication.focusWidget()
        assert here is not None
        before = typed_text(here)
        QTest.keyClick(here, Qt.Key.Key_Tab)
        after = QApplication.focusWidget()
        assert after is not here, f"Tab trap: {describe(here)} keeps the focus"
        assert typed_text(here) == before, f"Tab typed into {describe(here)}"
        if after is first:
            return chain
        chain.append(after)  # type: ignore[arg-type]
    raise AssertionError(f"Tab never came back to {describe(first)}: {[describe(w) for w in chain[-20:]]}")


def tab_stops(root: QWidget) -> set[QWidget]:
    """What the Tab key should reach: visible, enabled widgets taking Tab focus (not inner editors)."""
    stops = set()
    for w in root.findChildren(QWidget):
        if not (w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus):
            continue
        if w.focusProxy() is not None or isinstance(w, QScrollBar):
            continue
        if isinstance(w.parentWidget(), QComboBox | QAbstractSpinBox):
            continue
        if isinstance(w.parentWidget(), QAbstractScrollArea) and w is w.parentWidget().viewport():  # type: ignore[union-attr]
            continue
        stops.add(w)
    return stops


def _reading_cmp(a: QWidget, b: QWidget) -> int:
    """Reading order: of the two children of the nearest common ancestor, the upper one first;
    side by side (overlapping vertically), the left one first."""
    chain_a = [a]
    while chain_a[-1].parentWidget() is not None:
        chain_a.append(chain_a[-1].parentWidget())  # type: ignore[arg-type]
    ancestors_b = {id(w): w for w in _ancestors(b)}
    common = next(w for w in chain_a if id(w) in ancestors_b)
    ca = next((w for w in [a, *_ancestors(a)] if w.parentWidget() is common), a)
    cb = next((w for w in [b, *_ancestors(b)] if w.parentWidget() is common), b)
    ra, rb = ca.geometry(), cb.geometry()
    if ra.bottom() < rb.top():
        return -1
    if rb.bottom() < ra.top():
        return 1
    return -1 if ra.left() < rb.left() else 1 if rb.left() < ra.left() else 0


def _ancestors(w: QWidget) -> list[QWidget]:
    out = []
    parent = w.parentWidget()
    while parent is not None:
        out.append(parent)
        parent = parent.parentWidget()
    return out


def check_keyboard(window: MainWindow, start: QWidget) -> list[QWidget]:
    """No trap, every Tab stop reached, in reading order."""
    chain = tab_cycle(start)
    missing = tab_stops(window) - set(chain)
    assert not missing, f"Tab never reaches {[describe(w) for w in missing]}"
    ordered = sorted(chain, key=functools.cmp_to_key(_reading_cmp))
    first = chain.index(ordered[0])
    rotated = chain[first:] + chain[:first]
    assert [describe(w) for w in rotated] == [describe(w) for w in ordered], "Tab order is not the reading order"
    return rotated


def check_state(window: MainWindow, start: QWidget) -> list[QWidget]:
    problems = accessibility_problems(window)
    assert not problems, "\n".join(problems)
    return check_keyboard(window, start)


# ------------------------------------------------------- the agent workspace
def test_agent_workspace_in_every_state_of_a_call(qtbot: object, agent: MainWindow, tasks: TaskManager) -> None:
    w = agent
    # Empty: the briefing between calls.
    chain = check_state(w, w.agent.caller_bar.phone)
    assert chain[-1] is w.settings_button  # settings is a Tab stop, the last one

    # Typing: a repeat caller, suggestions with departments and their phones.
    w.agent.calls.new_call()
    type_text(w.agent.caller_bar.phone, REPEAT_PHONE)
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "家里暖气不热，屋里只有十四度")
    qtbot.waitUntil(lambda: w.agent.suggestions.departments.count() > 0 and w.agent.repeat_panel.isVisible(),  # type: ignore[attr-defined]
                    timeout=5000)
    settle(qtbot, w, tasks)
    heard = w.agent.suggestions.departments.item(0).data(Qt.ItemDataRole.AccessibleTextRole)
    assert "96069" in heard and "010-65120000" in heard  # the phones on screen are read too
    chain = check_state(w, w.agent.caller_bar.phone)
    # The repeat-caller list is in the left column: it comes before the search box, not after the answer.
    assert chain.index(w.agent.repeat_panel.orders) < chain.index(w.agent.search_panel.box)

    # An emergency: the banner is up, the keyboard stays in the description.
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "，楼道里有煤气味")
    assert w.agent.alert_banner.isVisible() and QApplication.focusWidget() is w.agent.call_form.text
    settle(qtbot, w, tasks)
    check_state(w, w.agent.caller_bar.phone)

    # An answer open.
    w.agent.call_form.text.setFocus()
    QTest.keyClick(w.agent.call_form.text, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: w.agent.answer_view.entry is not None, timeout=3000)  # type: ignore[attr-defined]
    settle(qtbot, w, tasks)
    assert w.agent.answer_view.title.text() == "家里暖气不热怎么办"
    check_state(w, w.agent.caller_bar.phone)


def test_labels_read_what_they_show(agent: MainWindow) -> None:
    w = agent
    w.agent.caller_bar.start_call(already_elapsed=12)
    timer = QAccessible.queryAccessibleInterface(w.agent.caller_bar.timer_label)
    assert timer.text(QAccessible.Text.Name) == "通话 00:12"
    assert timer.text(QAccessible.Text.Description) == "通话计时"  # what it is: the description
    w.agent.caller_bar.stop_call()


def test_combo_text_field_and_clear_button_are_named(agent: MainWindow) -> None:
    w = agent
    edit = w.agent.call_form.department.lineEdit()
    assert edit is not None and edit.accessibleName() == "承办单位"
    department = w.agent.call_form.department
    assert all(department.itemText(i) for i in range(department.count()))  # no blank item
    w.agent.search_panel.box.setText("暖气")
    clear = [b for b in w.agent.search_panel.box.findChildren(QWidget) if b.isVisible()]
    assert clear and all(b.accessibleName() for b in clear)


# --------------------------------------------------------- announcements
def test_an_alert_is_announced_at_once_and_the_keyboard_stays(qtbot: object, agent: MainWindow) -> None:
    w = agent
    heard: list[Announcement] = []
    w.announcer.announced.connect(heard.append)
    w.agent.calls.new_call()
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "我家")
    assert not heard
    type_text(w.agent.call_form.text, "着火了")  # the keystroke that raises the alert
    assert len(heard) == 1 and heard[0].assertive
    assert "119" in heard[0].message and "火警" in heard[0].message
    assert QApplication.focusWidget() is w.agent.call_form.text  # the agent keeps typing
    event = w.announcer.last_event
    if ANNOUNCEMENT_EVENT is not None:  # Qt 6.8+: the announcement event itself, assertive
        assert event is not None and event.type() == QAccessible.Event.Announcement
        assert event.politeness() == QAccessible.AnnouncementPoliteness.Assertive  # type: ignore[attr-defined]
        assert event.message() == heard[0].message  # type: ignore[attr-defined]
        assert event.object() is w.agent.alert_banner
    type_text(w.agent.call_form.text, "，火很大")  # the same alert: said once, not on every keystroke
    assert len(heard) == 1
    type_text(w.agent.call_form.text, "，我不想活了")  # another, graver kind: an escalation is announced
    assert len(heard) == 2 and "12356" in heard[1].message and "119" not in heard[1].message
    QTest.keyClick(w.agent.call_form.text, Qt.Key.Key_F8)  # F8 says the whole alert again
    assert len(heard) == 3 and "12356" in heard[2].message and "119" in heard[2].message
    assert QApplication.focusWidget() is w.agent.call_form.text


def test_fallback_without_the_announcement_event(qtbot: object) -> None:
    region = QLabel()
    qtbot.addWidget(region)  # type: ignore[attr-defined]
    source = QWidget()
    qtbot.addWidget(source)  # type: ignore[attr-defined]
    announcer = Announcer(live_region=region.setText, native=False)
    said = announcer.announce(source, "紧急警报：火警，请立即转 119", assertive=True)
    assert not said.native and region.text() == "紧急警报：火警，请立即转 119"
    assert announcer.last_event is not None and announcer.last_event.type() == QAccessible.Event.Alert
    assert QAccessible.queryAccessibleInterface(region).text(QAccessible.Text.Name) == region.text()


def test_new_suggestions_are_announced_politely_as_a_count(qtbot: object, agent: MainWindow,
                                                           tasks: TaskManager) -> None:
    w = agent
    heard: list[Announcement] = []
    w.announcer.announced.connect(heard.append)
    w.agent.calls.new_call()
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "家里暖气不热")
    qtbot.waitUntil(lambda: bool(heard), timeout=5000)  # type: ignore[attr-defined]
    wait_idle(qtbot, tasks)
    answers, departments = w.agent.suggestions.answers.count(), w.agent.suggestions.departments.count()
    assert heard[-1].message == f"推荐 {answers} 条口径，{departments} 个承办单位" and not heard[-1].assertive
    count = len(heard)
    w.agent.suggest.run_suggest()  # the same suggestions again (the address changed nothing): nothing new to say
    wait_idle(qtbot, tasks)
    assert len(heard) == count


def test_a_key_reads_the_top_suggestion_and_goes_back(qtbot: object, agent: MainWindow, tasks: TaskManager) -> None:
    w = agent
    w.agent.calls.new_call()
    w.agent.call_form.text.setFocus()
    type_text(w.agent.call_form.text, "家里暖气不热")
    qtbot.waitUntil(lambda: w.agent.suggestions.answers.count() > 0, timeout=5000)  # type: ignore[attr-defined]
    wait_idle(qtbot, tasks)
    QTest.keyClick(w.agent.call_form.text, Qt.Key.Key_F7)
    focus = QApplication.focusWidget()
    assert focus is w.agent.suggestions.answers and w.agent.suggestions.answers.currentRow() == 0
    row = QAccessible.queryAccessibleInterface(w.agent.suggestions.answers).child(0)
    assert "家里暖气不热怎么办" in row.text(QAccessible.Text.Name)  # what the screen reader reads there
    QTest.keyClick(focus, Qt.Key.Key_F7)
    assert QApplication.focusWidget() is w.agent.call_form.text
    assert w.agent.call_form.text.toPlainText() == "家里暖气不热"


# ------------------------------------------------------------ keys and help
def test_f1_lists_every_key_and_gives_the_keyboard_back(agent: MainWindow) -> None:
    w = agent
    w.agent.call_form.text.setFocus()
    QTest.keyClick(w.agent.call_form.text, Qt.Key.Key_F1)
    assert w.key_help.isVisible() and QApplication.focusWidget() is w.key_help.list
    listed = "\n".join(w.key_help.texts())
    for sc in w.findChildren(QShortcut):
        if sc.isEnabled():
            key = sc.key().toString(QKeySequence.SequenceFormat.NativeText)
            digit = re.fullmatch(r"(Ctrl|Alt)\+\d", key)
            shown = f"{digit.group(1)}+1…9" if digit else key
            assert shown in listed or key in {"Ctrl+=", "Ctrl++", "Ctrl+-"}, f"{key} is not in the F1 help"
    for text in ("F2", "Ctrl+S", "F7", "F8", "Ctrl+Shift+H", "Alt+P"):  # Alt+P: the label "来电(P)"
        assert text in listed
    QTest.keyClick(w.key_help.list, Qt.Key.Key_Escape)
    assert not w.key_help.isVisible() and QApplication.focusWidget() is w.agent.call_form.text


# --------------------------------------------------------- the editor workspace
def test_editor_workspace_has_no_trap_and_reads_in_order(qtbot: object, editor: MainWindow,
                                                          tasks: TaskManager) -> None:
    w = editor
    w.set_mode("editor")
    ws = w.editor
    assert ws is not None
    wait_idle(qtbot, tasks)
    ws.entries.table.select_entry(ws.entries.table.rows[0].entry.id)
    wait_idle(qtbot, tasks)
    chain = check_state(w, ws.entries.filters.search)
    table = chain.index(ws.entries.table)
    assert chain[table + 1] is not ws.entries.table  # one Tab leaves the 4×8 table
    # Ctrl+Tab switches the page; Tab in 问法 and 答复口径 goes on instead of typing a tab.
    ws.entries.table.setFocus()
    QTest.keyClick(ws.entries.table, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert ws.left.currentWidget() is ws.gaps
    for page in (ws.gaps, ws.importer):  # the other pages of the left side, with the version history
        ws.left.setCurrentWidget(page)
        ws.right_tabs.setCurrentWidget(ws.history)
        wait_idle(qtbot, tasks)
        check_state(w, ws.pages.tabBar())
    ws.left.setCurrentWidget(ws.entries)
    ws.right_tabs.setCurrentWidget(ws.form)
    for tab in range(ws.directory.tabs.count()):  # the directory: every tab, as it shows
        ws.pages.setCurrentIndex(1)
        ws.directory.tabs.setCurrentIndex(tab)
        wait_idle(qtbot, tasks)
        check_state(w, ws.directory.tabs.tabBar())


# ------------------------------------------------------------ large fonts
def visible_leaves(root: QWidget) -> list[QWidget]:
    out = []
    for w in root.findChildren(QWidget):
        if not w.isVisible() or w.visibleRegion().isEmpty():
            continue
        if isinstance(w, QLabel | QLineEdit | QComboBox | QAbstractSpinBox | QAbstractScrollArea) or (
                w.focusPolicy() & Qt.FocusPolicy.TabFocus and not w.findChildren(QWidget)):
            out.append(w)
    return out


def screen_problems(window: MainWindow) -> list[str]:
    """At 1366×740: what is off-screen, squeezed below its minimum (cut) or overlapping."""
    problems = []
    hint = window.minimumSizeHint()
    if hint.width() > SCREEN.width() or hint.height() > SCREEN.height():
        problems.append(f"the window needs {hint.width()}×{hint.height()}")
    window.resize(SCREEN.size())
    QApplication.processEvents()
    leaves = visible_leaves(window)
    frames = {}
    for w in leaves:
        rect = w.visibleRegion().boundingRect().translated(w.mapTo(window, w.rect().topLeft()))
        frames[w] = rect
        if not window.rect().contains(rect):
            problems.append(f"{describe(w)} is off-screen at {rect}")
        small = w.minimumSizeHint()
        inner = w.parentWidget() is not None and isinstance(w.parentWidget(), QComboBox | QAbstractSpinBox)
        if not inner and (w.width() < small.width() - 1 or w.height() < small.height() - 1):
            problems.append(f"{describe(w)} is cut: {w.width()}×{w.height()} < {small.width()}×{small.height()}")
        if isinstance(w, QLabel) and w.wordWrap() and w.text() and w.height() < w.heightForWidth(w.width()) - 1:
            problems.append(f"{describe(w)} is cut: {w.height()} < {w.heightForWidth(w.width())}")
    for i, a in enumerate(leaves):
        for b in leaves[i + 1:]:
            if a.isAncestorOf(b) or b.isAncestorOf(a):
                continue
            if frames[a].intersected(frames[b]).width() > 1 and frames[a].intersected(frames[b]).height() > 1:
                problems.append(f"{describe(a)} overlaps {describe(b)}")
    return problems


@pytest.mark.parametrize("role", ["agent", "editor"])
def test_largest_font_fits_the_smallest_screen(qtbot: object, env: Env, tasks: TaskManager, role: str) -> None:
    w = make_window(qtbot, env, tasks, role=role, font_size=FONT_MAX)
    try:
        assert not screen_problems(w)  # between calls
        w.agent.calls.new_call()
        type_text(w.agent.caller_bar.phone, REPEAT_PHONE)
        w.agent.call_form.text.setFocus()
        type_text(w.agent.call_form.text, "家里暖气不热，屋里只有十四度，楼道里有煤气味")
        qtbot.waitUntil(lambda: w.agent.suggestions.answers.count() > 0, timeout=5000)  # type: ignore[attr-defined]
        w.agent.suggestions.open_answer(1)
        qtbot.waitUntil(lambda: w.agent.answer_view.entry is not None, timeout=3000)  # type: ignore[attr-defined]
        settle(qtbot, w, tasks)
        assert w.agent.alert_banner.isVisible() and w.agent.repeat_panel.isVisible()
        problems = screen_problems(w)
        assert not problems, "\n".join(problems)
        # Read, not peeped at: the script shows three lines at least, a suggestion row is whole.
        script = w.agent.answer_view.script
        assert script.viewport().height() >= 3 * script.fontMetrics().lineSpacing()
        answers = w.agent.suggestions.answers
        assert answers.viewport().height() >= answers.sizeHintForRow(0)
        if role == "editor":
            w.agent.calls.call_active = False
            assert w.set_mode("editor") and w.editor is not None
            w.editor.entries.table.select_entry(w.editor.entries.table.rows[0].entry.id)
            wait_idle(qtbot, tasks)
            problems = screen_problems(w)
            assert not problems, "\n".join(problems)
            w.editor.pages.setCurrentIndex(1)  # the directory scrolls instead of widening the window
            problems = [p for p in screen_problems(w) if "needs" in p or "off-screen" in p]
            assert not problems, "\n".join(problems)
    finally:
        w.agent.calls.call_active = False
        w.close()
        wait_idle(qtbot, tasks)


def test_a_hidden_page_never_sets_the_window_size(qtbot: object, env: Env, tasks: TaskManager) -> None:
    w = make_window(qtbot, env, tasks, role="editor", font_size=FONT_MAX)
    try:
        assert w.mode == "agent" and w.editor is not None
        agent_only = make_window(qtbot, env, tasks, font_size=FONT_MAX)
        assert w.minimumSizeHint().width() <= agent_only.minimumSizeHint().width()
        agent_only.close()
    finally:
        w.close()
        wait_idle(qtbot, tasks)


# ------------------------------------------------------------------ contrast
def luminance(colour: str) -> float:
    c = colour.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(int(c[i:i + 2], 16) / 255) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


COLOUR = re.compile(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b")


def rules(sheet: str) -> list[tuple[str, dict[str, str]]]:
    """(selector, declarations) of a style sheet, one entry per selector of a group."""
    sheet = re.sub(r"/\*.*?\*/", "", sheet, flags=re.S)
    out = []
    for selectors, body in re.findall(r"([^{}]+)\{([^}]*)\}", sheet):
        decls = {}
        for decl in body.split(";"):
            if ":" in decl:
                key, value = decl.split(":", 1)
                decls[key.strip()] = value.strip()
        for selector in selectors.split(","):
            out.append((" ".join(selector.split()), decls))
    return out


def background(decls: dict[str, str]) -> str | None:
    m = COLOUR.search(decls.get("background", "") or decls.get("background-color", ""))
    return m.group(0) if m else None


def contrast_failures(theme: str) -> list[str]:
    """Every text colour against the background it is drawn on, every border against what it borders."""
    sheet = rules(style.stylesheet(11, theme))
    backgrounds = {sel: bg for sel, decls in sheet if (bg := background(decls))}
    page = [backgrounds["QWidget#mainWindow"], backgrounds["QLineEdit"]]  # the window and the fields

    def behind(selector: str, decls: dict[str, str], *, own: bool) -> list[str]:
        if own and background(decls):
            return [background(decls)]  # type: ignore[list-item]
        parts = selector.split(" ")
        for n in range(len(parts) - 1, 0, -1):  # the nearest ancestor in the selector with a background
            ancestor = " ".join(parts[:n])
            found = [bg for sel, bg in backgrounds.items() if sel == ancestor or sel.startswith(ancestor + "[")]
            if found:
                return found
        return page

    failures = []
    for selector, decls in sheet:
        if "::" in selector or ":disabled" in selector:  # decorations (row separators), inactive controls
            continue
        for key in ("color", "placeholder-text-color", "selection-color"):
            m = COLOUR.search(decls.get(key, ""))
            if not m:
                continue
            bgs = ([COLOUR.search(decls["selection-background-color"]).group(0)]  # type: ignore[union-attr]
                   if key == "selection-color" else behind(selector, decls, own=True))
            failures += [f"{theme} {selector} {key} {m.group(0)} on {bg}: {contrast(m.group(0), bg):.2f}"
                         for bg in bgs if contrast(m.group(0), bg) < 4.5]
        for key in ("border", "border-left", "border-top", "border-bottom"):
            m = COLOUR.search(decls.get(key, ""))
            if m:
                bgs = behind(selector, decls, own=False)
                failures += [f"{theme} {selector} {key} {m.group(0)} against {bg}: {contrast(m.group(0), bg):.2f}"
                             for bg in bgs if contrast(m.group(0), bg) < 3.0]
    # Rich text in list rows and the answer script: on the row and on the selected row.
    rows = [backgrounds["QListWidget"], backgrounds["QListWidget::item:selected"]]
    for selector, decls in rules(style.rich_text_css(theme)):
        m = COLOUR.search(decls.get("color", ""))
        if m:
            own = background(decls)
            bgs = [own] if own else rows
            failures += [f"{theme} {selector} {m.group(0)} on {bg}: {contrast(m.group(0), bg):.2f}"
                         for bg in bgs if contrast(m.group(0), bg) < 4.5]
    # Table cells (not in the sheet): inactive and warning text, text on the rows marked to check or fix.
    c = style.THEMES[theme]
    for fg, bg in ((c["inactive"], c["base"]), (c["inactive"], c["alt_base"]), (c["warn"], c["base"]),
                   (c["warn"], c["alt_base"]), (c["text"], c["stale_bg"]), (c["text"], c["bad_bg"])):
        if contrast(fg, bg) < 4.5:
            failures.append(f"{theme} table text {fg} on {bg}: {contrast(fg, bg):.2f}")
    return failures


@pytest.mark.parametrize("theme", sorted(style.THEMES))
def test_both_themes_meet_wcag_aa(theme: str) -> None:
    failures = contrast_failures(theme)
    assert not failures, "\n".join(failures)


def test_the_contrast_check_catches_a_faint_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    faint = dict(style.THEMES["default"], hint="#9aa0a6", border="#c9d1dc")
    monkeypatch.setitem(style.THEMES, "default", faint)
    failures = "\n".join(contrast_failures("default"))
    assert "QLabel#hintLabel color #9aa0a6" in failures and "border #c9d1dc" in failures


# ------------------------------------------------------------ theme setting
def test_high_contrast_is_a_setting_with_a_key(qtbot: object, env: Env, tasks: TaskManager, tmp_path: Path) -> None:
    path = tmp_path / "huiyin.ini"
    path.write_text("[ui]\ntheme = high_contrast\n", encoding="utf-8")
    assert settings_mod.load(path).theme == "high_contrast"
    path.write_text("[ui]\ntheme = dark\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=re.escape("ui.theme: 未知的主题「dark」")):
        settings_mod.load(path)

    w = make_window(qtbot, env, tasks)
    try:
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        w.agent.call_form.text.setFocus()
        QTest.keyClick(w.agent.call_form.text, Qt.Key.Key_H,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        wait_idle(qtbot, tasks)
        assert w.services.settings.theme == "high_contrast" == style.current_theme()
        assert settings_mod.load(env.paths.config_file).theme == "high_contrast"
        assert app.palette().color(QPalette.ColorRole.Window).name() == "#000000"
        assert style.THEMES["high_contrast"]["focus"] in app.styleSheet()
        QTest.keyClick(w.agent.call_form.text, Qt.Key.Key_H,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        wait_idle(qtbot, tasks)
        assert style.current_theme() == "default" and settings_mod.load(env.paths.config_file).theme == "default"
    finally:
        w.apply_settings(replace(w.services.settings, theme="default"))
        w.close()
        wait_idle(qtbot, tasks)


def test_the_settings_dialog_has_the_high_contrast_switch(qtbot: object, env: Env, tasks: TaskManager) -> None:
    from desktop.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(env.services(tasks).settings, env.paths, tasks)
    qtbot.addWidget(dialog)  # type: ignore[attr-defined]
    assert not dialog.high_contrast.isChecked() and dialog.result_settings().theme == "default"
    dialog.high_contrast.setChecked(True)
    assert dialog.result_settings().theme == "high_contrast"
    dialog.show()
    problems = accessibility_problems(dialog)
    assert not problems, "\n".join(problems)


def test_a_risk_alone_is_said_politely_an_emergency_assertively() -> None:
    from desktop.accessibility import alert_is_urgent, alert_message
    from kb.alerts import EMERGENCY_SEVERITY, Alert

    hazard = Alert(kind="hazard", label="消防安全隐患", transfer_to="派单至消防 96119", script="请说明具体位置",
                   matched="楼道充电", severity=EMERGENCY_SEVERITY - 30)
    fire = Alert(kind="fire", label="火警", transfer_to="119", script="请马上离开", matched="着火",
                 severity=EMERGENCY_SEVERITY + 20)
    assert not alert_is_urgent([hazard])
    assert alert_message([hazard]).startswith("风险提示：消防安全隐患，派单至消防 96119")
    assert alert_is_urgent([hazard, fire])
    said = alert_message([hazard, fire])
    assert said.startswith("紧急警报：火警，请立即转 119") and "另：消防安全隐患" in said
