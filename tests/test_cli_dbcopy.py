"""`huiyin db copy --to URL`: from one seat's SQLite to a center's PostgreSQL (and to a SQLite backup file).

The source is a seat set up with `huiyin init` and 300 work orders imported from a file. Each PostgreSQL
test gets a database of its own (CREATE DATABASE, dropped WITH (FORCE) afterwards).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from desktop.cli import EXIT_BAD_INPUT, EXIT_ENV, EXIT_OK, EXIT_USAGE, main
from kb import db
from kb import models as m
from kb.dbcopy import table_digest
from kb.resources import resource_path
from kb.sample import read_jsonl
from tests.conftest import PG_URL, pg_schema_url

WORK_ORDERS = 300


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def digests(url: str) -> dict[str, tuple[int, str]]:
    """Every table's (rows, SHA-256), read on a connection of its own."""
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            return {t.name: table_digest(conn, t) for t in m.Base.metadata.sorted_tables}
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _no_db_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUIYIN_DB_URL", raising=False)


@pytest.fixture(scope="module")
def seat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seat's data folder: the sample base and 300 work orders, a third of them dispatched."""
    base = tmp_path_factory.mktemp("seat")
    assert main(["--basedir", str(base), "init"]) == EXIT_OK
    departments = [d["external_id"] for d in read_jsonl(resource_path("sample/departments.jsonl"))][:5]
    start = datetime(2026, 5, 1, 8, 0, 0)
    orders = tmp_path_factory.mktemp("files") / "workorders.jsonl"
    with orders.open("w", encoding="utf-8") as fh:
        for i in range(WORK_ORDERS):
            dispatched = i % 3 == 0
            fh.write(json.dumps({
                "external_id": f"WO-2026-{i:05d}", "received_at": (start + timedelta(minutes=37 * i)).isoformat(),
                "phone": f"1380013{i:04d}", "caller_name": "张先生", "district": "朝阳区",
                "text": f"小区夜间施工噪音扰民，第{i}次反映", "request_type": "complaint",
                "handling": "dispatched" if dispatched else "answered",
                "department": departments[i % 5] if dispatched else "", "seat": "A-01"},
                ensure_ascii=False) + "\n")
    assert main(["--basedir", str(base), "import", str(orders), "--kind", "workorders"]) == EXIT_OK
    with sqlite3.connect(base / "data" / "huiyin.sqlite3") as conn:  # text keys whose order depends on collation
        conn.executemany("INSERT INTO setting (key, value) VALUES (?, ?)",
                         [(key, json.dumps({"note": key}, ensure_ascii=False))
                          for key in ("Zone", "apple", "a-b", "ab", "乙", "甲", "a b")])
    return base


def seat_url(base: Path) -> str:
    return db.sqlite_url(base / "data" / "huiyin.sqlite3")


