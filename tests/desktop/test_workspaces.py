"""The window shell hosts the workspaces registered in desktop.workspaces; the agent workspace stands alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QSplitter, QWidget

from desktop.accessibility import Announcer
from desktop.agent.workspace import AgentWorkspace
from desktop.main_window import MainWindow
from desktop.services import SearchEngine, Services
from desktop.ui_state import UiState
from desktop.widgets.status import StatusPanel
from desktop.workspaces import WORKSPACES, Workspace, WorkspaceSpec
from kb.actor import Actor
from kb.dto import Changes
from tests.desktop.conftest import REPEAT_PHONE, Env, type_text, wait_idle


class TrackingWorkspace:
    """A third mode that exists in this test only (registered in the window's list, nowhere else)."""

    def __init__(self, host: object) -> None:
        self.host = host
        self.widget = QWidget()
        self.widget.setObjectName("trackingPage")
        self.splitter = QSplitter(self.widget)
        self.splitter.addWidget(QWidget())
        self.splitter.addWidget(QWidget())
        self.engine: SearchEngine | None = None
        self.actor: Actor | None = None
        self.refusal = ""
        self.entered = self.left = 0
        self.changes: list[Changes] = []

    @property
    def page(self) -> QWidget:
        return self.widget

    @property
    def keys(self) -> Sequence[tuple[str, str]]:
        return [("Ctrl+T", "跟踪下一张工单")]

    def main_splitter(self) -> QSplitter | None:
        return self.splitter

    def set_engine(self, engine: SearchEngine) -> None:
        self.engine = engine

    def set_actor(self, actor: Actor) -> None:
        self.actor = actor

    def leave_refusal(self) -> str:
        return self.refusal

    def enter(self) -> None:
        self.entered += 1

    def leave(self) -> None:
        self.left += 1

    def apply_changes(self, changes: Changes) -> None:
        self.changes.append(changes)


def tracking_spec(roles: frozenset[str] | None = None) -> WorkspaceSpec:
    return WorkspaceSpec("tracking", "工单跟踪", "跟踪模式", "工单跟踪", roles, TrackingWorkspace)


def press(w: QWidget, key: Qt.Key) -> None:
    QTest.keyClick(w, key)


def test_a_workspace_registered_in_one_place_becomes_a_mode(qtbot: object, env: Env, tasks: object) -> None:
    w = MainWindow(env.services(tasks), workspaces=[*WORKSPACES, tracking_spec()])  # type: ignore[arg-type]
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.set_engine(env.engine)
    w.show()
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    w.activateWindow()
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]
    tracking = w.workspaces["tracking"]
    assert isinstance(tracking, TrackingWorkspace)
    assert tracking.engine is env.engine and w.editor is None  # an agent seat: no editor, the new mode yes
    assert w.status.mode.text() == "接听模式 · F9 工单跟踪"

    press(w, Qt.Key.Key_F9)
    assert w.mode == "tracking" and w.modes.currentWidget() is tracking.page and tracking.entered == 1
    assert w.status.mode.text() == "跟踪模式 · F9 回到接听"
    assert not any(sc.isEnabled() for sc in w.agent._shortcuts)  # the call's keys are off in another mode
    press(w, Qt.Key.Key_F1)
    assert w.key_help.is_open and any("跟踪下一张工单" in t for t in w.key_help.texts())
    press(w, Qt.Key.Key_F1)

    tracking.refusal = "还有未写完的回访记录"
    press(w, Qt.Key.Key_F9)
    assert w.mode == "tracking" and w.status.currentMessage() == "还有未写完的回访记录"
    tracking.refusal = ""
    press(w, Qt.Key.Key_F9)
    assert w.mode == "agent" and tracking.left == 1 and all(sc.isEnabled() for sc in w.agent._shortcuts)

    # Changes from one workspace reach the others; settings reach every workspace; splitters are remembered.
    w.publish_changes(Changes(departments=True), source=w.agent)
    assert tracking.changes == [Changes(departments=True)]
    assert set(w.splitters()) == {"agent", "tracking"}
    w.agent.calls.call_active = False
    w.close()
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]
    assert UiState(env.paths.root).value("mode") == "agent"


def test_a_workspace_for_other_roles_is_not_created(qtbot: object, env: Env, tasks: object) -> None:
    specs = [*WORKSPACES, tracking_spec(frozenset({"supervisor"}))]
    w = MainWindow(env.services(tasks), workspaces=specs)  # type: ignore[arg-type]
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    assert "tracking" not in w.workspaces and not w.set_mode("tracking") and w.status.mode.isHidden()
    w.apply_settings(replace(w.services.settings, role="supervisor"))
    assert "tracking" in w.workspaces and w.set_mode("tracking")
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]
    w.close()
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]


