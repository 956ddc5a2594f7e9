"""The two databases accept the same things: everything the product ships, loaded into PostgreSQL and
into SQLite, is the same table by table, row by row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kb.models import Base
from kb.sample import set_up
from kb.service import DATABASE_ID_SETTING, KnowledgeBase
from tests.conftest import Clock, pg_schema_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from pg_schema_url()


def load_and_dump(url: str, clock: Clock) -> dict[str, list[tuple[Any, ...]]]:
    kb = KnowledgeBase.open(url, upgrade=False, clock=clock)
    try:
        result = set_up(kb)
        assert result.loaded and result.lexicon.ok
        tables: dict[str, list[tuple[Any, ...]]] = {}
        with kb.store.engine.connect() as conn:
            for table in Base.metadata.sorted_tables:
                query = select(table).order_by(*table.primary_key.columns)
                if table.name == "setting":  # each database gets its own random id (KnowledgeBase.database_id)
                    query = query.where(table.c.key != DATABASE_ID_SETTING)
                tables[table.name] = [tuple(r) for r in conn.execute(query).all()]
        return tables
    finally:
        kb.close()


@pytest.mark.pg
@pytest.mark.slow
def test_the_shipped_base_is_identical_on_postgresql_and_sqlite(pg_url: str, tmp_path: Path, clock: Clock) -> None:
    on_sqlite = load_and_dump(f"sqlite:///{tmp_path}/kb.sqlite3", clock)
    on_postgres = load_and_dump(pg_url, clock)
    assert on_sqlite.keys() == on_postgres.keys()
    for name in on_sqlite:
        a, b = on_sqlite[name], on_postgres[name]
        assert len(a) == len(b), f"{name}: {len(a)} rows on SQLite, {len(b)} on PostgreSQL"
        for row_a, row_b in zip(a, b, strict=True):
            assert row_a == row_b, f"{name}: {row_a} != {row_b}"
    for name in ("entry", "department", "alert_term", "alert_kind", "place", "synonym", "routing_rule", "script"):
        assert on_sqlite[name], f"nothing shipped in {name}?"
