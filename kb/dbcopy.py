"""Copy a whole knowledge base into another, empty database (``huiyin db copy --to URL``).

A center that started on one seat's embedded SQLite moves to a shared PostgreSQL (or keeps a
SQLite backup file) with everything: entries and their history, departments, work orders,
follow-ups, logs, settings — every table of :data:`kb.models.Base.metadata`, in dependency
order, so a table added later is copied without a change here.

* The source is brought to the newest schema first (as every command does) and read inside one
  snapshot (SQLite: a read transaction; PostgreSQL: REPEATABLE READ), table by table in
  primary-key order, streamed in batches: memory does not grow with the number of rows.
* The target gets the schema through the same Alembic migrations and everything happens in one
  transaction under the set-up lock (:func:`kb.db.setup_transaction`): schema, rows, sequences
  and the verification are committed together, or nothing is. A target that holds any row
  (``alembic_version`` aside) is refused: nothing is ever overwritten.
* Verification: per table, the row count and a SHA-256 over a canonical JSON of each row's
  values (dates ISO 8601, JSON keys sorted), rows in primary-key order by code point on both
  sides. The source's digest is taken from the rows as they are copied, the target's from the
  rows read back inside the transaction. A mismatch rolls the transaction back.
* Self-references (a category's or department's parent) are inserted empty and filled in after
  the table's rows, so a parent stored after its child cannot break the foreign key.
* PostgreSQL sequences of integer primary keys are set past the copied ids.

The search index and the work-order history files are not copied: each seat rebuilds them
from the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    bindparam,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from kb import db
from kb.errors import StorageError, ValidationError
from kb.models import Base

BATCH_ROWS = 1000
# (phase, table, rows done, rows in the table); phase is "copy" or "verify".
Progress = Callable[[str, str, int, int], None]
SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class TableResult:
    """One table's verification: rows and SHA-256 on each side."""

    table: str
    source_rows: int
    target_rows: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sha256 == self.target_sha256


@dataclass(frozen=True)
class CopyReport:
    source: str  # URLs as shown (no password)
    target: str
    tables: tuple[TableResult, ...]
    committed: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)

    @property
    def mismatched(self) -> list[str]:
        return [t.table for t in self.tables if not t.ok]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "ok": self.ok, "committed": self.committed,
                "rows": self.rows, "seconds": round(self.seconds, 2),
                "tables": [{"table": t.table, "source_rows": t.source_rows, "target_rows": t.target_rows,
                            "source_sha256": t.source_sha256, "target_sha256": t.target_sha256, "ok": t.ok}
                           for t in self.tables],
                "not_copied": ["search index", "work-order history"]}


class _Mismatch(Exception):
    """Raised inside the target transaction to roll it back; carries the verification."""

    def __init__(self, results: list[TableResult]) -> None:
        super().__init__("verification failed")
        self.results = results


