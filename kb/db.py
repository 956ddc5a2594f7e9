"""Engine creation, timeouts, the set-up lock and schema upgrades (Alembic), for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from kb import limits
from kb.errors import StorageError, ValidationError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration. A start on an up-to-date database checks only this and
# skips importing Alembic (0.2 s); tests/kb/test_storage.py keeps it equal to Alembic's head.
HEAD_REVISION = "0003"

# pg_advisory_xact_lock key of the set-up (schema upgrade and initial load): "huiyin" in ASCII.
SETUP_LOCK_KEY = 0x687569_79696E
# Set-up may wait for another seat's initial load and run a long migration: its own, generous limit.
SETUP_TIMEOUT_S = 600
SQLITE_BUSY_TIMEOUT_MS = 15_000
ANSWER_WATCH_TICK_S = 0.5


@dataclass(frozen=True)
class Timeouts:
    """How long a PostgreSQL seat waits before it calls the database unavailable (seconds).

    Each can be set in the database URL's query: the libpq names ``connect_timeout``,
    ``keepalives_idle``, ``keepalives_interval``, ``keepalives_count``, ``tcp_user_timeout``
    (milliseconds, as libpq has it), and Huiyin's ``statement_timeout``,
    ``idle_in_transaction_session_timeout`` and ``answer_timeout`` (seconds; 0 switches one off).
    """

    connect: int = 5  # no answer to the connection attempt
    statement: int = 20  # the server cancels a statement running longer (a lock wait, a runaway query)
    idle_in_transaction: int = 60  # the server ends a session idling inside an open transaction
    answer: int = 30  # the client gives up on a server that sends nothing (the network black hole)
    keepalives_idle: int = 10  # TCP keepalives: a vanished server is noticed in idle + interval × count
    keepalives_interval: int = 5
    keepalives_count: int = 3
    tcp_user_timeout: int = 25  # sent data unacknowledged this long: the connection is dead (Linux)


DEFAULT_TIMEOUTS = Timeouts()
_HUIYIN_QUERY_KEYS = ("statement_timeout", "idle_in_transaction_session_timeout", "answer_timeout")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _seconds(url: URL, key: str, default: int) -> int:
    raw = url.query.get(key)
    if raw is None:
        return default
    value = raw[-1] if isinstance(raw, tuple) else raw
    try:
        seconds = int(value)
    except ValueError:
        raise ValidationError(f"database_url: {key} 应为秒数（整数）：{value}") from None
    if seconds < 0:
        raise ValidationError(f"database_url: {key} 不能为负数：{value}")
    return seconds


def _postgres_args(url: URL) -> tuple[URL, dict[str, Any], int]:
    """(URL without Huiyin's keys, psycopg connect arguments, client answer timeout in seconds)."""
    d = DEFAULT_TIMEOUTS
    statement = _seconds(url, "statement_timeout", d.statement)
    idle = _seconds(url, "idle_in_transaction_session_timeout", d.idle_in_transaction)
    answer = _seconds(url, "answer_timeout", statement + d.answer - d.statement if statement else 0)
    url = url.difference_update_query(_HUIYIN_QUERY_KEYS)
    args: dict[str, Any] = {}
    for key, value in (("connect_timeout", d.connect), ("keepalives", 1), ("keepalives_idle", d.keepalives_idle),
                       ("keepalives_interval", d.keepalives_interval), ("keepalives_count", d.keepalives_count),
                       ("tcp_user_timeout", d.tcp_user_timeout * 1000)):
        if key not in url.query:
            args[key] = value
    raw_options = url.query.get("options", "")
    options = " ".join(raw_options) if isinstance(raw_options, tuple) else raw_options
    extra = [f"-c {name}={seconds * 1000}" for name, seconds in
             (("statement_timeout", statement), ("idle_in_transaction_session_timeout", idle))
             if name not in options]
    if extra:
        url = url.difference_update_query(["options"])
        args["options"] = " ".join([options, *extra]).strip()
    return url, args, answer


def make_engine(url: str) -> Engine:
    """Create an engine: SQLite gets WAL, foreign keys and a busy timeout; PostgreSQL gets timeouts.

    A SQLite file's folder must exist (a mistyped ``--db`` path is bad input, not a new folder).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StorageError(f"数据库地址 (database URL) 无法识别：{url}") from exc
    kwargs: dict[str, Any] = {"future": True}
    answer = 0
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:" and not db.startswith("file:"):
            path = Path(db)
            if not path.parent.is_dir():
                raise ValidationError(f"database_url: 数据库文件所在的文件夹不存在：{path.parent}"
                                      "（请先创建该文件夹，或检查 --db 路径是否写错）")
            if path.is_dir():
                raise ValidationError(f"database_url: 这是一个文件夹，不是数据库文件：{path}")
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        # psycopg parses every statement it has not cached (it caches only short ones): many small
        # INSERT pages beat a few huge ones, 2.4x on a 10k-entry import.
        kwargs["insertmanyvalues_page_size"] = 50
        if parsed.get_driver_name() == "psycopg":
            parsed, kwargs["connect_args"], answer = _postgres_args(parsed)
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    elif parsed.get_driver_name() == "psycopg":
        event.listen(engine, "do_connect", _guarded_connect(answer))
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


# ------------------------------------------------------------------ the client-side answer timeout
class _AnswerWatch:
    """Cuts a PostgreSQL connection that has waited too long for the server's answer.

    The server's statement_timeout cannot help when nothing reaches the server or nothing comes
    back while the connection stays open (a frozen proxy or VPN, a network black hole whose far
    end still acknowledges TCP): the client would wait forever. One thread watches every call
    that waits on the network and shuts the socket down at its deadline; the waiting call then
    fails at once with a connection error, and the pool drops the connection.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[int, tuple[float, int]] = {}  # id(connection) → (deadline, socket)
        self._cut: set[int] = set()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, conn: Any) -> Iterator[None]:
        limit = getattr(conn, "answer_timeout", 0)
        if not limit or conn.closed:
            yield
            return
        key = id(conn)
        with self._lock:
            self._due[key] = (time.monotonic() + limit, conn.pgconn.socket)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="db-answer-watch", daemon=True)
                self._thread.start()
        try:
            yield
        except Exception as exc:
            with self._lock:
                cut = key in self._cut
            if cut:
                import psycopg

                raise psycopg.OperationalError(
                    f"数据库服务器 {limit:g} 秒没有应答（网络中断或服务器无响应），连接已断开") from exc
            raise
        finally:
            with self._lock:
                self._due.pop(key, None)
                self._cut.discard(key)

    def _run(self) -> None:
        # A look twice a second: arming a call costs a dict entry, not a wake-up (imports run
        # thousands of statements), and a deadline is kept to within half a second.
        while True:
            time.sleep(ANSWER_WATCH_TICK_S)
            with self._lock:
                now = time.monotonic()
                for key, (deadline, fd) in list(self._due.items()):
                    if deadline <= now:
                        del self._due[key]
                        self._cut.add(key)
                        _shut_down(fd)


