"""``huiyin --self-test --basedir DIR``: prove a fresh install works end to end, print JSON.

Used from source and against the PyInstaller bundle. Exit code 0 when every
step passed, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

from kb.paths import AppPaths
from kb.settings import Settings

SEARCH_QUERY = "暖气不热"
SUGGEST_TEXT = "我家暖气不热，屋里才十几度"
ALERT_TEXT = "我闻到家里有很大的煤气味"


def run_self_test(paths: AppPaths, settings: Settings, db_url: str) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    report: dict[str, Any] = {"ok": False, "frozen": bool(getattr(sys, "frozen", False)),
                              "basedir": str(paths.root), "steps": {}}
    steps: dict[str, Any] = report["steps"]
    state: dict[str, Any] = {}

    def step(name: str, fn: Callable[[], Any]) -> bool:
        started = time.perf_counter()
        try:
            detail = fn()
            steps[name] = {"ok": True, "ms": round((time.perf_counter() - started) * 1000), **(detail or {})}
            return True
        except Exception as exc:
            steps[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}",
                           "trace": traceback.format_exc(limit=4)}
            return False

    def open_kb() -> dict[str, Any]:
        from desktop.app import open_knowledge_base

        paths.ensure()
        state["kb"] = kb = open_knowledge_base(db_url)
        st = kb.stats()
        return {"database": kb.url, "entries": st.entries, "departments": st.departments}

    def safety_lexicon() -> dict[str, Any]:
        from kb.sample import check_lexicon

        check = check_lexicon(state["kb"])
        if not check.ok:
            raise AssertionError(check.summary())
        return {"alert_kinds": check.alert_kinds, "triggers": check.triggers, "places": check.places}

    def build_index() -> dict[str, Any]:
        from concurrent.futures import ThreadPoolExecutor

        from indexer.engine import Engine

        state["background"] = background = ThreadPoolExecutor(max_workers=2, thread_name_prefix="huiyin-selftest")
        state["engine"] = engine = Engine.open(paths, state["kb"], executor=background, sync=True)
        st = engine.index_status()
        return {"indexed": st.entries, "revision": st.revision}

    def search() -> dict[str, Any]:
        hits = state["engine"].search(SEARCH_QUERY, limit=5)
        if not hits:
            raise AssertionError(f"no hit for {SEARCH_QUERY!r}")
        return {"query": SEARCH_QUERY, "top": hits[0].title, "hits": len(hits)}

    def suggest() -> dict[str, Any]:
        s = state["engine"].suggest(SUGGEST_TEXT, request_type="complaint")
        if not s.answers:
            raise AssertionError("no suggested answer")
        return {"answers": [h.title for h in s.answers[:3]], "departments": [d.name for d in s.departments[:3]]}

    def alert() -> dict[str, Any]:
        alerts = state["engine"].alerts(ALERT_TEXT)
        if not alerts:
            raise AssertionError("no alert for a gas leak")
        return {"alert": alerts[0].kind, "transfer_to": alerts[0].transfer_to}

    def window() -> dict[str, Any]:
        from PySide6.QtWidgets import QApplication

        from desktop.main_window import MainWindow
        from desktop.services import Services
        from desktop.tasks import TaskManager

        app = QApplication.instance() or QApplication(sys.argv[:1])
        assert isinstance(app, QApplication)
        from dataclasses import replace

        tasks = TaskManager()
        # As an admin, so the editor workspace is mounted and opened too (F9).
        w = MainWindow(Services(kb=state["kb"], paths=paths, settings=replace(settings, role="admin"), tasks=tasks))
        w.set_engine(state["engine"])
        w.resize(1366, 740)
        w.show()

        def settle() -> None:
            deadline = time.monotonic() + 5
            while tasks.pending and time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.01)
            app.processEvents()

        settle()
        grabbed = not w.grab().isNull()
        editor = w.set_mode("editor")
        settle()
        editor = editor and w.editor is not None and w.editor.entries.table.rowCount() > 0
        workspaces = list(w.workspaces)
        platform = app.platformName()
        w.close()
        tasks.shutdown(wait=True)
        app.processEvents()
        if not editor:
            raise AssertionError("editor workspace did not open")
        return {"qt_platform": platform, "grabbed": grabbed, "editor_mode": editor, "workspaces": workspaces}

    # An incomplete safety lexicon fails the self-test but does not stop it: the rest is still worth knowing.
    plan = (("open_database", open_kb, True), ("safety_lexicon", safety_lexicon, False),
            ("build_index", build_index, True), ("search", search, True), ("suggest", suggest, True),
            ("alert", alert, True), ("main_window", window, True))
    for name, fn, fatal in plan:
        if not step(name, fn) and fatal:
            break
    report["ok"] = all(s["ok"] for s in steps.values()) and len(steps) == len(plan)
    engine = state.get("engine")
    if engine is not None:
        engine.close()
    if "background" in state:
        state["background"].shutdown(wait=True)
    if "kb" in state:
        state["kb"].close()
    print(json.dumps(report, ensure_ascii=False, default=str), flush=True)
    return 0 if report["ok"] else 1
