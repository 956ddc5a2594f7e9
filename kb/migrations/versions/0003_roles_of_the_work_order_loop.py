"""roles of the work-order loop: supervisor 值班长, dispatcher 派单员, followup 回访员

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 22:10:00

The check constraint on ``app_user.role`` takes the roles of the product glossary (kb/vocab.py
ROLES). PostgreSQL drops and adds the constraint; SQLite cannot alter a constraint, so batch mode
rebuilds ``app_user`` (nothing refers to it: no ON DELETE action fires) and copies its rows.
The lists are written out here, not read from kb/vocab.py: a migration keeps meaning what it meant.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("agent", "editor", "reviewer", "admin")
NEW_ROLES = ("agent", "editor", "reviewer", "supervisor", "admin", "dispatcher", "followup")


def _role_in(roles: Sequence[str]) -> str:
    return "role IN ({})".format(", ".join(f"'{r}'" for r in roles))


def _set_roles(roles: Sequence[str]) -> None:
    with op.batch_alter_table("app_user") as batch:
        batch.drop_constraint("ck_user_role", type_="check")
        batch.create_check_constraint("ck_user_role", _role_in(roles))


def upgrade() -> None:
    _set_roles(NEW_ROLES)


def downgrade() -> None:  # fails (changing nothing) while a user holds one of the new roles
    _set_roles(OLD_ROLES)
