"""kb.dbcopy: a whole knowledge base into an empty database, verified table by table (SQLite → SQLite here;
SQLite → PostgreSQL through the command line in tests/test_cli_dbcopy.py)."""

from __future__ import annotations

import sqlite3
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, text

from kb import db
from kb import models as m
from kb.dbcopy import copy_database, row_bytes, table_digest
from kb.errors import StorageError, ValidationError
from kb.sample import open_and_set_up

RECEIVED = datetime(2026, 3, 1, 8, 30, 15, 123456)


def work_order_rows(n: int, *, text_chars: int = 40, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": str(uuid.UUID(int=start + i + 1)), "external_id": f"WO-{start + i:06d}",
             "received_at": RECEIVED + timedelta(minutes=start + i), "phone": "+8613800138000",
             "caller_name": "王女士", "address": "朝阳区三里屯路19号", "district": "朝阳区", "street": "三里屯街道",
             "request_type": "complaint", "urgency": "normal", "text": ("夜间施工噪音扰民。" * text_chars)[:text_chars],
             "category_id": None, "handling": "answered", "department_id": None, "due_at": None, "entry_id": None,
             "status": "closed", "returned": (start + i) % 7 == 0, "seat": "A-01", "created_by": "agent1",
             "created_at": RECEIVED, "updated_at": RECEIVED, "closed_at": RECEIVED + timedelta(hours=1)}
            for i in range(n)]


def engine_of(path: Path) -> Engine:
    return db.make_engine(db.sqlite_url(path))


