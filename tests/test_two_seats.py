"""Two seats on one database: whatever seat B saves, seat A shows after its next sync (issue #13 item 3).

A seat is a KnowledgeBase and an Engine with an index folder of its own; both point at one
database (a SQLite file, or PostgreSQL through the ``db_url`` fixture). Seat B changes data through
its services only (it never tells A); seat A learns of it from the change log in ``sync``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from indexer import analysis
from indexer.engine import DEADLINE_SETTING, Engine
from kb.actor import Actor
from kb.deadlines import DEFAULT_RULES
from kb.dto import WorkOrderDraft
from kb.exchange import import_rows
from kb.paths import AppPaths
from kb.service import KnowledgeBase
from tests.helpers import IMPORT, InlineExecutor, agent, editor

ED = editor("b-editor")
NOW = datetime(2026, 11, 30, 10, 0, 0)  # a Monday
FLOOD_KIND = {"kind": "flood", "label": "内涝积水", "transfer_to": "119", "script": "请您马上离开低洼地带。",
              "severity": 90}


@dataclass
class Seat:
    kb: KnowledgeBase
    engine: Engine


@pytest.fixture
def seats(db_url: str, tmp_path: Path) -> Iterator[tuple[Seat, Seat]]:
    opened: list[Seat] = []
    first = KnowledgeBase.open(db_url)
    first.directory.save_department({"external_id": "D-W", "name": "北京市水务局"}, actor=ED)
    import_rows(first, "entries", [(1, {"title": "小区停水处理", "answer": "请先联系物业了解停水原因和恢复时间。",
                                        "department": "D-W", "status": "published"})], actor=IMPORT)
    for name in ("a", "b"):
        base = first if name == "a" else KnowledgeBase.open(db_url)
        paths = AppPaths(tmp_path / name).ensure()
        opened.append(Seat(base, Engine.open(paths, base, executor=InlineExecutor())))
    try:
        yield opened[0], opened[1]
    finally:
        for seat in opened:
            seat.engine.close()
            seat.kb.close()
        analysis.set_extra_words(())  # jieba is one per process: leave it as other tests expect


def test_an_alert_pattern_and_an_example_sentence_saved_on_b_raise_alerts_on_a(seats: tuple[Seat, Seat]) -> None:
    a, b = seats
    assert not a.engine.alerts("雨太大了，水漫进地下室了")
    b.kb.lexicons.set_alert_records([{"kind": "flood", "pattern": "水漫进地下室", "polarity": "trigger", "note": ""}],
                                    [FLOOD_KIND], actor=ED, replace=False)
    a.engine.sync()
    assert [x.kind for x in a.engine.alerts("雨太大了，水漫进地下室了")] == ["flood"]
    examples = [{"kind": "flood", "pattern": s, "polarity": "example", "note": ""}
                for s in ("楼下车库全淹了水已经到膝盖", "雨水倒灌进一楼屋里全是水", "地下通道积水很深车熄火了",
                          "小区门口积水太深出不去了", "暴雨把地下车库淹了", "车库进水了车都泡了",
                          "水淹到膝盖了人走不出去")]
    examples += [{"kind": "*", "pattern": s, "polarity": "counter", "note": ""}
                 for s in ("想问一下停水什么时候恢复", "物业费怎么收的", "路灯不亮了", "噪音扰民晚上睡不着",
                           "垃圾没人清理", "小区停车位不够", "楼道里有人堆杂物", "孩子上学的事情咨询")]
    assert not any(x.kind == "flood" for x in a.engine.alerts("车库被淹了水到膝盖了"))
    b.kb.lexicons.set_alert_records(examples, [], actor=ED, replace=False)
    a.engine.sync()
    assert any(x.kind == "flood" for x in a.engine.alerts("车库被淹了水到膝盖了"))


def test_a_synonym_saved_on_b_changes_the_search_on_a(seats: tuple[Seat, Seat]) -> None:
    a, b = seats
    assert not a.engine.search("断流")
    b.kb.lexicons.set_synonyms([("断流", "停水")], actor=ED, replace=False)
    a.engine.sync()
    assert [h.title for h in a.engine.search("断流")] == ["小区停水处理"]


def test_a_dictionary_word_saved_on_b_segments_on_a(seats: tuple[Seat, Seat]) -> None:
    a, b = seats
    word = "回音泵房"
    assert word not in analysis.words_of(f"楼里{word}坏了")
    b.kb.lexicons.set_dict_words([(word, 50_000, "n")], actor=ED, replace=False)
    a.engine.sync()
    assert word in analysis.words_of(f"楼里{word}坏了")
    assert a.engine.index.revision == a.kb.revision()


def test_a_place_saved_on_b_is_located_on_a(seats: tuple[Seat, Seat]) -> None:
    a, b = seats
    assert a.engine.locate("我在回音区测试街道这边").district is None
    b.kb.lexicons.set_places([{"district": "回音区", "street": "测试街道", "aliases": "测试街"}], actor=ED,
                             replace=False)
    a.engine.sync()
    place = a.engine.locate("我在回音区测试街这边")
    assert (place.district, place.street) == ("回音区", "测试街道")


def test_a_routing_rule_saved_on_b_routes_on_a(seats: tuple[Seat, Seat]) -> None:
    a, b = seats
    b.kb.directory.save_department({"external_id": "D-G", "name": "城市运行保障中心"}, actor=ED)
    a.engine.sync()  # the department first: then only the rule is new
    text = "楼道里的燃气表箱锈穿了"
    assert "D-G" not in [d.external_id for d in a.engine.suggest(text, now=NOW).departments]
    b.kb.directory.save_rule({"department": "D-G", "keywords": "燃气表箱", "priority": 90}, actor=ED)
    a.engine.sync()
    assert a.engine.suggest(text, now=NOW).departments[0].external_id == "D-G"


def test_a_deadline_setting_saved_on_b_changes_due_at_on_a(seats: tuple[Seat, Seat]) -> None:
    a, b = seats
    before = a.engine.suggest("小区停水了", request_type="help", now=NOW).due_at
    rules = [{"request_type": r.request_type, "urgency": r.urgency, "amount": r.amount, "unit": r.unit}
             for r in DEFAULT_RULES]
    rules = [{**r, "amount": 7, "unit": "hours"} if (r["request_type"], r["urgency"]) in
             {("*", "normal"), ("help", "normal")} else r for r in rules]
    b.kb.directory.set_setting(DEADLINE_SETTING, {"rules": rules}, actor=Actor("admin", "admin"))
    a.engine.sync()
    after = a.engine.suggest("小区停水了", request_type="help", now=NOW).due_at
    assert after != before and after == datetime(2026, 11, 30, 17, 0, 0)


def test_a_bulletin_and_a_script_saved_on_b_are_reported_to_a(seats: tuple[Seat, Seat]) -> None:
    a, b = seats
    rev = a.engine.index.revision
    b.kb.directory.save_bulletin({"title": "海淀区今晚停水", "body": "22 点至次日 6 点"}, actor=ED)
    b.kb.directory.save_script({"kind": "closing", "title": "结束语", "body": "感谢来电。"}, actor=ED)
    changes = a.kb.changes_since(rev)
    assert changes.bulletins and changes.scripts
    a.engine.sync()
    assert a.engine.last_changes.bulletins and a.engine.last_changes.scripts
    assert a.engine.index.revision == a.kb.revision() > rev
    assert [x.title for x in a.kb.directory.bulletins(active_at=datetime.now())] == ["海淀区今晚停水"]


def test_an_entry_and_a_work_order_saved_on_b_reach_a(seats: tuple[Seat, Seat]) -> None:
    a, b = seats
    assert not a.engine.search("井盖")
    import_rows(b.kb, "entries", [(1, {"title": "井盖丢失报修", "answer": "请说明具体位置，我们转交养护单位。",
                                       "department": "D-W", "status": "published"})], actor=IMPORT)
    b.kb.work_orders.save(WorkOrderDraft(id="wo-b-1", text="路口井盖丢了很危险", received_at=datetime.now(),
                                         handling="dispatched", department="D-W"), actor=agent("b"))
    assert a.engine.history is not None and not a.engine.history.similar("路口井盖丢了很危险")
    a.engine.sync()
    assert [h.title for h in a.engine.search("井盖")] == ["井盖丢失报修"]
    assert [c.id for c in a.engine.history.similar("路口井盖丢了很危险")] == ["wo-b-1"]


# ---------------------------------------------------------------- through the real entry point
def _huiyin(*args: str) -> list[str]:
    """The installed ``huiyin`` command (the venv's console script)."""
    return [str(Path(sys.executable).parent / "huiyin"), *args]


class Worker:
    """A ``huiyin suggest --jsonl`` process: one request line in, one answer line out."""

    def __init__(self, argv: list[str]) -> None:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, encoding="utf-8", env=env)

    def ask(self, req: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(req, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read() if self.proc.stderr else ""
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def test_a_running_jsonl_worker_sees_an_import_and_an_alert_saved_on_another_seat(db_url: str,
                                                                                    tmp_path: Path) -> None:
    seat = {name: ["--basedir", str(tmp_path / name), "--db", db_url] for name in ("a", "b")}
    subprocess.run(_huiyin(*seat["b"], "init", "--empty"), check=True, capture_output=True, timeout=300)
    worker = Worker(_huiyin(*seat["a"], "suggest", "--jsonl"))
    try:
        text = "我住回音区测试街道，雨太大水漫进地下室了"
        first = worker.ask({"id": 1, "text": text})
        assert first["place"]["district"] is None and "flood" not in [x["kind"] for x in first["alerts"]], first
        places = tmp_path / "places.csv"
        places.write_text("district,street,aliases\n回音区,测试街道,测试街\n", encoding="utf-8")
        subprocess.run(_huiyin(*seat["b"], "import", str(places), "--kind", "places"), check=True,
                       capture_output=True, timeout=120)
        b = KnowledgeBase.open(db_url)
        try:
            b.lexicons.set_alert_records([{"kind": "flood", "pattern": "水漫进地下室", "polarity": "trigger",
                                           "note": ""}], [FLOOD_KIND], actor=ED, replace=False)
        finally:
            b.close()
        time.sleep(1.2)
        second = worker.ask({"id": 2, "text": text})
        assert second["place"] == {"district": "回音区", "street": "测试街道"}, second
        assert "flood" in [x["kind"] for x in second["alerts"]], second
    finally:
        worker.close()
