"""Shared fixtures. Qt runs offscreen; PostgreSQL tests get a throwaway schema."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from datetime import datetime

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any Qt import
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

import pytest  # noqa: E402

from kb.service import KnowledgeBase  # noqa: E402

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(PG_URL)
        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database,
                             connect_timeout=3):
            return None
    except Exception as exc:  # any failure means "no PostgreSQL here"
        return f"PostgreSQL not reachable at {PG_URL}: {exc}".splitlines()[0]


_PG_REASON = _pg_reason()


def pytest_report_header(config: pytest.Config) -> str:
    return "postgresql: " + ("available" if _PG_REASON is None else _PG_REASON)


def pg_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards."""
    if _PG_REASON is not None:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {_PG_REASON}")
        pytest.skip(_PG_REASON)
    import psycopg
    from sqlalchemy.engine import make_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    u = make_url(PG_URL)
    conninfo = dict(host=u.host, port=u.port or 5432, user=u.username, dbname=u.database, autocommit=True)
    with psycopg.connect(**conninfo) as conn:  # type: ignore[arg-type]
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield u.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(**conninfo) as conn:  # type: ignore[arg-type]
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


class Clock:
    """A settable clock for deterministic timestamps."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 28, 10, 0, 0))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """Each storage test runs on the embedded SQLite file and on a real PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/kb.sqlite3"
    else:
        yield from pg_schema_url()


@pytest.fixture
def kb(db_url: str, clock: Clock) -> Iterator[KnowledgeBase]:
    base = KnowledgeBase.open(db_url, clock=clock)
    yield base
    base.close()


@pytest.fixture
def sqlite_kb(tmp_path: os.PathLike[str], clock: Clock) -> Iterator[KnowledgeBase]:
    base = KnowledgeBase.open(f"sqlite:///{tmp_path}/kb.sqlite3", clock=clock)
    yield base
    base.close()
