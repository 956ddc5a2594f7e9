"""Desktop fixtures: a seeded knowledge base + index built once per session, copied per test.

Widgets are built against a real KnowledgeBase on SQLite and a real Engine;
jieba is loaded once per session.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QTableWidget, QTableWidgetItem, QWidget

from desktop.services import Services
from desktop.tasks import TaskManager
from indexer import analysis
from indexer.engine import Engine
from kb.actor import Actor
from kb.dto import WorkOrderDraft
from kb.exchange import import_rows
from kb.paths import AppPaths
from kb.service import KnowledgeBase
from kb.settings import Settings
from tests.helpers import InlineExecutor, agent, editor

REPEAT_PHONE = "13800138000"

DEPARTMENTS = [
    {"external_id": "D-RL", "name": "北京市热力集团", "short_name": "热力集团", "level": "enterprise",
     "phone": "96069", "duty_phone": "010-65120000", "duties": "集中供热、供暖报修"},
    {"external_id": "D-CY", "name": "朝阳区人民政府", "short_name": "朝阳区政府", "level": "district",
     "district": "朝阳区", "phone": "010-65090000"},
    {"external_id": "D-RSJ", "name": "北京市人力资源和社会保障局", "short_name": "市人力社保局", "level": "city",
     "phone": "12333", "duties": "社会保险"},
    {"external_id": "D-CGW", "name": "朝阳区城市管理委员会", "short_name": "朝阳区城管委", "level": "district",
     "district": "朝阳区", "parent": "D-CY", "phone": "010-65001234"},
]
ENTRIES = [
    {"external_id": "E-HEAT", "title": "家里暖气不热怎么办", "status": "published",
     "answer": "供暖期内卧室、起居室温度不应低于18℃。暖气不热可先检查阀门是否打开、是否需要放气；"
               "仍不热的，请拨打供热单位报修电话，热力集团热线96069，24小时受理。",
     "aliases": ["暖气不热", "家里冷", "屋里温度低"], "keywords": ["供暖", "暖气", "室温"],
     "category": "城乡建设/供暖", "department": "D-RL", "basis": "《北京市供热采暖管理办法》第十七条",
     "valid_from": "2020-01-01"},
    {"external_id": "E-HEATFEE", "title": "供暖费缴纳标准", "status": "published",
     "answer": "居民供暖费按建筑面积收取，每平方米每供暖季30元。", "keywords": ["供暖费", "暖气费"],
     "category": "城乡建设/供暖", "department": "D-RL", "basis": "京发改〔2019〕1号",
     "valid_from": "2020-01-01"},
    # No entry with valid_to here (the counts below stay simple): validity badges are tested on the widget,
    # expiry in test_main_window_modes.test_expired_answers_are_withdrawn_at_start.
    {"external_id": "E-NOISE", "title": "夜间施工噪音扰民", "status": "published",
     "answer": "夜间22时至次日6时禁止产生噪声的建筑施工作业，抢修抢险除外。可派单至属地城管执法部门查处。",
     "aliases": ["晚上施工太吵", "工地噪音"], "keywords": ["噪音", "施工"], "category": "城市管理/噪声",
     "department": "D-CGW", "basis": "《北京市环境噪声污染防治办法》"},
    {"external_id": "E-SBK", "title": "社保卡丢失如何补办", "status": "published",
     "answer": "社保卡丢失请先拨打12333挂失，再携带身份证到就近的社保卡服务网点补办。",
     "aliases": ["社保卡丢了"], "keywords": ["社保卡", "补办"], "category": "社会保障/社保卡",
     "department": "D-RSJ", "basis": "《社会保障卡管理办法》"},
]
RULES = [{"external_id": "R-HEAT", "department": "D-RL", "keywords": ["暖气", "供暖", "不热"], "priority": 80,
          "note": "供暖问题派热力集团"}]
ALERT_KINDS = [
    {"kind": "fire", "label": "火警/燃气泄漏", "transfer_to": "119；燃气泄漏同时告知燃气抢修 96777", "severity": 100,
     "script": "请您马上离开危险区域，不要开关电器、不要使用明火，到室外安全的地方拨打119。我现在为您转接119。"},
    {"kind": "self_harm", "label": "自伤/轻生风险", "transfer_to": "心理援助热线 12356（正在实施时同时 110/120）",
     "severity": 95, "script": "我在听，您现在的感受很重要。您现在在哪里？身边有人陪着吗？"},
]
ALERT_TERMS = [
    {"kind": "fire", "pattern": "re:(煤气|燃气|天然气)的?(味|气味)", "polarity": "trigger", "note": "燃气泄漏"},
    {"kind": "fire", "pattern": "着火", "polarity": "trigger", "note": ""},
    {"kind": "self_harm", "pattern": "不想活了", "polarity": "trigger", "note": ""},
]
PLACES = [{"district": "朝阳区", "street": "三里屯街道", "aliases": ["三里屯"]},
          {"district": "海淀区", "street": "中关村街道", "aliases": ["中关村"]}]
SCRIPTS = [{"external_id": "S-HELLO", "kind": "greeting", "title": "开场白",
            "body": "您好，12345市民服务热线，很高兴为您服务，请问有什么可以帮您？"}]


def type_text(widget: QWidget, text: str) -> None:
    """Type (Chinese) text with key events that carry it (QTest.keyClicks aborts on non-ASCII)."""
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))


def cell(table: QTableWidget, row: int, column: int) -> QTableWidgetItem:
    """The item of a table cell (Qt's item() is None for an empty cell: the test fails there, by name)."""
    item = table.item(row, column)
    assert item is not None, f"no item in cell ({row}, {column})"
    return item


def column_titles(table: QTableWidget) -> list[str]:
    """The texts of a table's horizontal header items (every column must have one)."""
    items = [table.horizontalHeaderItem(c) for c in range(table.columnCount())]
    assert all(items), "a column without a header item"
    return [item.text() for item in items if item is not None]


def seed(kb: KnowledgeBase) -> None:
    import_rows(kb, "departments", list(enumerate(DEPARTMENTS, 2)), actor=Actor.system("seed"))
    import_rows(kb, "entries", list(enumerate(ENTRIES, 2)), actor=Actor.system("seed"))
    import_rows(kb, "rules", list(enumerate(RULES, 2)), actor=Actor.system("seed"))
    import_rows(kb, "scripts", list(enumerate(SCRIPTS, 2)), actor=Actor.system("seed"))
    # A small lexicon of our own: the shipped one is edited by the knowledge team and tested by them.
    kb.lexicons.set_alert_records(ALERT_TERMS, ALERT_KINDS, actor=editor("seed"))
    kb.lexicons.set_places(PLACES, actor=editor("seed"))
    kb.work_orders.save(WorkOrderDraft(
        id="00000000-0000-4000-8000-000000000001", received_at=datetime.now().replace(microsecond=0)
        - timedelta(days=3), text="暖气一直不热，屋里只有十四度", phone=REPEAT_PHONE, request_type="complaint",
        handling="dispatched", department="D-RL", due_at=datetime.now() + timedelta(days=4)), actor=agent("seed"))


@pytest.fixture(scope="session")
def jieba_loaded(tmp_path_factory: pytest.TempPathFactory) -> None:
    analysis.set_cache_dir(tmp_path_factory.mktemp("jieba"))
    analysis.load_jieba()


@pytest.fixture(scope="session")
def template_dir(tmp_path_factory: pytest.TempPathFactory, jieba_loaded: None) -> Path:
    root = tmp_path_factory.mktemp("template")
    paths = AppPaths(root).ensure()
    kb = KnowledgeBase.open(f"sqlite:///{paths.db_file}")
    seed(kb)
    Engine.open(paths, kb, executor=InlineExecutor(), sync=True).close()
    kb.close()
    return root


@dataclass
class Env:
    paths: AppPaths
    kb: KnowledgeBase
    engine: Engine
    url: str

    def services(self, tasks: TaskManager, **settings: object) -> Services:
        return Services(kb=self.kb, paths=self.paths, settings=Settings(user="测试坐席", seat="A01",
                        **settings),  # type: ignore[arg-type]
                        tasks=tasks)


@pytest.fixture
def env(template_dir: Path, tmp_path: Path) -> Iterator[Env]:
    root = tmp_path / "base"
    shutil.copytree(template_dir, root)
    paths = AppPaths(root).ensure()
    url = f"sqlite:///{paths.db_file}"
    kb = KnowledgeBase.open(url)
    engine = Engine.open(paths, kb, executor=InlineExecutor(), sync=False)  # profiles and history load at once
    yield Env(paths=paths, kb=kb, engine=engine, url=url)
    engine.close()
    kb.close()


@pytest.fixture
def tasks(qapp: QApplication) -> Iterator[TaskManager]:
    manager = TaskManager()
    yield manager
    manager.shutdown(wait=True)


def wait_idle(qtbot: object, tasks: TaskManager, timeout: float = 5.0) -> None:
    """Process events until no op is in flight (and its callback has run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if not tasks.pending:
            QApplication.processEvents()
            return
        time.sleep(0.005)
    raise AssertionError("background operations did not finish")


@pytest.fixture
def window(qtbot: object, env: Env, tasks: TaskManager) -> Iterator[object]:
    from desktop.main_window import MainWindow

    w = MainWindow(env.services(tasks))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.set_engine(env.engine)
    w.resize(1366, 740)
    w.show()
    qtbot.waitExposed(w)  # type: ignore[attr-defined]
    w.activateWindow()
    wait_idle(qtbot, tasks)
    yield w
    w.close()
    wait_idle(qtbot, tasks)
