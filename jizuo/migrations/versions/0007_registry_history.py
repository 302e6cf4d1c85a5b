"""Registry: change history of organizations, practitioners and teams

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows that the console edits get a version (optimistic concurrency) and, where missing, an updated_at.
_VERSIONED = ("organization", "department", "practitioner", "care_team")
_NEW_UPDATED_AT = ("department", "practitioner", "care_team")


def upgrade() -> None:
    for table in _VERSIONED:
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    for table in _NEW_UPDATED_AT:
        op.add_column(table, sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                                       nullable=False))
    op.create_table(
        "registry_change",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("changed", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_change")),
    )
    op.create_index("ix_registry_change_entity", "registry_change", ["entity_type", "entity_id", "at"], unique=False)
    op.create_index("ix_registry_change_at", "registry_change", ["at"], unique=False)
    op.create_index(op.f("ix_registry_change_organization_id"), "registry_change", ["organization_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_registry_change_organization_id"), table_name="registry_change")
    op.drop_index("ix_registry_change_at", table_name="registry_change")
    op.drop_index("ix_registry_change_entity", table_name="registry_change")
    op.drop_table("registry_change")
    for table in _NEW_UPDATED_AT:
        op.drop_column(table, "updated_at")
    for table in _VERSIONED:
        op.drop_column(table, "version")
