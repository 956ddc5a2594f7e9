"""Screenshots of the directory editor's tabs (名录与规则), for docs/screenshots/editor-directory-*.png.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshots_directory.py docs/screenshots

Renders every tab of :class:`desktop.editor.directory.DirectoryWorkspace` with the
shipped sample data (a few departments made stale, a bad alert pattern, the
"试一试" boxes filled in) to ``<out>/editor-directory-<tab>.png``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.editor.directory import DirectoryWorkspace  # noqa: E402
from desktop.editor.directory.departments import department_record  # noqa: E402
from desktop.tasks import TaskManager  # noqa: E402
from indexer.engine import Engine  # noqa: E402
from kb.actor import Actor  # noqa: E402
from kb.paths import AppPaths  # noqa: E402
from kb.sample import load_sample  # noqa: E402
from kb.service import KnowledgeBase  # noqa: E402


def main(argv: list[str]) -> int:
    """Render every tab to ``<argv[1] or docs/screenshots>/editor-directory-<tab>.png``."""
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
        kb.lexicons.set_dict_words([("接诉即办", 3000, "nz"), ("居住证签注", 2000, "nz"),
                                    ("一刻钟便民生活圈", 1000, "nz")], actor=Actor("init", "editor"))
        tasks = TaskManager()
        engine = Engine.open(paths, kb, executor=tasks.background, sync=True)
        today = kb.store.clock().date()
        # Make a few departments stale so the flag shows: one never verified, one verified long ago.
        depts = kb.directory.departments()
        for d, verified in ((depts[3], ""), (depts[7], "2025-09-01")):
            kb.directory.save_department({**department_record(d), "last_verified": verified, "active": True},
                                         actor=Actor("init", "editor"))
        ws = DirectoryWorkspace(kb, engine, tasks, Actor("编辑李", "editor"), today=today)
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
    raise SystemExit(main(sys.argv))
