"""Screenshots of the agent workspace's main states, for docs/screenshots/.

    python tools/screenshots.py [--out docs/screenshots] [--basedir DIR]

Runs the real window on the sample knowledge base under Xvfb (it re-runs itself
with ``xvfb-run`` when there is no display), drives it with keystrokes the way
an agent would (F2, typing, Ctrl+1, Alt+1, …) and grabs the window from inside
the app once each state has settled. States: empty (bulletins and updates),
mid-call with suggestions (a heating complaint from a repeat caller), emergency
alert, repeat caller with several open cases, and the editor mode (F9).
With ``--accessibility``: a call and the editor at the largest font size (22 pt),
the high-contrast theme (Ctrl+Shift+H) and the F1 key help.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZE = (1366, 768)
REPEAT_PHONE = "13911112222"
NOISE_PHONE = "13722223333"
NEW_PHONE = "13655556666"


def _ensure_display(argv: list[str]) -> None:
    """Re-run under Xvfb with a 1366×768 screen (the smallest screen agents use)."""
    if os.environ.get("DISPLAY") or os.environ.get("HUIYIN_SHOTS_CHILD"):
        return
    if shutil.which("xvfb-run") is None:
        sys.exit("需要 xvfb-run（apt-get install xvfb xauth）")
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env["HUIYIN_SHOTS_CHILD"] = "1"
    cmd = ["xvfb-run", "-a", "-s", f"-screen 0 {SIZE[0]}x{SIZE[1]}x24", sys.executable, *argv]
    sys.exit(subprocess.call(cmd, env=env))


def _department(kb: object, word: str) -> str:
    departments = kb.directory.departments()  # type: ignore[attr-defined]
    return str(next((d.external_id for d in departments if word in d.name), departments[0].external_id))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--basedir", help="data folder to use (default: a fresh temporary one)")
    parser.add_argument("--accessibility", action="store_true",
                        help="the largest font, the high-contrast theme and the F1 help instead")
    args = parser.parse_args()
    _ensure_display([str(Path(__file__).resolve()), *sys.argv[1:]])
    os.environ.pop("QT_QPA_PLATFORM", None)

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget

    from desktop.app import open_knowledge_base
    from desktop.main_window import FONT_MAX, MainWindow
    from desktop.services import Services
    from desktop.tasks import TaskManager
    from indexer.engine import Engine
    from kb.actor import Actor
    from kb.dto import WorkOrderDraft
    from kb.paths import AppPaths
    from kb.settings import Settings

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    base = Path(args.basedir) if args.basedir else Path(tempfile.mkdtemp(prefix="huiyin-shots-"))
    paths = AppPaths(base).ensure()
    kb = open_knowledge_base(f"sqlite:///{paths.db_file}")
    now = datetime.now().replace(microsecond=0)
    if not kb.work_orders.by_phone(REPEAT_PHONE):
        kb.work_orders.save(WorkOrderDraft(
            id="5c1c2f9e-0000-4000-8000-000000000001", phone=REPEAT_PHONE, caller_name="李先生",
            received_at=now - timedelta(days=4),
            text="家里暖气不热，屋里只有十五度，已经好几天了", request_type="complaint",
            handling="dispatched", department=_department(kb, "热力"),
            due_at=now + timedelta(days=3)), actor=Actor("demo", "agent"))
    if not kb.work_orders.by_phone(NOISE_PHONE):
        for n, (days, text) in enumerate(((9, "小区旁边工地夜里十二点还在施工，噪音太大"),
                                          (3, "工地夜间施工又开始了，上次反映后停了两天"))):
            kb.work_orders.save(WorkOrderDraft(
                id=f"5c1c2f9e-0000-4000-8000-00000000001{n}", phone=NOISE_PHONE, caller_name="赵女士",
                received_at=now - timedelta(days=days, hours=2), text=text, request_type="complaint",
                address="朝阳区望京街道", handling="dispatched", department=_department(kb, "城市管理"),
                due_at=now + timedelta(days=2)), actor=Actor("demo", "agent"))
    app = QApplication(sys.argv[:1])
    tasks = TaskManager()
    engine = Engine.open(paths, kb, executor=tasks.background, sync=True)
    settings = Settings(user="张敏", seat="A07")  # an agent: the editor mode is switched on for the last shot
    if args.accessibility:
        settings = Settings(user="张敏", seat="A07", font_size=FONT_MAX)
    window = MainWindow(Services(kb=kb, paths=paths, settings=settings, tasks=tasks))
    window.set_engine(engine)
    window.resize(*SIZE)
    window.show()

    def focus_window() -> None:
        # No window manager under Xvfb: give the window the X focus like one would.
        window.activateWindow()
        if shutil.which("xdotool"):
            subprocess.call(["xdotool", "windowfocus", str(int(window.winId()))], stderr=subprocess.DEVNULL)

    def press(key: Qt.Key, mod: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        target = QApplication.focusWidget() or window
        QTest.keyClick(target, key, mod)

    def type_text(text: str) -> None:
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QKeyEvent

        target = QApplication.focusWidget()
        assert isinstance(target, QWidget)
        for ch in text:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(target, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))

    def shot(name: str) -> Callable[[], None]:
        def grab() -> None:
            path = out / f"{name}.png"
            window.grab().save(str(path))
            print(f"saved {path}")
        return grab

    def new_call(phone: str, text: str, request_type_steps: int = 0) -> None:
        press(Qt.Key.Key_F2)
        if not window.agent.calls.call_active or window.agent.call_form.text.toPlainText():
            press(Qt.Key.Key_F2)  # confirm discarding the previous demo call
        type_text(phone)
        press(Qt.Key.Key_Tab)
        type_text({NEW_PHONE: "王女士", NOISE_PHONE: "赵女士"}.get(phone, "李先生"))
        press(Qt.Key.Key_Tab)
        for _ in range(request_type_steps):
            press(Qt.Key.Key_Down)
        press(Qt.Key.Key_Tab)
        type_text(text)

    def mid_call() -> None:
        new_call(REPEAT_PHONE, "我家暖气不热，屋里才十五度，家里有老人孩子，上周已经反映过一次", request_type_steps=2)

    def pick() -> None:
        press(Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)  # open suggested answer 1

    def dispatch() -> None:
        press(Qt.Key.Key_Escape)
        press(Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)  # dispatch to suggested department 1

    def emergency() -> None:
        new_call(NEW_PHONE, "楼道里有很大的煤气味，好像是楼上漏气了")

    def repeat() -> None:
        new_call(NOISE_PHONE, "望京这边工地晚上又在施工，吵得睡不着，已经第三次打电话了", request_type_steps=2)

    def editor_mode() -> None:
        from dataclasses import replace

        window.agent.calls.call_active = False  # the demo call is not saved
        window.apply_settings(replace(window.services.settings, role="editor"))
        press(Qt.Key.Key_F9)

    def open_first_entry() -> None:
        editor = window.editor
        rows = editor.entries.table.rows if editor is not None else []
        heating = [r for r in rows if r.entry.status == "published" and "暖气" in r.entry.title]
        if editor is not None and (heating or rows):
            editor.entries.table.select_entry((heating or rows)[0].entry.id)

    steps: list[tuple[int, Callable[[], None]]] = [
        (600, focus_window), (900, shot("01-empty")),
        (200, mid_call), (1200, pick), (700, dispatch), (900, shot("02-mid-call-suggestions")),
        (200, emergency), (1200, shot("03-emergency-alert")),
        (200, repeat), (1500, pick), (900, shot("04-repeat-caller")),
        (200, editor_mode), (4000, open_first_entry), (2000, shot("05-editor-mode")),
    ]
    if args.accessibility:
        def gas_call() -> None:
            new_call(REPEAT_PHONE, "我家暖气不热，屋里才十五度，楼道里还有很大的煤气味", request_type_steps=2)

        def agent_at(size: int) -> None:
            press(Qt.Key.Key_F9)
            window.apply_font_size(size)

        def high_contrast() -> None:
            press(Qt.Key.Key_H, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)

        steps = [
            (600, focus_window), (200, gas_call), (1200, pick), (900, shot("06-largest-font-call")),
            (200, editor_mode), (2500, open_first_entry), (1500, shot("07-largest-font-editor")),
            (200, lambda: agent_at(11)), (1000, high_contrast), (1000, mid_call), (4000, pick),
            (1200, shot("08-high-contrast")),
            (200, lambda: press(Qt.Key.Key_F1)), (800, shot("09-key-help")),
        ]
    delay = 0
    for wait, fn in steps:
        delay += wait
        QTimer.singleShot(delay, fn)
    QTimer.singleShot(delay + 300, app.quit)
    rc = app.exec()
    window.agent.calls.call_active = False  # demo calls are not drafts
    tasks.shutdown(wait=True)
    window.close()
    window.deleteLater()
    app.processEvents()
    engine.close()
    kb.close()
    return rc


if __name__ == "__main__":
    sys.exit(main())
