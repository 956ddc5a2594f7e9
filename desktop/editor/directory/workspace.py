"""Directory and rules (名录与规则): departments, routing rules, scripts, synonyms, dictionary, alerts, gazetteer.

``DirectoryWorkspace(kb, engine, tasks, actor)`` is one widget with a tab per
list; the editor workspace mounts it as a tab. Every database call runs through
:class:`desktop.tasks.Op` (writes on the single write worker, followed there by
``engine.apply_changes``), so the window never waits on the database or on an
index rebuild. Tabs load the first time they are shown.

Screenshots: ``tools/screenshots_directory.py``.
"""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from desktop.editor.directory.alert_lexicon import AlertsTab
from desktop.editor.directory.common import DirectoryContext, DirectoryTab
from desktop.editor.directory.departments import DepartmentsTab
from desktop.editor.directory.dictionary import DictionaryTab
from desktop.editor.directory.places import PlacesTab
from desktop.editor.directory.rules import RulesTab
from desktop.editor.directory.scripts import ScriptsTab
from desktop.editor.directory.synonyms import SynonymsTab
from desktop.services import SearchEngine
from desktop.tasks import TaskManager
from kb.actor import Actor
from kb.service import KnowledgeBase

__all__ = ["DirectoryWorkspace"]


class DirectoryWorkspace(QWidget):
    """Tabs 承办单位, 路由规则, 话术, 同义词, 词典, 警报词库, 地名库 — each with filter, save/delete, import/export.

    ``engine`` may be ``None`` while the index is opening (pass it later with
    :meth:`set_engine`); changes are then saved without updating the engine,
    whose start-up sync and lexicon load pick them up. ``today`` fixes the day
    stale departments are measured against (tests); by default it is the
    knowledge base's clock.
    """

    changed = Signal(object)  # Changes committed here (connect the editor's refresh / the agent side)

    def __init__(self, kb: KnowledgeBase, engine: SearchEngine | None, tasks: TaskManager, actor: Actor,
                 parent: QWidget | None = None, *, today: date | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("directoryWorkspace")
        self.ctx = DirectoryContext(kb=kb, engine=engine, tasks=tasks, actor=actor, today=today)
        self.departments = DepartmentsTab(self.ctx)
        self.rules = RulesTab(self.ctx)
        self.scripts = ScriptsTab(self.ctx)
        self.synonyms = SynonymsTab(self.ctx)
        self.dictionary = DictionaryTab(self.ctx)
        self.alerts = AlertsTab(self.ctx)
        self.places = PlacesTab(self.ctx)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        for tab in self.all_tabs():
            self.tabs.addTab(tab, tab.title)
            tab.changed.connect(self._tab_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        self.tabs.currentChanged.connect(lambda _i: self._current().ensure_loaded())
        self._current().ensure_loaded()

    def all_tabs(self) -> list[DirectoryTab]:
        return [self.departments, self.rules, self.scripts, self.synonyms, self.dictionary, self.alerts,
                self.places]

    def _current(self) -> DirectoryTab:
        tab = self.tabs.currentWidget()
        assert isinstance(tab, DirectoryTab)
        return tab

    def show_tab(self, tab: DirectoryTab) -> None:
        """Bring ``tab`` to the front (loading it the first time)."""
        self.tabs.setCurrentWidget(tab)
        tab.ensure_loaded()

    def set_engine(self, engine: SearchEngine | None) -> None:
        self.ctx.engine = engine

    def refresh_all(self) -> None:
        """Reload the tabs already shown (e.g. after an import elsewhere)."""
        for tab in self.all_tabs():
            if tab.loaded:
                tab.refresh()

    def _tab_changed(self, changes: object) -> None:
        # Departments feed the rules' picker; rules and scripts lists may show them.
        sender = self.sender()
        if sender is self.departments and self.rules.loaded:
            self.rules.refresh()
        self.changed.emit(changes)
