"""Screenshots of the editor workspace's states, for docs/screenshots/editor-*.png.

    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python tools/screenshots_editor.py docs/screenshots

It builds a throwaway knowledge base from the shipped sample in a temporary
directory; nothing outside it is touched.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from desktop.editor.workspace import EditorWorkspace  # noqa: E402
from desktop.tasks import TaskManager  # noqa: E402
from indexer.engine import Engine  # noqa: E402
from kb import editorial as ed  # noqa: E402
from kb.actor import Actor  # noqa: E402
from kb.paths import AppPaths  # noqa: E402
from kb.sample import load_sample  # noqa: E402
from kb.service import KnowledgeBase  # noqa: E402

SIZE = (1366, 768)  # the smallest screen agents and editors use


def _settle(app: QApplication, tasks: TaskManager, seconds: float = 0.4) -> None:
    deadline = time.monotonic() + 20
    while tasks.pending and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _save(widget: QWidget, out: Path, name: str) -> None:
    path = out / f"editor-{name}.png"
    widget.grab().save(str(path))
    print(path)


def _seed(kb: KnowledgeBase) -> tuple[int, int]:
    """Sample data plus an edit history, agent feedback and unanswered searches."""
    load_sample(kb)
    entries = list(kb.entries.iter_all())
    first, second = entries[0], entries[1]
    kb.entries.save(replace(ed.draft_of(first), answer=first.answer.replace("。", "，详情可拨打12345咨询。", 1)),
                    actor=Actor("编辑张", "editor"), entry_id=first.id, note="补充咨询渠道")
    for _ in range(4):
        kb.feedback.log_search("search", "共享单车乱停放", 0, actor=Actor("坐席01", "agent"))
    for _ in range(2):
        kb.feedback.log_search("search", "新能源车充电桩安装", 0, actor=Actor("坐席02", "agent"))
    kb.feedback.log_search("suggest", "小区电梯坏了没人修", 3, actor=Actor("坐席03", "agent"))
    kb.feedback.add(second.id, "outdated", note="办理地点已调整", actor=Actor("坐席04", "agent"))
    kb.feedback.add(second.id, "outdated", actor=Actor("坐席05", "agent"))
    kb.feedback.add(first.id, "wrong", note="电话号码不对", actor=Actor("坐席06", "agent"))
    return first.id, second.id


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "docs/screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(argv[:1])
    assert isinstance(app, QApplication)
    try:
        from desktop.style import stylesheet

        app.setStyleSheet(stylesheet())
    except Exception as exc:  # the style is optional for a screenshot
        print(f"no stylesheet: {exc}", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        paths = AppPaths(Path(tmp)).ensure()
        kb = KnowledgeBase.open(f"sqlite:///{paths.db_file}")
        first_id, _second_id = _seed(kb)
        tasks = TaskManager()
        engine = Engine.open(paths, kb, executor=tasks.background, sync=True)
        ws = EditorWorkspace(kb, engine, tasks, Actor("编辑李", "editor"), run_schedule=False)
        ws.resize(*SIZE)
        ws.show()
        _settle(app, tasks)

        ws.entries.table.select_entry(first_id)
        _settle(app, tasks)
        ws.form.answer.setPlainText(ws.form.answer.toPlainText() + "\n如有疑问请联系承办单位。")
        _settle(app, tasks)
        _save(ws, out, "entry")

        ws.right_tabs.setCurrentWidget(ws.history)
        ws.history.list.setCurrentRow(0)
        _settle(app, tasks)
        _save(ws, out, "history")

        # A conflict: someone else saves while this editor has unsaved changes.
        current = kb.entries.get(first_id)
        kb.entries.save(replace(ed.draft_of(current), answer=current.answer + "（已核实）"),
                        actor=Actor("编辑王", "editor"), entry_id=first_id, expected_revision=current.revision)
        ws.right_tabs.setCurrentWidget(ws.form)
        ws.form.request_save()
        _settle(app, tasks)
        _save(ws, out, "conflict")
        ws.resolve("cancel")

        ws.left.setCurrentWidget(ws.gaps)
        _settle(app, tasks)
        _save(ws, out, "gaps")

        bad = Path(tmp) / "departments.csv"
        bad.write_text("编号,名称,层级,电话,核实日期\nD-T1,东城区园林绿化局,district,010-64000000,2026-03-01\n"
                       "D-T2,,district,010-64000001,\nD-T3,西城区某局,county,,2026/13/01\n", encoding="utf-8-sig")
        ws.left.setCurrentWidget(ws.importer)
        ws.importer.kind.setCurrentIndex(ws.importer.kind.findData("departments"))
        ws.importer.path.setText(str(bad))
        ws.importer.run_check()
        _settle(app, tasks)
        _save(ws, out, "import")

        ws.entries.filters.flagged.setChecked(True)
        ws.left.setCurrentWidget(ws.entries)
        _settle(app, tasks)
        _save(ws, out, "flagged")

        ws.close()
        tasks.shutdown(wait=True)
        engine.close()
        kb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
