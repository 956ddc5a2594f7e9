"""Alembic environment: ``kb.db.migrate`` hands in a connection inside the set-up transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from kb.models import Base

config = context.config
target_metadata = Base.metadata


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=target_metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():  # joins the caller's transaction when there is one
        context.run_migrations()


def run_migrations() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _run(conn)
        return
    engine = config.attributes.get("engine")
    if engine is None:  # plain `alembic` command line: take the URL from the ini
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.begin() as conn:
        _run(conn)


run_migrations()
