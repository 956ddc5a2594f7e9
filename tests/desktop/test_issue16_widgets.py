"""Issue #16 §5 in the agent's window: a fire hazard is an amber work order, phones shown once."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from desktop.style import stylesheet
from desktop.widgets.alert_banner import AlertBanner
from desktop.widgets.suggestion_pane import department_html
from indexer.routing import DepartmentSuggestion
from kb.alerts import Alert

HAZARD = Alert("hazard", "消防安全隐患（派单，非紧急）", "登记工单派属地消防救援支队（消防监督举报 96119）",
               "我们会登记工单，派给属地消防救援部门核查处理。", "楼道里有人给电动车充电", 40)
FIRE = Alert("fire", "火警/燃气泄漏", "119", "我现在为您转接119。", "着火", 100)


def test_a_hazard_is_an_amber_work_order_not_a_transfer(qtbot: object) -> None:
    QApplication.instance().setStyleSheet(stylesheet(11))  # type: ignore[union-attr]
    banner = AlertBanner()
    qtbot.addWidget(banner)  # type: ignore[attr-defined]
    banner.set_alerts([HAZARD])
    assert banner.property("level") == "alertRisk"
    assert "96119" in banner.headline.text() and "请立即转" not in banner.headline.text()
    banner.set_alerts([HAZARD, FIRE])  # a real fire outranks it: red, transfer now
    assert banner.property("level") == "alertDanger"
    assert "请立即转 119" in banner.headline.text() and "消防安全隐患" in banner.others.text()


def test_a_departments_equal_phones_are_shown_once() -> None:
    d = DepartmentSuggestion(1, "D-RL", "北京市热力集团有限责任公司", 1.0, ("供热",),
                             {"hotline": "96069", "transfer": "96069"})
    shown = department_html(1, d)
    assert shown.count("96069") == 1 and "电话/转接 96069" in shown


def test_the_pane_says_when_no_answer_is_relevant(qtbot: object) -> None:
    from desktop.widgets.suggestion_pane import SuggestionPane
    from indexer.engine import Suggestion

    pane = SuggestionPane()
    qtbot.addWidget(pane)  # type: ignore[attr-defined]
    d = DepartmentSuggestion(1, "D-XF", "北京市消防救援总队", 0.5, ("职责含「消防通道」",), {"hotline": "119"})
    pane.set_suggestion(Suggestion(departments=(d,)))
    assert pane.state.text().startswith("没有找到相关口径") and "1 个承办单位" in pane.state.text()
    pane.set_suggestion(Suggestion())
    assert pane.state.text().startswith("没有找到相关口径")
