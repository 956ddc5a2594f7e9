"""Explicit dependencies: the engine gets its history and its executor; nothing in indexer/ starts a thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from indexer import analysis
from indexer.engine import Engine, Suggestion
from indexer.history import CATCH_UP_INTERVAL, FILE_NAME, WorkOrderHistory
from kb.actor import Actor
from kb.dto import WorkOrderDraft, WorkOrderView
from kb.exchange import import_rows
from kb.paths import AppPaths
from kb.service import KnowledgeBase
from tests.helpers import InlineExecutor, ManualClock, QueuedExecutor, agent, editor
from tests.indexer.test_history import FakeKB, many_orders
from tests.indexer.test_routing import NOW, order

NOISE = "望京工地夜里施工噪音太吵"


def reasons(s: Suggestion) -> list[str]:
    return [r for d in s.departments for r in d.reasons]


def thread_names() -> set[str]:
    return {t.name for t in threading.enumerate()}


@pytest.fixture
def base(tmp_path: Path) -> Iterator[tuple[AppPaths, KnowledgeBase]]:
    """A small base: two departments, an entry each, the 望京 street, three open noise cases."""
    paths = AppPaths(tmp_path).ensure()
    kb = KnowledgeBase.open(f"sqlite:///{paths.db_file}", clock=lambda: NOW)
    import_rows(kb, "departments", [(1, {"external_id": "D-ENV", "name": "北京市生态环境局"}),
                                    (2, {"external_id": "D-CG", "name": "北京市城市管理委员会"})],
                actor=Actor.system("t"))
    entries = [{"external_id": "E-1", "title": "施工噪音扰民怎么投诉", "answer": "夜间施工噪声由生态环境部门查处。",
                "department": "D-ENV", "status": "published"},
               {"external_id": "E-2", "title": "占道经营处理", "answer": "城管部门处理。", "department": "D-CG",
                "status": "published"}]
    import_rows(kb, "entries", list(enumerate(entries, 1)), actor=Actor.system("t"))
    kb.lexicons.set_places([{"district": "朝阳区", "street": "望京街道", "aliases": "望京"}], actor=editor("t"))
    for i in range(3):
        kb.work_orders.save(WorkOrderDraft(id=f"w{i}", received_at=NOW - timedelta(days=i + 1), text=NOISE,
                                           district="朝阳区", street="望京街道", handling="dispatched",
                                           department="D-ENV", request_type="complaint"), actor=agent("t"))
    yield paths, kb
    kb.close()


def test_the_engine_uses_the_history_it_is_given(base: tuple[AppPaths, KnowledgeBase]) -> None:
    paths, kb = base
    caught_up = WorkOrderHistory()
    caught_up.catch_up(kb)
    empty = WorkOrderHistory()
    for history, expected in ((caught_up, ["w0", "w1", "w2"]), (empty, [])):
        engine = Engine.open(paths, kb, executor=InlineExecutor(), history=history)
        try:
            assert engine.history is history
            s = engine.suggest("望京这边工地夜里施工噪音很大", now=NOW)
            assert sorted(c.id for c in s.similar_open) == expected
            # A work order saved on this seat goes into this engine's history at once, and only there.
            _, changes = kb.work_orders.save(WorkOrderDraft(
                id=f"new-{len(expected)}", received_at=NOW, text=NOISE, district="朝阳区", street="望京街道",
                handling="dispatched", department="D-ENV", request_type="complaint"), actor=agent("t"))
            before = len(history)
            engine.apply_changes(changes)
            assert len(history) == before + 1
        finally:
            engine.close()
    assert len(caught_up) == 4 and len(empty) == 1


def test_engine_background_work_runs_on_the_executor_it_is_given(base: tuple[AppPaths, KnowledgeBase]) -> None:
    paths, kb = base
    executor = QueuedExecutor()
    threads = thread_names()
    engine = Engine.open(paths, kb, executor=executor, sync=False)
    try:
        # The history file beside the index was opened, its catch-up and the routing profiles are queued.
        assert engine.history is not None and engine.history.path == paths.index_dir / FILE_NAME
        assert sorted(executor.names) == ["_catch_up_quietly", "_load_profiles"]
        assert thread_names() <= threads  # no thread of its own
        assert len(engine.history) == 0
        before = reasons(engine.suggest("工地夜里施工噪音扰民", now=NOW))
        assert not any("此单位口径含" in r or "相似历史工单" in r for r in before)  # neither is loaded yet
        assert executor.run_all() == 2
        assert len(engine.history) == 3
        after = reasons(engine.suggest("工地夜里施工噪音扰民", now=NOW))
        assert any("此单位口径含" in r for r in after)  # department profiles
        assert any("相似历史工单" in r for r in after)  # the caught-up history
    finally:
        engine.close()


def test_a_history_follows_the_base_on_the_clock_it_is_given() -> None:
    clock = ManualClock()
    kb = FakeKB(many_orders(30))
    executor = QueuedExecutor()
    h = WorkOrderHistory(clock=clock)
    h.follow(cast(KnowledgeBase, kb), executor)
    assert executor.run_all() == 1 and len(h) == 30  # the first catch-up, at once
    kb.put(order(100, "路灯不亮了很久了", dept_id=4, at=NOW))
    assert h.maybe_catch_up() is None
    clock.advance(CATCH_UP_INTERVAL - 1)
    assert h.maybe_catch_up() is None and not executor.jobs
    clock.advance(1)
    job = h.maybe_catch_up()
    assert job is not None and len(executor.jobs) == 1
    assert h.maybe_catch_up() is None  # one per interval
    executor.run_all()
    assert job.done() and len(h) == 31


def test_stop_ends_a_running_catch_up_at_the_next_order_without_saving(tmp_path: Path) -> None:
    clock = ManualClock()
    h = WorkOrderHistory.open(tmp_path / FILE_NAME, clock=clock)
    orders = many_orders(40)

    class StoppingKB(FakeKB):
        def iter_all(self, *, since: datetime | None = None, batch: int = 5000) -> Iterator[WorkOrderView]:
            for n, wo in enumerate(super().iter_all(since=since, batch=batch)):
                if n == 10:
                    h.stop()  # the engine closes while the catch-up runs
                yield wo

    executor = InlineExecutor()
    h.follow(cast(KnowledgeBase, StoppingKB(orders)), executor)
    assert len(h) == 10
    assert not (tmp_path / FILE_NAME).exists()  # a partial summary is not saved
    clock.advance(10 * CATCH_UP_INTERVAL)
    assert h.maybe_catch_up() is None and executor.submitted == 1  # nothing starts after stop()


def test_a_shut_down_executor_means_no_catch_up() -> None:
    clock = ManualClock()
    executor = QueuedExecutor()
    h = WorkOrderHistory(clock=clock)
    h.follow(cast(KnowledgeBase, FakeKB(many_orders(5))), executor, catch_up_now=False)
    executor.shutdown()
    clock.advance(CATCH_UP_INTERVAL)
    assert h.maybe_catch_up() is None  # the program is exiting: the suggestion goes on without it


def test_jieba_loads_on_the_executor_it_is_given() -> None:
    before = analysis.extra_words()
    executor = QueuedExecutor()
    threads = thread_names()
    try:
        job = analysis.start_background_load(executor, [("回音后台载入词", 1000, "n")])
        assert thread_names() <= threads and executor.names == ["run"]
        assert "回音后台载入词" not in [w for w, _f, _p in analysis.extra_words()]
        executor.run_all()
        assert job.result() is None
        assert "回音后台载入词" in [w for w, _f, _p in analysis.extra_words()]
    finally:
        analysis.set_extra_words(before)