def _shut_down(fd: int) -> None:
    """Shut a socket down without closing its descriptor (the driver still owns it)."""
    log.warning("database server sent no answer in time: closing the connection")
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()


_WATCH = _AnswerWatch()


@cache
def _guarded_classes() -> tuple[type[Any], type[Any]]:
    """psycopg Connection and Cursor classes whose network waits are watched (psycopg loads on demand)."""
    import psycopg

    class GuardedCursor(psycopg.Cursor[Any]):
        def execute(self, *args: Any, **kwargs: Any) -> Any:
            with _WATCH.watching(self.connection):
                return super().execute(*args, **kwargs)

        def executemany(self, *args: Any, **kwargs: Any) -> None:
            with _WATCH.watching(self.connection):
                super().executemany(*args, **kwargs)

    class GuardedConnection(psycopg.Connection[Any]):
        answer_timeout: float = 0

        def commit(self) -> None:
            with _WATCH.watching(self):
                super().commit()

        def rollback(self) -> None:
            with _WATCH.watching(self):
                super().rollback()

    return GuardedConnection, GuardedCursor


def _guarded_connect(answer: int) -> Any:
    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        connection_cls, cursor_cls = _guarded_classes()
        conn = connection_cls.connect(*cargs, cursor_factory=cursor_cls, **cparams)
        conn.answer_timeout = answer
        return conn

    return connect


# --------------------------------------------------------------------- set-up lock and migrations
@contextmanager
def setup_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction holding the set-up lock, committed at the end, rolled back on any error.

    Schema upgrade and initial load run inside it, so they happen whole or not at all; a second
    seat starting at the same moment waits here and then finds the work done. PostgreSQL takes a
    transaction-scoped advisory lock; SQLite a write lock (``BEGIN IMMEDIATE``).
    """
    try:
        with engine.connect() as conn:
            backend = conn.dialect.name
            raw = conn.connection.dbapi_connection
            answer = getattr(raw, "answer_timeout", None)
            try:
                if backend == "postgresql":
                    if answer is not None:
                        raw.answer_timeout = SETUP_TIMEOUT_S + 30  # type: ignore[union-attr]
                    conn.execute(text(f"SET LOCAL statement_timeout = '{SETUP_TIMEOUT_S}s'"))
                    conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = '{SETUP_TIMEOUT_S}s'"))
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK_KEY})
                elif backend == "sqlite":
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={SETUP_TIMEOUT_S * 1000}")
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                if backend == "sqlite":
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                if answer is not None:
                    raw.answer_timeout = answer  # type: ignore[union-attr]
    except DBAPIError as exc:
        raise StorageError(f"数据库错误 (database)：{exc.orig}") from exc


def _alembic_config(bind: Engine | Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection" if isinstance(bind, Connection) else "engine"] = bind
    return cfg


def _revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(conn: Connection) -> bool:
    """Bring the schema to the newest revision inside ``conn``'s transaction. True when anything ran."""
    current = _revision(conn)
    if current == HEAD_REVISION:
        return False
    from alembic import command
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(conn)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    if current == head:
        return False
    log.info("upgrading database schema %s -> %s", current, head)
    command.upgrade(cfg, "head")
    return True


def upgrade(engine: Engine) -> bool:
    """Bring the schema to the newest revision (under the set-up lock). Returns True when anything ran."""
    try:
        with engine.connect() as conn:
            if _revision(conn) == HEAD_REVISION:
                return False
    except DBAPIError as exc:
        raise StorageError(f"无法连接数据库 (database)：{exc.orig}") from exc
    with setup_transaction(engine) as conn:
        return migrate(conn)


def stored_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database (None: no schema yet), without importing Alembic."""
    try:
        with engine.connect() as conn:
            return _revision(conn)
    except DBAPIError as exc:
        raise StorageError(f"无法连接数据库 (database)：{exc.orig}") from exc


def schema_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


def session_factory(bind: Engine | Connection) -> sessionmaker[Session]:
    """Sessions on ``bind``; on a connection they join its transaction (a failure rolls all of it back).

    Every session checks the rows it flushes against the models (:mod:`kb.limits`).
    """
    if isinstance(bind, Connection):
        return limits.guard(sessionmaker(bind=bind, expire_on_commit=False, join_transaction_mode="rollback_only"))
    return limits.guard(sessionmaker(bind, expire_on_commit=False))
