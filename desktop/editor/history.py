"""Version history of one entry: versions list, side-by-side diff, one-click rollback."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.style import color
from desktop.widgets.common import section_label
from kb.diff import diff_fields, side_by_side_document
from kb.dto import EntryVersionView
from kb.editorial import ACTION_LABELS, FIELD_LABELS, snapshot_values

REVISION_ROLE = Qt.ItemDataRole.UserRole + 1


def version_label(v: EntryVersionView) -> str:
    action = ACTION_LABELS.get(v.action, v.action)
    note = f" · {v.note}" if v.note else ""
    return f"第 {v.revision} 版 · {action} · {v.changed_by} · {v.changed_at:%Y-%m-%d %H:%M}{note}"


class HistoryPanel(QWidget):
    """Shows the versions of an entry, newest first, and what each one changed.

    Selecting a version shows it against the version before it (or, with
    "与当前版本对比", against the current one). Rollback restores the selected
    version's content as a new version; nothing is deleted.
    """

    rollback_requested = Signal(int)  # revision

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.versions: list[EntryVersionView] = []
        self.list = QListWidget()
        self.list.setAccessibleName("版本列表")
        self.compare_current = QCheckBox("与当前版本对比")
        self.only_changed = QCheckBox("只看改动的字段")
        self.only_changed.setChecked(True)
        self.rollback_button = QPushButton("回滚到此版本")
        self.rollback_button.setEnabled(False)
        self.left_title = QLabel("")
        self.right_title = QLabel("")
        for label in (self.left_title, self.right_title):
            label.setObjectName("sectionLabel")
        self.left = QTextBrowser()
        self.left.setAccessibleName("旧版本")
        self.right = QTextBrowser()
        self.right.setAccessibleName("新版本")
        self.summary = QLabel("")
        self.summary.setObjectName("hintLabel")
        self.summary.setWordWrap(True)  # a long change summary must not widen the window past the screen

        top = QHBoxLayout()
        top.addWidget(section_label("版本历史"))
        top.addStretch(1)
        top.addWidget(self.compare_current)
        top.addWidget(self.only_changed)
        top.addWidget(self.rollback_button)
        left_box = QWidget()
        lv = QVBoxLayout(left_box)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.left_title)
        lv.addWidget(self.left, 1)
        right_box = QWidget()
        rv = QVBoxLayout(right_box)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.right_title)
        rv.addWidget(self.right, 1)
        sides = QSplitter(Qt.Orientation.Horizontal)
        sides.addWidget(left_box)
        sides.addWidget(right_box)
        vertical = QSplitter(Qt.Orientation.Vertical)
        vertical.addWidget(self.list)
        vertical.addWidget(sides)
        vertical.setStretchFactor(0, 1)
        vertical.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(vertical, 1)
        layout.addWidget(self.summary)

        self.list.currentRowChanged.connect(lambda _r: self.show_selected())
        self.compare_current.toggled.connect(lambda _on: self.show_selected())
        self.only_changed.toggled.connect(lambda _on: self.show_selected())
        self.rollback_button.clicked.connect(self._rollback)

    @property
    def current_revision(self) -> int | None:
        return self.versions[-1].revision if self.versions else None

    def set_history(self, versions: list[EntryVersionView]) -> None:
        """Versions in revision order (as ``KnowledgeBase.entry_history`` returns them)."""
        self.versions = sorted(versions, key=lambda v: v.revision)
        self.list.blockSignals(True)
        self.list.clear()
        for v in reversed(self.versions):
            item = QListWidgetItem(version_label(v))
            item.setData(REVISION_ROLE, v.revision)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if self.versions:
            self.list.setCurrentRow(0)
        else:
            self.clear()

    def clear(self) -> None:
        self.versions = []
        self.list.clear()
        self.left.clear()
        self.right.clear()
        self.left_title.setText("")
        self.right_title.setText("")
        self.summary.setText("")
        self.rollback_button.setEnabled(False)

    def selected(self) -> EntryVersionView | None:
        row = self.list.currentRow()
        if row < 0:
            return None
        rev = self.list.item(row).data(REVISION_ROLE)
        return next((v for v in self.versions if v.revision == rev), None)

    def select_revision(self, revision: int) -> None:
        for row in range(self.list.count()):
            if self.list.item(row).data(REVISION_ROLE) == revision:
                self.list.setCurrentRow(row)
                return

    def show_selected(self) -> None:
        v = self.selected()
        if v is None:
            return
        current = self.versions[-1]
        old: EntryVersionView | None
        if self.compare_current.isChecked():
            old, new = v, current
        else:
            older = [p for p in self.versions if p.revision < v.revision]
            old, new = (older[-1] if older else None), v
        old_values = snapshot_values(dict(old.snapshot)) if old else {}
        new_values = snapshot_values(dict(new.snapshot))
        diffs = diff_fields(old_values, new_values, FIELD_LABELS)
        left, right = side_by_side_document(diffs, only_changed=self.only_changed.isChecked())
        self.left_title.setText(f"第 {old.revision} 版" if old else "（新建前）")
        self.right_title.setText(f"第 {new.revision} 版" + ("（当前）" if new is current else ""))
        nothing = f"<p style='color:{color('dim')}'>两个版本内容相同</p>"  # the theme's grey, 4.5:1
        self.left.setHtml(left or nothing)
        self.right.setHtml(right or nothing)
        changed = [d.label for d in diffs if d.changed]
        self.summary.setText(("改动：" + "、".join(changed)) if changed else "没有改动")
        self.rollback_button.setEnabled(v.revision != current.revision)
        self.rollback_button.setToolTip(f"把第 {v.revision} 版的内容保存为新的一版（当前版本保留在历史中）")

    def _rollback(self) -> None:
        v = self.selected()
        if v is not None and v.revision != self.current_revision:
            self.rollback_requested.emit(v.revision)
