"""free text columns become Text (alert lines, transfer instructions, department phones and hours)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 21:30:00

PostgreSQL refused the shipped alert lexicon (two example lines of 323 characters in
``alert_term.pattern`` VARCHAR(300)), so ``init`` stopped with no alert lines loaded.
VARCHAR(n) → TEXT is binary-compatible on PostgreSQL: no table rewrite, no data change.

SQLite does not enforce declared lengths and gives VARCHAR(n) and TEXT the same text
affinity, so there is nothing to carry along there. Altering a type on SQLite means
recreating the table (batch mode), and dropping ``department`` with foreign keys on would
fire the ON DELETE actions of the entries and routing rules that point at it: skipped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("alert_term", "pattern", 300), ("alert_kind", "transfer_to", 100), ("department", "phone", 100),
           ("department", "duty_phone", 100), ("department", "transfer_phone", 100), ("department", "hours", 200))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, length in COLUMNS:
        op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(length), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, length in COLUMNS:  # fails (changing nothing) if a longer value is stored
        op.alter_column(table, column, type_=sa.String(length), existing_type=sa.Text(), existing_nullable=False)
