"""No database call waits forever: a silent server or network fails fast as StorageError.

The PostgreSQL tests talk to the real server through small TCP stand-ins: a listener that
accepts and never answers (a black hole at connect time), and a proxy that can freeze (the
connection stays open, nothing arrives: a hung VPN or NAT, a frozen proxy).
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from kb import db
from kb.errors import StorageError, ValidationError
from kb.service import KnowledgeBase
from tests.conftest import pg_schema_url

T = TypeVar("T")


def finishes_within(seconds: float, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread; fail the test (instead of hanging it) when it takes longer."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"still waiting after {seconds} s: the call would wait forever")
    box["elapsed"] = time.monotonic() - started
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


class Proxy:
    """A TCP proxy to PostgreSQL on a free loopback port; ``freeze()`` stops forwarding (sockets stay open)."""

    def __init__(self, target: tuple[str, int], *, forward: bool = True) -> None:
        self.target = target
        self.forward = forward
        self.frozen = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.stopped = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                ready, _, _ = select.select([self.server], [], [], 0.1)
                if not ready:
                    continue
                client, _ = self.server.accept()
            except OSError:  # closed
                return
            self.sockets.append(client)
            if self.forward:
                upstream = socket.create_connection(self.target)
                self.sockets.append(upstream)
                threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        while not self.stopped.is_set():
            if self.frozen.is_set():  # nothing passes, nothing is closed
                time.sleep(0.05)
                continue
            ready, _, _ = select.select([a, b], [], [], 0.05)
            for s in ready:
                try:
                    data = s.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                peer[s].sendall(data)

    def url(self, base: str, **query: str) -> str:
        u = make_url(base).set(host="127.0.0.1", port=self.port)
        return u.update_query_dict(query).render_as_string(hide_password=False)

    def freeze(self) -> None:
        self.frozen.set()

    def close(self) -> None:
        self.stopped.set()
        for s in [self.server, *self.sockets]:
            s.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_schema_url()


@pytest.fixture
def target(pg_url: str) -> tuple[str, int]:
    u = make_url(pg_url)
    return u.host or "127.0.0.1", u.port or 5432


# --------------------------------------------------------------------------------- PostgreSQL
@pytest.mark.pg
def test_a_server_that_never_answers_the_connection_fails_fast(pg_url: str, target: tuple[str, int]) -> None:
    hole = Proxy(target, forward=False)  # accepts, then silence
    try:
        with pytest.raises(StorageError):
            finishes_within(db.DEFAULT_TIMEOUTS.connect + 10, lambda: KnowledgeBase.open(hole.url(pg_url)))
    finally:
        hole.close()


@pytest.mark.pg
def test_a_connection_gone_silent_in_a_transaction_fails_fast(pg_url: str, target: tuple[str, int]) -> None:
    proxy = Proxy(target)
    kb = KnowledgeBase.open(proxy.url(pg_url, answer_timeout="2"))

    def stuck_mid_transaction() -> None:
        with kb.store.session() as s:
            s.execute(text("SELECT 1"))
            proxy.freeze()  # the statement goes out, nothing comes back
            s.execute(text("SELECT 2"))

    try:
        with pytest.raises(StorageError, match="2 秒没有应答"):
            finishes_within(20, stuck_mid_transaction)
    finally:
        kb.close()
        proxy.close()


@pytest.mark.pg
def test_a_connection_gone_silent_fails_fast_and_the_next_call_reconnects(
        pg_url: str, target: tuple[str, int]) -> None:
    proxy = Proxy(target)
    kb = KnowledgeBase.open(proxy.url(pg_url, answer_timeout="2", connect_timeout="2"))
    try:
        assert kb.revision() == 0
        proxy.freeze()
        started = time.monotonic()
        with pytest.raises(StorageError):  # the pool's ping gets no answer, then neither does a new connection
            finishes_within(20, kb.revision)
        assert time.monotonic() - started < 10
        proxy.frozen.clear()  # the network is back: a new connection, no stale one from the pool
        assert finishes_within(20, kb.revision) == 0
    finally:
        kb.close()
        proxy.close()


@pytest.mark.pg
def test_a_statement_stuck_behind_a_lock_is_cancelled_by_the_server(pg_url: str) -> None:
    kb = KnowledgeBase.open(make_url(pg_url).update_query_dict({"statement_timeout": "1"})
                            .render_as_string(hide_password=False))
    other = db.make_engine(pg_url)
    try:
        with other.connect() as conn:
            conn.execute(text("LOCK TABLE change_log IN ACCESS EXCLUSIVE MODE"))  # held until rollback
            with pytest.raises(StorageError, match="statement timeout"):
                finishes_within(15, kb.revision)
            conn.rollback()
        assert kb.revision() == 0
    finally:
        kb.close()
        other.dispose()


@pytest.mark.pg
def test_every_connection_carries_the_timeouts(pg_url: str) -> None:
    engine = db.make_engine(pg_url)  # the fixture's URL already has options (search_path): both must apply
    try:
        with engine.connect() as conn:
            ms: dict[str, int] = dict(conn.execute(text("SELECT name, setting::int FROM pg_settings WHERE name IN "
                                        "('statement_timeout', 'idle_in_transaction_session_timeout')")).all())
            search_path = conn.execute(text("SHOW search_path")).scalar()
            raw = conn.connection.dbapi_connection
            assert raw is not None
            sock = socket.socket(fileno=raw.pgconn.socket)
            try:
                keepalive = sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
                idle = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE)
            finally:
                sock.detach()
    finally:
        engine.dispose()
    d = db.DEFAULT_TIMEOUTS
    assert ms == {"statement_timeout": d.statement * 1000,
                  "idle_in_transaction_session_timeout": d.idle_in_transaction * 1000}
    assert str(search_path).startswith("t_")
    assert keepalive and idle == d.keepalives_idle


@pytest.mark.pg
def test_a_session_left_idle_in_a_transaction_is_ended_by_the_server(pg_url: str) -> None:
    engine = db.make_engine(make_url(pg_url).update_query_dict({"idle_in_transaction_session_timeout": "1"})
                            .render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))  # a transaction is open now
            time.sleep(2.5)
            with pytest.raises(DBAPIError, match=r"idle-in-transaction|terminat|closed"):
                conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def test_timeouts_in_the_url_are_checked() -> None:
    with pytest.raises(ValidationError, match="statement_timeout"):
        db.make_engine("postgresql+psycopg://u@127.0.0.1/x?statement_timeout=soon")
    with pytest.raises(ValidationError, match="answer_timeout"):
        db.make_engine("postgresql+psycopg://u@127.0.0.1/x?answer_timeout=-1")


# ------------------------------------------------------------------------------------- SQLite
def test_a_missing_sqlite_folder_is_bad_input_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    with pytest.raises(ValidationError, match="文件夹不存在"):
        KnowledgeBase.open(f"sqlite:///{missing}/kb.sqlite3")
    assert not missing.parent.exists()
    with pytest.raises(ValidationError, match="文件夹"):
        KnowledgeBase.open(f"sqlite:///{tmp_path}")
