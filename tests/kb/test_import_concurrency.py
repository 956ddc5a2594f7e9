"""Two writers at once: a second import waits or says so; an editor who loses a race gets the conflict."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from kb import exchange
from kb.errors import ConflictError, StorageError
from kb.exchange import ImportResult, import_file
from kb.service import KnowledgeBase
from tests.conftest import Clock
from tests.helpers import IMPORT, editor
from tests.kb.factories import add_departments, entry_record, save_published
from tests.kb.test_exchange import write_jsonl


def in_threads(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same time; each one's result or exception."""
    out: list[Any] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = calls[i]()
        except BaseException as exc:  # handed to the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_two_imports_of_the_same_file_at_once(db_url: str, clock: Clock, tmp_path: Path) -> None:
    kb1, kb2 = KnowledgeBase.open(db_url, clock=clock), KnowledgeBase.open(db_url, clock=clock)
    try:
        add_departments(kb1)
        path = write_jsonl(tmp_path / "e.jsonl", [entry_record(i) for i in range(300)])
        results = in_threads(lambda: import_file(kb1, path, kind="entries", actor=IMPORT),
                             lambda: import_file(kb2, path, kind="entries", actor=IMPORT))
        assert all(isinstance(r, ImportResult) for r in results), results
        assert sorted((r.created, r.unchanged) for r in results) == [(0, 300), (300, 0)]
        assert kb1.stats().entries == 300
    finally:
        kb1.close()
        kb2.close()


@pytest.mark.pg
def test_import_while_another_holds_the_lock_says_so(db_url: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("the advisory lock is PostgreSQL's; SQLite waits on its own write lock")
    monkeypatch.setattr(exchange, "IMPORT_LOCK_WAIT_S", 0.5)
    kb = KnowledgeBase.open(db_url)
    try:
        add_departments(kb)
        path = write_jsonl(tmp_path / "e.jsonl", [entry_record(1)])
        with kb.store.engine.connect() as other:
            other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": exchange.IMPORT_LOCK_KEY})
            with pytest.raises(StorageError, match="另一个导入正在进行"):
                import_file(kb, path, kind="entries", actor=IMPORT)
            other.rollback()
        assert import_file(kb, path, kind="entries", actor=IMPORT).created == 1
    finally:
        kb.close()


class MeetingClock(Clock):
    """Each thread's first reading waits (up to a second) for the other thread to read too.

    The service reads the clock after loading the entry and checking its revision, so both
    saves have loaded revision 1 before either writes: the race an editor loses.
    """

    def __init__(self, now: datetime) -> None:
        super().__init__(now)
        self.barrier = threading.Barrier(2)
        self.seen: set[int] = set()

    def __call__(self) -> datetime:
        me = threading.get_ident()
        if me not in self.seen:
            self.seen.add(me)
            with contextlib.suppress(threading.BrokenBarrierError):
                self.barrier.wait(timeout=1.0)
        return self.now


@pytest.mark.pg
def test_editor_losing_a_race_gets_the_conflict(db_url: str, tmp_path: Path) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer: the GUI queues saves")
    kb = KnowledgeBase.open(db_url)
    add_departments(kb)
    from kb.exchange import entry_draft

    save_published(kb, entry_draft(entry_record(1)))
    entry = kb.entries.get("E-00001")
    clock = MeetingClock(datetime(2026, 11, 28, 10, 0))
    a, b = KnowledgeBase(kb.store.engine, clock=clock), KnowledgeBase(kb.store.engine, clock=clock)
    mine = entry_draft(entry_record(1, answer="甲改的口径"))
    theirs = entry_draft(entry_record(1, answer="乙改的口径"))
    try:
        results = in_threads(
            lambda: a.entries.save(mine, actor=editor("甲"), entry_id=entry.id, expected_revision=entry.revision),
            lambda: b.entries.save(theirs, actor=editor("乙"), entry_id=entry.id, expected_revision=entry.revision))
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1 and isinstance(errors[0], ConflictError), results
        assert errors[0].current_revision == entry.revision + 1
        assert [v.revision for v in kb.entries.history("E-00001")] == [1, 2]
    finally:
        kb.close()