class Host:
    """The least a workspace needs of a window: services injected, a status bar, an announcer."""

    def __init__(self, services: Services, engine: SearchEngine | None) -> None:
        self.services = services
        self.tasks = services.tasks
        self.today: date | None = None
        self.status = StatusPanel()
        self.announcer = Announcer(self.status)
        self.ui_state = UiState(services.paths.root)
        self._engine = engine
        self.failures: list[BaseException] = []
        self.published: list[tuple[Changes, Workspace | None]] = []

    @property
    def engine(self) -> SearchEngine | None:
        return self._engine

    def report_failure(self, exc: BaseException) -> None:
        self.failures.append(exc)

    def refresh_status(self) -> None:
        pass

    def publish_changes(self, changes: Changes, source: Workspace | None = None) -> None:
        self.published.append((changes, source))


def agent_alone(qtbot: object, env: Env, tasks: object) -> tuple[AgentWorkspace, Host]:
    host = Host(env.services(tasks), env.engine)  # type: ignore[arg-type]
    agent = AgentWorkspace(host)
    qtbot.addWidget(agent)  # type: ignore[attr-defined]
    agent.set_engine(env.engine)
    agent.load_reference_data()
    agent.resize(1200, 700)
    agent.show()
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]
    return agent, host


def test_the_agent_workspace_runs_a_call_without_the_window(qtbot: object, env: Env, tasks: object) -> None:
    agent, host = agent_alone(qtbot, env, tasks)
    agent.calls.new_call()
    type_text(agent.caller_bar.phone, REPEAT_PHONE)
    # The alert shows within the keystroke, from the engine's own detector (no wait for the suggestion).
    type_text(agent.call_form.text, "三里屯家里暖气不热，楼道里有煤气味")
    assert agent.suggest.alerts_fn == env.engine.alerts
    assert [a.kind for a in agent.alert_banner.alerts] == ["fire"]
    with qtbot.waitSignal(agent.suggest.suggestion_shown, timeout=5000) as shown:  # type: ignore[attr-defined]
        pass
    suggestion = shown.args[0]
    # What the window shows is what the engine's Suggestion says: repeat callers, place, urgency.
    assert [o.id for o in suggestion.repeat] == ["00000000-0000-4000-8000-000000000001"]
    assert agent.repeat_panel.orders.count() == 1 and agent.caller_bar.repeat_badge.text() == "重复来电 1 次"
    assert suggestion.urgency == "danger" and agent.calls.draft.urgency == "danger"
    assert agent.calls.draft.district == suggestion.place.district == "朝阳区"

    with qtbot.waitSignal(agent.calls.saved, timeout=5000) as saved:  # type: ignore[attr-defined]
        agent.calls.save()
    order = env.kb.work_orders.get(saved.args[0].id)
    assert order.urgency == "danger" and order.phone.endswith(REPEAT_PHONE) and not host.failures
    assert agent.calls.draft.saved and not agent.calls.call_active
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]


def test_a_phone_without_a_description_asks_for_repeat_callers_alone(qtbot: object, env: Env,
                                                                     tasks: object) -> None:
    agent, _host = agent_alone(qtbot, env, tasks)
    shown: list[object] = []
    agent.suggest.suggestion_shown.connect(shown.append)
    agent.calls.new_call()
    type_text(agent.caller_bar.phone, REPEAT_PHONE)
    qtbot.waitUntil(lambda: agent.repeat_panel.orders.count() == 1, timeout=5000)  # type: ignore[attr-defined]
    assert not shown  # no description: no suggestion ran, the phone lookup did
    agent.calls.call_active = False


def test_the_phone_settling_after_the_description_asks_the_engine_once(qtbot: object, env: Env,
                                                                        tasks: object) -> None:
    agent, _host = agent_alone(qtbot, env, tasks)
    shown: list[object] = []
    agent.suggest.suggestion_shown.connect(shown.append)
    agent.calls.new_call()
    type_text(agent.caller_bar.phone, REPEAT_PHONE)
    type_text(agent.call_form.text, "家里暖气不热")
    for timer in (agent.suggest.suggest_timer, agent.suggest.phone_timer):
        timer.stop()
    agent.suggest.run_suggest()  # the description's debounce ends first...
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]
    agent.suggest.run_repeat_lookup()  # ...then the phone's: the suggestion already has its repeat callers
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]
    assert len(shown) == 1 and agent.repeat_panel.orders.count() == 1
    type_text(agent.caller_bar.phone, "9")  # another number: asked again, with it
    agent.suggest.phone_timer.stop()
    agent.suggest.run_repeat_lookup()
    wait_idle(qtbot, tasks)  # type: ignore[arg-type]
    assert len(shown) == 2 and agent.repeat_panel.isHidden()
    agent.calls.call_active = False