@pytest.fixture
def database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database of its own, sorting text the Chinese way (ICU zh)."""
    for _ in pg_schema_url():  # skips (or fails in CI) when PostgreSQL is not there
        break
    name = f"huiyin_copy_{uuid.uuid4().hex[:12]}"
    u = make_url(PG_URL)
    conninfo = {"host": u.host, "port": u.port or 5432, "user": u.username, "dbname": u.database}
    with psycopg.connect(**conninfo, autocommit=True) as conn:  # type: ignore[arg-type]
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING UTF8 '
                     "LOCALE_PROVIDER icu ICU_LOCALE 'zh-Hans-CN' LOCALE 'C.UTF-8'")
    try:
        yield u.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**conninfo, autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_count(url: str, table: str) -> int:
    u = make_url(url)
    with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database) as conn:
        row = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()
    return int(row[0]) if row else 0


def export(capsys: pytest.CaptureFixture[str], base: Path, url: str, kind: str, path: Path) -> list[str]:
    """The records as the application exports them (sorted: a list's order follows the database's collation)."""
    code, _, err = run(capsys, "--basedir", str(base), "--db", url, "export", "--kind", kind, str(path))
    assert code == EXIT_OK, err
    return sorted(path.read_text(encoding="utf-8").splitlines())


@pytest.mark.pg
@pytest.mark.slow
def test_a_seat_moves_to_postgresql(seat: Path, database: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--basedir", str(seat), "db", "copy", "--to", database, "--json")
    assert code == EXIT_OK, err
    summary = json.loads(out)  # stdout holds the JSON summary only; progress is on stderr
    assert summary["ok"] and summary["committed"]
    assert f"复制 (copy) work_order：{WORK_ORDERS}/{WORK_ORDERS}" in err
    assert f"校验 (verify) work_order：{WORK_ORDERS}/{WORK_ORDERS}" in err

    source = digests(seat_url(seat))
    assert digests(database) == source  # read again after the commit, on fresh connections
    assert {t["table"]: (t["source_rows"], t["source_sha256"]) for t in summary["tables"]} == source
    assert all(t["source_sha256"] == t["target_sha256"] for t in summary["tables"])
    assert pg_count(database, "work_order") == WORK_ORDERS
    for table in ("entry", "entry_version", "department", "alert_term", "place", "change_log", "audit_log"):
        assert pg_count(database, table) == source[table][0] > 0, table

    # the application reads the same knowledge base and the same work orders on the center's database
    center = tmp_path / "center"
    for kind in ("entries", "departments", "workorders", "places"):
        assert export(capsys, center, database, kind, tmp_path / f"center-{kind}.jsonl") == \
            export(capsys, seat, seat_url(seat), kind, tmp_path / f"seat-{kind}.jsonl"), kind
    code, out, _ = run(capsys, "--basedir", str(center), "--db", database, "suggest", "家里煤气泄漏了", "--json")
    assert code == EXIT_OK and json.loads(out)["alerts"]

    # a second copy into the now non-empty database is refused and changes nothing
    code, out, err = run(capsys, "--basedir", str(seat), "db", "copy", "--to", database)
    assert code == EXIT_BAD_INPUT and out == ""
    assert "目标数据库不是空的（表 alert_kind 已有数据）" in err and "未做任何更改" in err
    assert digests(database) == source

    # and the center's database backs up into a SQLite file (read inside one REPEATABLE READ snapshot)
    backup = db.sqlite_url(tmp_path / "center-backup.sqlite3")
    code, out, err = run(capsys, "--basedir", str(center), "--db", database, "db", "copy", "--to", backup, "--json")
    assert code == EXIT_OK and json.loads(out)["committed"], err
    assert digests(backup) == source

    # the sequences continue after the copied ids: new entries (with versions, log rows) are stored
    new = tmp_path / "new.jsonl"
    new.write_text(json.dumps({"external_id": "E-NEW-1", "title": "中心新增口径", "answer": "按中心规定答复。",
                               "status": "published"}, ensure_ascii=False) + "\n", encoding="utf-8")
    code, _, err = run(capsys, "--basedir", str(center), "--db", database, "import", str(new), "--kind", "entries")
    assert code == EXIT_OK, err
    assert pg_count(database, "entry") == source["entry"][0] + 1
    assert pg_count(database, "change_log") > source["change_log"][0]


@pytest.mark.pg
@pytest.mark.slow
def test_a_mismatch_on_postgresql_is_exit_3_and_leaves_the_database_empty(
        seat: Path, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    engine = db.make_engine(database)
    with db.setup_transaction(engine) as conn:  # the schema alone, then a fault: the server changes what it stores
        db.migrate(conn)
        conn.exec_driver_sql("CREATE FUNCTION garble() RETURNS trigger LANGUAGE plpgsql AS "
                             "$$ BEGIN NEW.text := NEW.text || '!'; RETURN NEW; END $$")
        conn.exec_driver_sql("CREATE TRIGGER garble BEFORE INSERT ON work_order FOR EACH ROW EXECUTE FUNCTION garble()")
    engine.dispose()
    code, out, err = run(capsys, "--basedir", str(seat), "db", "copy", "--to", database)
    assert code == EXIT_ENV
    assert "校验不一致" in err and "表 work_order" in err and "未做任何更改" in err
    assert "不一致 MISMATCH" in out and "一致 ok" in out
    for table in ("entry", "department", "alert_term", "work_order"):
        assert pg_count(database, table) == 0, table


def test_a_seat_copies_itself_into_a_new_sqlite_file(seat: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    backup = tmp_path / "backup-2026-05.sqlite3"
    code, out, err = run(capsys, "--basedir", str(seat), "db", "copy", "--to", db.sqlite_url(backup))
    assert code == EXIT_OK, err
    work_order = next(line for line in out.splitlines() if line.startswith("work_order "))
    assert work_order.split()[1:3] == [str(WORK_ORDERS), str(WORK_ORDERS)] and work_order.endswith("一致 ok")
    assert "不需要复制" in out and "huiyin.ini" not in out  # a backup file is not where the seats go
    assert digests(db.sqlite_url(backup)) == digests(seat_url(seat))
    other = tmp_path / "restored"
    assert export(capsys, other, db.sqlite_url(backup), "workorders", tmp_path / "b.jsonl") == \
        export(capsys, seat, seat_url(seat), "workorders", tmp_path / "s.jsonl")


@pytest.fixture
def unused_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_bad_and_unreachable_targets(seat: Path, tmp_path: Path, unused_port: int,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--basedir", str(seat), "db", "copy", "--to"]
    code, out, err = run(capsys, *base, "nonsense")
    assert code == EXIT_USAGE and "数据库地址无法识别" in err and out == ""
    code, _, err = run(capsys, *base, "mysql://root@127.0.0.1/huiyin")
    assert code == EXIT_USAGE and "不支持的数据库" in err
    code, _, err = run(capsys, *base, db.sqlite_url(tmp_path / "missing" / "copy.sqlite3"))
    assert code == EXIT_BAD_INPUT and "文件夹不存在" in err and not (tmp_path / "missing").exists()
    code, _, err = run(capsys, *base, seat_url(seat))
    assert code == EXIT_BAD_INPUT and "当前数据库本身" in err
    code, _, err = run(capsys, *base, f"postgresql+psycopg://huiyin@127.0.0.1:{unused_port}/huiyin")
    assert code == EXIT_ENV and "无法连接目标数据库" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "--basedir", str(tmp_path / "never"), "db", "copy", "--to",
                       db.sqlite_url(tmp_path / "copy.sqlite3"))
    assert code == EXIT_BAD_INPUT and "尚未初始化" in err and not (tmp_path / "copy.sqlite3").exists()