def shown_url(url: str) -> str:
    """A database URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


# ------------------------------------------------------------------------ canonical rows
def _plain(value: object) -> object:
    if hasattr(value, "isoformat"):  # datetime, date, time
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)  # Decimal, UUID


def row_bytes(values: Sequence[Any]) -> bytes:
    """One row as canonical JSON: values in column order, dates ISO 8601, JSON object keys sorted."""
    return json.dumps(list(values), ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=_plain).encode() + b"\n"


class _Digest:
    def __init__(self) -> None:
        self.rows = 0
        self._sha = hashlib.sha256()

    def add(self, values: Sequence[Any]) -> None:
        self.rows += 1
        self._sha.update(row_bytes(values))

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _order(table: Table, dialect: str) -> list[ColumnElement[Any]]:
    """Primary-key order by code point on both databases (PostgreSQL's own collation may differ)."""
    columns = list(table.primary_key.columns) or list(table.columns)
    if dialect != "postgresql":
        return list(columns)  # SQLite compares text as bytes of UTF-8: code point order
    return [c.collate("C") if isinstance(c.type, String) else c for c in columns]


def _stream(conn: Connection, table: Table, batch: int) -> Iterable[Sequence[Sequence[Any]]]:
    """The table's rows in primary-key order, ``batch`` at a time (a server-side cursor on PostgreSQL)."""
    result = conn.execute(select(table).order_by(*_order(table, conn.dialect.name)),
                          execution_options={"yield_per": batch})
    yield from result.partitions()


def table_digest(conn: Connection, table: Table, *, batch: int = BATCH_ROWS,
                 progress: Callable[[int], None] | None = None) -> tuple[int, str]:
    """(rows, SHA-256) of a table as read on ``conn``, the way both sides of a copy are verified."""
    digest = _Digest()
    for rows in _stream(conn, table, batch):
        for row in rows:
            digest.add(row)
        if progress is not None:
            progress(digest.rows)
    return digest.rows, digest.hexdigest()


# ------------------------------------------------------------------------------- the copy
def _same_database(source: str, target: str) -> bool:
    a, b = make_url(source), make_url(target)
    if a.get_backend_name() != b.get_backend_name():
        return False
    if a.get_backend_name() == "sqlite":
        return bool(a.database) and a.database not in (":memory:",) and bool(b.database) and \
            Path(a.database or "").resolve() == Path(b.database or "").resolve()
    return (a.host or "localhost", a.port or 5432, a.database) == (b.host or "localhost", b.port or 5432, b.database)


def _sqlite_target_file(target: str) -> Path | None:
    """The target's SQLite file (checked: an existing file must be a SQLite database), or None."""
    url = make_url(target)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    path = Path(url.database)
    if not path.parent.is_dir():
        raise ValidationError(f"to: 目标数据库文件所在的文件夹不存在：{path.parent}"
                              "（不会自动创建，请先创建或检查路径）")
    if path.is_dir():
        raise ValidationError(f"to: 这是一个文件夹，不是数据库文件：{path}")
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as fh:
            if fh.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise ValidationError(f"to: 目标文件已存在且不是 SQLite 数据库：{path}（不会覆盖）")
    return path


def _first_table_with_rows(conn: Connection) -> str | None:
    """The first table holding a row, in dependency order, then any other table; ``alembic_version`` is skipped."""
    present = set(inspect(conn).get_table_names())
    ordered = [t.name for t in Base.metadata.sorted_tables if t.name in present]
    others = sorted(present - set(ordered) - {"alembic_version"})
    preparer = conn.dialect.identifier_preparer
    for name in ordered + others:
        if conn.execute(text(f"SELECT 1 FROM {preparer.quote(name)} LIMIT 1")).first() is not None:
            return name
    return None


def _self_references(table: Table) -> list[Column[Any]]:
    """Nullable columns referring to the same table (a parent): filled in after the table's rows."""
    return [fk.parent for fk in table.foreign_keys if fk.column.table is table and fk.parent.nullable]


def _copy_table(src: Connection, dst: Connection, table: Table, total: int, batch: int,
                progress: Progress) -> tuple[int, str]:
    keys = [c.key for c in table.columns]
    later = _self_references(table)
    pk = list(table.primary_key.columns)
    deferred: list[dict[str, Any]] = []
    digest = _Digest()
    insert = table.insert()
    progress("copy", table.name, 0, total)
    for rows in _stream(src, table, batch):
        records = []
        for row in rows:
            digest.add(row)
            record = dict(zip(keys, row, strict=True))
            if later and any(record[c.key] is not None for c in later):
                deferred.append({**{f"b_{c.key}": record[c.key] for c in pk},
                                 **{f"b_{c.key}": record[c.key] for c in later}})
                for c in later:
                    record[c.key] = None
            records.append(record)
        if records:
            dst.execute(insert, records)
        progress("copy", table.name, digest.rows, total)
    for start in range(0, len(deferred), batch):
        update = table.update().where(*(c == bindparam(f"b_{c.key}") for c in pk)).values(
            {c.key: bindparam(f"b_{c.key}") for c in later})
        dst.execute(update, deferred[start:start + batch])
    return digest.rows, digest.hexdigest()


def _reset_sequences(dst: Connection) -> None:
    """PostgreSQL: each integer primary key's sequence continues after the largest copied id."""
    if dst.dialect.name != "postgresql":
        return  # SQLite takes max(rowid) + 1 by itself
    preparer = dst.dialect.identifier_preparer
    for table in Base.metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        name, column = preparer.format_table(table), preparer.quote(pk[0].name)
        dst.execute(text(f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                         f"COALESCE(MAX({column}), 0) + 1, false) FROM {name}"),
                    {"table": name, "column": pk[0].name})


def _read_snapshot(conn: Connection) -> None:
    """Start the source's read transaction now, so every table is read at one moment."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")
        conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()  # takes the WAL snapshot
    else:
        conn.execute(select(1))


def _copy(source: Engine, target: Engine, tables: list[Table], batch: int, progress: Progress
          ) -> list[TableResult]:
    isolation = {"isolation_level": "REPEATABLE READ"} if source.dialect.name == "postgresql" else {}
    with source.connect() as src_conn:
        src = src_conn.execution_options(**isolation) if isolation else src_conn
        _read_snapshot(src)
        totals = {t.name: int(src.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables}
        with db.setup_transaction(target) as dst:
            if (busy := _first_table_with_rows(dst)) is not None:
                raise ValidationError(
                    f"to: 目标数据库不是空的（表 {busy} 已有数据）：db copy 只复制到空数据库，"
                    "不会覆盖已有数据；目标数据库未做任何更改")
            _migrate(dst)
            copied: dict[str, tuple[int, str]] = {}
            for table in tables:
                try:
                    copied[table.name] = _copy_table(src, dst, table, totals[table.name], batch, progress)
                except DBAPIError as exc:
                    raise StorageError(f"复制表 {table.name} 时出错，目标数据库未做任何更改："
                                       f"{_first_line(exc.orig)}") from exc
            _reset_sequences(dst)
            results = [_verify(dst, table, copied[table.name], batch, progress) for table in tables]
            if not all(r.ok for r in results):
                raise _Mismatch(results)  # rolls the target transaction back
        src.rollback()
    return results


def _verify(dst: Connection, table: Table, copied: tuple[int, str], batch: int, progress: Progress
            ) -> TableResult:
    """Read the copied table back inside the target transaction and compare it with the source's."""
    progress("verify", table.name, 0, copied[0])
    rows, sha = table_digest(dst, table, batch=batch, progress=lambda n: progress("verify", table.name, n, copied[0]))
    return TableResult(table.name, copied[0], rows, copied[1], sha)


def _migrate(dst: Connection) -> None:
    from alembic.util.exc import CommandError

    try:
        db.migrate(dst)
    except CommandError as exc:  # e.g. a revision this release does not know (a newer Huiyin)
        raise ValidationError(f"to: 目标数据库的结构版本无法识别，请用同一版本的回音：{exc}") from exc


def _reach(target: Engine) -> None:
    try:
        with target.connect():
            pass
    except DBAPIError as exc:
        raise StorageError(f"无法连接目标数据库 (target)：{_first_line(exc.orig)}") from exc


def _first_line(value: object) -> str:
    return str(value).strip().splitlines()[0] if str(value).strip() else type(value).__name__


def _remove_sqlite_file(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy_database(source_url: str, target_url: str, *, batch: int = BATCH_ROWS,
                  progress: Progress | None = None) -> CopyReport:
    """Copy every table of ``source_url`` into the empty database ``target_url``; see the module doc.

    Raises :class:`ValidationError` for a target that is not empty, is the source itself or is not a
    database file, :class:`StorageError` when a database cannot be reached or refuses a row. A failed
    verification returns a report with ``committed=False`` (the target is left as it was).
    """
    started = time.monotonic()
    if _same_database(source_url, target_url):
        raise ValidationError("to: 目标数据库就是当前数据库本身，请给出另一个（空的）数据库")
    target_file = _sqlite_target_file(target_url)
    created = target_file is not None and not target_file.exists()
    report_progress: Progress = progress or (lambda _phase, _table, _done, _total: None)
    target = db.make_engine(target_url)
    committed = False
    tables = list(Base.metadata.sorted_tables)
    try:
        source = db.make_engine(source_url)
    except BaseException:
        target.dispose()
        raise
    try:
        _reach(target)
        db.upgrade(source)
        try:
            results = _copy(source, target, tables, batch, report_progress)
            committed = True
        except _Mismatch as mismatch:
            results = mismatch.results
        except DBAPIError as exc:
            raise StorageError(f"数据库错误 (database)，目标数据库未做任何更改：{_first_line(exc.orig)}") from exc
    finally:
        source.dispose()
        target.dispose()
        if created and not committed and target_file is not None:
            _remove_sqlite_file(target_file)  # a failed copy leaves no new file behind
    return CopyReport(shown_url(source_url), shown_url(target_url), tuple(results), committed,
                      time.monotonic() - started)