def digests(path: Path) -> dict[str, tuple[int, str]]:
    """Every table's (rows, SHA-256), read on a connection of its own."""
    engine = engine_of(path)
    try:
        with engine.connect() as conn:
            return {t.name: table_digest(conn, t) for t in m.Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample base, 300 work orders with follow-ups, and a department whose parent was stored after it."""
    path = tmp_path_factory.mktemp("seat") / "huiyin.sqlite3"
    kb, _ = open_and_set_up(db.sqlite_url(path))
    kb.close()
    engine = engine_of(path)
    with engine.begin() as conn:
        conn.execute(insert(m.WorkOrder), work_order_rows(300))
        conn.execute(insert(m.FollowUp), [
            {"work_order_id": str(uuid.UUID(int=i + 1)), "at": RECEIVED + timedelta(days=1), "resolved": i % 2 == 0,
             "satisfied": None if i % 3 else True, "note": "回访：已解决", "by": "回访员"} for i in range(0, 300, 5)])
        first, last = conn.execute(select(func.min(m.Department.id), func.max(m.Department.id))).one()
        conn.execute(text("UPDATE department SET parent_id = :last WHERE id = :first"), {"first": first, "last": last})
        conn.execute(insert(m.Setting), [{"key": "z-order", "value": {"b": [1, 2.5, None], "a": "甲"}}])
    engine.dispose()
    return path


def test_rows_are_canonical_json_with_iso_dates_and_sorted_keys() -> None:
    assert row_bytes([1, "甲", None, True, datetime(2026, 1, 2, 3, 4, 5, 6), date(2026, 1, 2),
                      {"b": 1, "a": [{"d": 0, "c": 1}]}]) == (
        '[1,"甲",null,true,"2026-01-02T03:04:05.000006","2026-01-02",{"a":[{"c":1,"d":0}],"b":1}]\n'.encode())


def test_everything_is_copied_into_a_new_file_and_verified(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "backup.sqlite3"
    seen: list[tuple[str, str, int, int]] = []
    report = copy_database(db.sqlite_url(source), db.sqlite_url(target), batch=100,
                           progress=lambda *step: seen.append(step))
    assert report.committed and report.ok, report.mismatched
    assert [t.table for t in report.tables] == [t.name for t in m.Base.metadata.sorted_tables]
    before = digests(source)
    assert digests(target) == before  # read again after the commit, on fresh connections
    assert {t.table: (t.source_rows, t.source_sha256) for t in report.tables} == before
    assert report.rows == sum(rows for rows, _ in before.values()) > 300
    for table in ("entry", "entry_version", "department", "work_order", "follow_up", "alert_term", "place",
                  "change_log", "audit_log", "setting"):
        assert count(target, table) == count(source, table) > 0, table
    # streamed in batches: the 300 work orders are read and verified 100 at a time
    assert [s for s in seen if s[1] == "work_order"] == [
        (phase, "work_order", done, 300) for phase in ("copy", "verify") for done in (0, 100, 200, 300)]
    with sqlite3.connect(target) as conn:  # the schema came through Alembic, at the newest revision
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == db.HEAD_REVISION
        (parent,) = conn.execute("SELECT parent_id FROM department WHERE parent_id > id").fetchone()
        assert parent == conn.execute("SELECT max(id) FROM department").fetchone()[0]


def test_a_target_with_data_is_refused_and_left_as_it_was(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "center.sqlite3"
    assert copy_database(db.sqlite_url(source), db.sqlite_url(target)).committed
    before = digests(target)
    first = next(t.name for t in m.Base.metadata.sorted_tables if count(target, t.name))
    with pytest.raises(ValidationError, match=rf"目标数据库不是空的（表 {first} 已有数据）.*未做任何更改"):
        copy_database(db.sqlite_url(source), db.sqlite_url(target))
    assert digests(target) == before


def test_the_schema_alone_is_empty_but_one_row_anywhere_is_not(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "center.sqlite3"
    engine = engine_of(target)
    with db.setup_transaction(engine) as conn:  # the schema alone: alembic_version is not data
        db.migrate(conn)
    with engine.begin() as conn:
        conn.execute(insert(m.Setting), [{"key": "city", "value": {"name": "北京"}}])
    engine.dispose()
    with pytest.raises(ValidationError, match=r"表 setting 已有数据"):
        copy_database(db.sqlite_url(source), db.sqlite_url(target))
    assert count(target, "setting") == 1 and count(target, "entry") == 0
    with sqlite3.connect(target) as conn:
        conn.execute("DELETE FROM setting")
    report = copy_database(db.sqlite_url(source), db.sqlite_url(target))
    assert report.committed and report.ok


def test_a_mismatch_names_the_table_and_rolls_everything_back(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "center.sqlite3"
    engine = engine_of(target)
    with db.setup_transaction(engine) as conn:
        db.migrate(conn)
    with engine.begin() as conn:  # a fault in the target: it changes what it stores
        conn.execute(text("CREATE TRIGGER garble AFTER INSERT ON work_order BEGIN "
                          "UPDATE work_order SET text = text || '!' WHERE id = NEW.id; END"))
    engine.dispose()
    report = copy_database(db.sqlite_url(source), db.sqlite_url(target))
    assert not report.committed and not report.ok
    assert report.mismatched == ["work_order"]
    wo = next(t for t in report.tables if t.table == "work_order")
    assert wo.source_rows == wo.target_rows == 300 and wo.source_sha256 != wo.target_sha256
    for table in ("entry", "department", "work_order", "alert_term"):
        assert count(target, table) == 0, table


def test_a_row_the_target_refuses_fails_the_copy_and_leaves_no_new_file(tmp_path: Path, source: Path) -> None:
    broken = tmp_path / "old.sqlite3"
    broken.write_bytes(source.read_bytes())
    with sqlite3.connect(broken) as conn:  # an old file written without foreign-key checks
        conn.execute("UPDATE follow_up SET work_order_id = 'gone' WHERE id = (SELECT max(id) FROM follow_up)")
    target = tmp_path / "new.sqlite3"
    with pytest.raises(StorageError, match=r"复制表 follow_up 时出错.*FOREIGN KEY"):
        copy_database(db.sqlite_url(broken), db.sqlite_url(target))
    assert not target.exists() and not Path(f"{target}-wal").exists()


def test_the_source_itself_and_a_file_that_is_not_a_database_are_refused(source: Path, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="当前数据库本身"):
        copy_database(db.sqlite_url(source), f"sqlite:///{source.parent}/../{source.parent.name}/{source.name}")
    notes = tmp_path / "notes.sqlite3"
    notes.write_text("值班记录\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="不是 SQLite 数据库"):
        copy_database(db.sqlite_url(source), db.sqlite_url(notes))
    assert notes.read_text(encoding="utf-8") == "值班记录\n"


def test_rows_stream_through_in_batches(tmp_path: Path) -> None:
    """3,000 work orders of 6,000 characters (36 MB of text in Python) copy within a third of that."""
    path = tmp_path / "big.sqlite3"
    engine = engine_of(path)
    with db.setup_transaction(engine) as conn:
        db.migrate(conn)
    with engine.begin() as conn:
        for start in range(0, 3_000, 500):
            conn.execute(insert(m.WorkOrder), work_order_rows(500, text_chars=6_000, start=start))
    engine.dispose()
    tracemalloc.start()
    try:
        report = copy_database(db.sqlite_url(path), db.sqlite_url(tmp_path / "copy.sqlite3"), batch=100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.committed and report.ok and report.rows == 3_000
    assert peak < 12 * 2**20, f"peak {peak / 2**20:.1f} MB"


@pytest.fixture
def unused_port() -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_an_unreachable_target_is_an_environment_error(source: Path, unused_port: int) -> None:
    with pytest.raises(StorageError, match="无法连接目标数据库"):
        copy_database(db.sqlite_url(source), f"postgresql+psycopg://huiyin@127.0.0.1:{unused_port}/huiyin")
