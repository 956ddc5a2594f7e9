"""Directory and rules (名录与规则): departments, routing rules, scripts, synonyms, dictionary, alerts, gazetteer.

``DirectoryWorkspace(kb, engine, tasks, user)`` is one widget with a tab per
list; the editor workspace mounts it as a tab. Every database call runs through
:class:`desktop.tasks.Op` (writes on the single write worker, followed there by
``engine.apply_changes``), so the window never waits on the database or on an
index rebuild. Tabs load the first time they are shown.

Screenshots (``docs/screenshots/editor-directory-*.png``)::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m desktop.editor.directory docs/screenshots
"""

from __future__ import annotations

import sys
from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from desktop.editor.directory_common import DirectoryContext, DirectoryTab
from desktop.editor.directory_lists import AlertsTab, DictionaryTab, PlacesTab, SynonymsTab
from desktop.editor.directory_records import DepartmentsTab, RulesTab, ScriptsTab
from desktop.services import SearchEngine
from desktop.tasks import TaskManager
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

    def __init__(self, kb: KnowledgeBase, engine: SearchEngine | None, tasks: TaskManager, user: str,
                 parent: QWidget | None = None, *, today: date | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("directoryWorkspace")
        self.ctx = DirectoryContext(kb=kb, engine=engine, tasks=tasks, user=user, today=today)
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


# ---------------------------------------------------------------------------- screenshots
def _screenshots(argv: list[str]) -> int:
    """Render every tab with the shipped sample data to ``<out>/editor-directory-<tab>.png``."""
    import tempfile
    import time
    from pathlib import Path

    from PySide6.QtWidgets import QApplication

    from indexer.engine import Engine
    from kb.paths import AppPaths
    from kb.sample import load_sample

    out = Path(argv[1] if len(argv) > 1 else "docs/screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(argv[:1])
    assert isinstance(app, QApplication)
    try:
        from desktop.style import stylesheet

        app.setStyleSheet(stylesheet())
    except Exception as exc:  # the style is optional for a screenshot
        print(f"no stylesheet: {exc}", file=sys.stderr)

    def settle(tasks: TaskManager, seconds: float = 0.4) -> None:
        deadline = time.monotonic() + 60
        while tasks.pending and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)

    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths(Path(tmp)).ensure()
        kb = KnowledgeBase.open(f"sqlite:///{paths.db_file}")
        load_sample(kb)
        kb.set_dict_words([("接诉即办", 3000, "nz"), ("居住证签注", 2000, "nz"), ("一刻钟便民生活圈", 1000, "nz")],
                          user="init")
        engine = Engine.open(paths, kb, sync=True)
        tasks = TaskManager()
        today = kb.clock().date()
        # Make a few departments stale so the flag shows: one never verified, one verified long ago.
        depts = kb.departments()
        for d, verified in ((depts[3], ""), (depts[7], "2025-09-01")):
            rec = {"external_id": d.external_id, "name": d.name, "short_name": d.short_name, "level": d.level,
                   "district": d.district, "parent": d.parent_external_id, "duties": d.duties, "phone": d.phone,
                   "duty_phone": d.duty_phone, "transfer_phone": d.transfer_phone, "address": d.address,
                   "hours": d.hours, "last_verified": verified, "active": True}
            kb.save_department(rec, user="init")
        ws = DirectoryWorkspace(kb, engine, tasks, "编辑李", today=today)
        ws.resize(1500, 880)
        ws.show()
        settle(tasks)

        def shot(name: str) -> None:
            settle(tasks)
            path = out / f"editor-directory-{name}.png"
            ws.grab().save(str(path))
            print(path)

        stale = [d for d in ws.departments.rows if d.external_id in ws.departments.stale_rows()]
        if stale:
            ws.departments._select(ws.departments.table, stale[0].external_id)
        shot("departments")

        ws.show_tab(ws.rules)
        settle(tasks)
        ws.rules.table.selectRow(4)
        shot("rules")

        ws.show_tab(ws.scripts)
        settle(tasks)
        for row in range(ws.scripts.table.rowCount()):
            view = ws.scripts.rows[row]
            if "{department}" in view.body and "{caller_name}" in view.body:
                ws.scripts.table.selectRow(row)
                break
        else:
            ws.scripts.table.selectRow(4)
        shot("scripts")

        ws.show_tab(ws.synonyms)
        settle(tasks)
        ws.synonyms.try_input.setText("医保卡丢了，社保怎么补办")
        shot("synonyms")

        ws.show_tab(ws.dictionary)
        settle(tasks)
        ws.dictionary.table.add_row(["12345热线", "", "nz"])
        ws.dictionary.try_input.setText("接诉即办的工单怎么查询居住证签注进度")
        shot("dictionary")

        ws.show_tab(ws.alerts)
        settle(tasks)
        ws.alerts.filter.setText("煤气")
        ws.alerts.table.add_row(["fire", "(煤气罐|液化气罐漏气", "trigger", "新增：气罐漏气"])
        ws.alerts.validated()
        ws.alerts.table.clearSelection()  # show the red row, not the selection colour
        ws.alerts.try_input.setText("楼道里有很大的煤气味，邻居家没人")
        shot("alerts")
        ws.alerts.filter.setText("河")
        ws.alerts.polarity_filter.setCurrentIndex(ws.alerts.polarity_filter.findData("sentences"))
        ws.alerts.try_input.setText("娃儿在河边耍，一下子滑下去了，在水头扑腾")  # no pattern says this
        shot("alerts-examples")

        ws.show_tab(ws.places)
        settle(tasks)
        ws.places.district_filter.setCurrentIndex(ws.places.district_filter.findData("朝阳区"))
        ws.places.try_input.setText("朝阳三里屯那边晚上一直施工")
        shot("places")

        ws.close()
        tasks.shutdown(wait=True)
        # Delete the widgets while Qt is still up: leaving them to interpreter shutdown can crash shiboken.
        ws.deleteLater()
        settle(tasks, 0.1)
        engine.close()
        kb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(_screenshots(sys.argv))
