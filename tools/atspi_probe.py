"""What a screen reader on Linux gets from the window, over a real AT-SPI bus (as Orca reads it).

    dbus-run-session -- python tools/atspi_probe.py     # prints the events heard and the tree

Starts the accessibility bus, an AT client (system ``python3`` with ``gir1.2-atspi-2.0``,
this file with ``--listen``) and the window under Xvfb with Qt's AT-SPI bridge on, on the
sample knowledge base. The window takes a heating complaint, then a gas leak; the client
prints every ``object:announcement`` (detail1 1 = polite, 2 = assertive) and, at the end,
the accessible tree (role, name, description). Exit 0 when both the polite suggestion count
and the assertive alert were heard. Needs: xvfb, at-spi2-core, gir1.2-atspi-2.0, python3-gi.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_SECONDS = 40  # the window's life; the client dumps the tree before it ends


def listen() -> None:
    import gi

    gi.require_version("Atspi", "2.0")
    from gi.repository import Atspi, GLib

    def heard(event: object) -> None:
        print(f"ANNOUNCEMENT politeness={event.detail1} {event.any_data}", flush=True)  # type: ignore[attr-defined]

    listener = Atspi.EventListener.new(heard)
    listener.register("object:announcement")

    def dump(node: object, depth: int, out: list[str]) -> None:
        if depth > 1 and not node.get_state_set().contains(Atspi.StateType.SHOWING):  # type: ignore[attr-defined]
            return
        role, name, desc = node.get_role_name(), node.get_name(), node.get_description()  # type: ignore[attr-defined]
        if name or desc or role not in ("filler", "panel", "layered pane", "scroll pane", "viewport"):
            out.append(f"{'  ' * depth}[{role}] {name!r}" + (f" ({desc})" if desc else ""))
        for i in range(node.get_child_count()):  # type: ignore[attr-defined]
            dump(node.get_child_at_index(i), depth + 1, out)  # type: ignore[attr-defined]

    def tree() -> bool:
        desktop = Atspi.get_desktop(0)
        for i in range(desktop.get_child_count()):
            app = desktop.get_child_at_index(i)
            if app is not None and app.get_name() == "huiyin-probe":
                out: list[str] = []
                dump(app, 0, out)
                print("TREE\n" + "\n".join(out), flush=True)
        return False

    GLib.timeout_add((APP_SECONDS - 8) * 1000, tree)
    GLib.timeout_add((APP_SECONDS - 2) * 1000, lambda: (Atspi.event_quit(), False)[1])
    Atspi.event_main()


def window() -> int:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QEvent, Qt, QTimer
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    from desktop.app import open_knowledge_base
    from desktop.main_window import MainWindow
    from desktop.services import Services
    from desktop.tasks import TaskManager
    from indexer.engine import Engine
    from kb.paths import AppPaths
    from kb.settings import Settings

    app = QApplication(sys.argv[:1])
    app.setApplicationName("huiyin-probe")
    paths = AppPaths(Path(tempfile.mkdtemp(prefix="huiyin-atspi-"))).ensure()
    kb = open_knowledge_base(f"sqlite:///{paths.db_file}")
    tasks = TaskManager()
    engine = Engine.open(paths, kb, executor=tasks.background, sync=True)
    w = MainWindow(Services(kb=kb, paths=paths, settings=Settings(user="张敏", seat="A07"), tasks=tasks))
    w.set_engine(engine)
    w.resize(1366, 740)
    w.show()

    def type_text(text: str) -> None:
        for ch in text:
            for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
                QApplication.sendEvent(w.agent.call_form.text, QKeyEvent(kind, Qt.Key.Key_unknown,
                                                                   Qt.KeyboardModifier.NoModifier, ch))

    def call() -> None:
        w.agent.calls.new_call()
        w.agent.call_form.text.setFocus()
        type_text("我家暖气不热，屋里才十五度")

    QTimer.singleShot(4000, call)
    QTimer.singleShot(12000, lambda: type_text("，楼道里还有很大的煤气味"))
    QTimer.singleShot(APP_SECONDS * 1000, app.quit)
    rc = app.exec()
    w.agent.calls.call_active = False  # the probe's call is no draft
    tasks.shutdown(wait=True)
    engine.close()
    kb.close()
    return rc


def main() -> int:
    if "--listen" in sys.argv:
        listen()
        return 0
    if "--window" in sys.argv:
        return window()
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        sys.exit("run it inside a session bus: dbus-run-session -- python tools/atspi_probe.py")
    bus = subprocess.Popen(["/usr/libexec/at-spi-bus-launcher", "--launch-immediately"])
    time.sleep(1)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    env |= {"QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1", "QT_ACCESSIBILITY": "1"}
    client = subprocess.Popen(["/usr/bin/python3", __file__, "--listen"], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    subprocess.call(["xvfb-run", "-a", "-s", "-screen 0 1366x768x24", sys.executable, __file__, "--window"],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out, _ = client.communicate(timeout=30)
    bus.terminate()
    print(out)
    polite = any(line.startswith("ANNOUNCEMENT politeness=1 推荐") for line in out.splitlines())
    assertive = any(line.startswith("ANNOUNCEMENT politeness=2 紧急警报") for line in out.splitlines())
    print(f"polite suggestion count heard: {polite}; assertive alert heard: {assertive}")
    return 0 if polite and assertive else 1


if __name__ == "__main__":
    sys.exit(main())
