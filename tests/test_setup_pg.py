"""Set-up on a real, empty PostgreSQL database, through the ``huiyin`` console script (issue #16 §1).

Each test gets its own database (CREATE DATABASE huiyin_t_<uuid>, dropped WITH (FORCE) afterwards)
and runs the installed entry point as a seat would: ``huiyin --basedir DIR --db URL …``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from kb import db
from kb.resources import resource_path
from kb.sample import read_jsonl
from tests.conftest import PG_URL, pg_schema_url

pytestmark = [pytest.mark.pg, pytest.mark.slow]

HUIYIN = str(Path(sys.executable).with_name("huiyin"))
GAS_AND_FAINTING = "家里煤气泄漏了，有人晕倒了"


@pytest.fixture
def database() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database of its own."""
    for _ in pg_schema_url():  # skips (or fails in CI) when PostgreSQL is not there
        break
    name = f"huiyin_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def huiyin(base: Path, url: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("HUIYIN_DB_URL", None)
    return subprocess.run([HUIYIN, "--basedir", str(base), "--db", url, *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def shipped(name: str) -> int:
    return len(read_jsonl(resource_path(f"sample/{name}")))


def test_init_loads_everything_and_the_gas_leak_raises_an_alert(database: str, tmp_path: Path) -> None:
    run = huiyin(tmp_path / "seat1", database, "init")
    assert run.returncode == 0, run.stderr
    assert "警报词库完整" in run.stdout
    assert count(database, "SELECT count(*) FROM alert_term") == shipped("alert_terms.jsonl")
    assert count(database, "SELECT count(*) FROM place") == shipped("gazetteer.jsonl")
    assert count(database, "SELECT count(*) FROM entry") == shipped("entries.jsonl")

    run = huiyin(tmp_path / "seat1", database, "suggest", GAS_AND_FAINTING, "--json")
    assert run.returncode == 0, run.stderr
    kinds = {a["kind"] for a in json.loads(run.stdout)["alerts"]}
    assert {"fire", "medical"} & kinds, run.stdout

    run = huiyin(tmp_path / "seat1", database, "check")
    assert run.returncode == 0 and "警报词库完整" in run.stdout, run.stdout + run.stderr


def test_an_incomplete_lexicon_fails_check_and_init_loads_what_is_missing(database: str, tmp_path: Path) -> None:
    assert huiyin(tmp_path / "seat1", database, "init", "--empty").returncode == 0
    assert count(database, "SELECT count(*) FROM entry") == 0
    assert count(database, "SELECT count(*) FROM alert_term") == shipped("alert_terms.jsonl")
    engine = create_engine(database)
    with engine.begin() as conn:  # an editor deleted the whole fire kind
        conn.execute(text("DELETE FROM alert_term WHERE kind = 'fire'"))
        conn.execute(text("DELETE FROM alert_kind WHERE kind = 'fire'"))
    engine.dispose()

    run = huiyin(tmp_path / "seat1", database, "check")
    assert run.returncode == 3 and "警报词库不完整" in run.stdout and "火警" in run.stdout, run.stdout
    run = huiyin(tmp_path / "seat1", database, "check", "--json")
    assert run.returncode == 3 and json.loads(run.stdout)[0]["kind"] == "lexicon_incomplete"

    run = huiyin(tmp_path / "seat1", database, "init", "--empty")  # (plain init would load the sample here)
    assert run.returncode == 0 and "已载入缺少的词库" in run.stdout, run.stdout + run.stderr
    assert count(database, "SELECT count(*) FROM alert_term WHERE kind = 'fire'") == sum(
        1 for t in read_jsonl(resource_path("sample/alert_terms.jsonl")) if t["kind"] == "fire")
    assert huiyin(tmp_path / "seat1", database, "check").returncode == 0


def test_init_force_sample_on_an_empty_database(database: str, tmp_path: Path) -> None:
    run = huiyin(tmp_path / "seat1", database, "init", "--force-sample")
    assert run.returncode == 0, run.stderr
    assert count(database, "SELECT count(*) FROM alert_kind") == shipped("alert_kinds.jsonl")
    assert count(database, "SELECT count(*) FROM department") == shipped("departments.jsonl")


def test_self_test_on_an_empty_database(database: str, tmp_path: Path) -> None:
    run = huiyin(tmp_path / "seat1", database, "--self-test")
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and report["ok"], report
    assert report["steps"]["safety_lexicon"]["ok"] and report["steps"]["alert"]["alert"] == "fire"


def test_two_seats_initialising_at_once_do_not_collide(database: str, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    seats = [subprocess.Popen([HUIYIN, "--basedir", str(tmp_path / f"seat{i}"), "--db", database, "init"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for i in (1, 2)]
    outputs = [seat.communicate(timeout=300) for seat in seats]
    for seat, (out, err) in zip(seats, outputs, strict=True):
        assert seat.returncode == 0, out + err
    assert sum("已载入示例知识库" in out for out, _ in outputs) == 1  # one loads, the other finds it done
    assert count(database, "SELECT count(*) FROM entry") == shipped("entries.jsonl")
    assert count(database, "SELECT count(*) FROM alert_term") == shipped("alert_terms.jsonl")
    assert count(database, "SELECT count(*) FROM alembic_version") == 1


def test_an_init_killed_halfway_leaves_nothing_and_the_next_one_succeeds(database: str, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    seat = subprocess.Popen([HUIYIN, "--basedir", str(tmp_path / "seat1"), "--db", database, "init"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    lock = f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {db.SETUP_LOCK_KEY & 0xFFFFFFFF}"
    while time.monotonic() < deadline and seat.poll() is None and not count(database, lock):
        time.sleep(0.05)  # until the init is inside its set-up transaction
    time.sleep(2)  # well into the load (it takes several seconds)
    assert seat.poll() is None, "init finished before it could be interrupted"
    seat.send_signal(signal.SIGKILL)  # a crash or a power cut halfway through the load
    seat.communicate(timeout=30)
    time.sleep(0.5)
    assert count(database, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == 0

    run = huiyin(tmp_path / "seat1", database, "init")
    assert run.returncode == 0 and "已载入示例知识库" in run.stdout, run.stdout + run.stderr
    assert count(database, "SELECT count(*) FROM alert_term") == shipped("alert_terms.jsonl")
