"""Data standards catalogue: value domains, data elements, data sets, versions

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "std_value_domain",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("standard", sa.String(length=200), nullable=True),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_std_value_domain")),
    )
    op.create_table(
        "std_data_element",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=4), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("value_domain", sa.String(length=64), nullable=True),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["value_domain"], ["std_value_domain.code"],
                                name=op.f("fk_std_data_element_value_domain_std_value_domain")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_std_data_element")),
    )
    op.create_index(op.f("ix_std_data_element_name"), "std_data_element", ["name"], unique=False)
    op.create_index(op.f("ix_std_data_element_value_domain"), "std_data_element", ["value_domain"], unique=False)
    op.create_table(
        "std_data_set_version",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("spec", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.String(length=64), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_std_data_set_version")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_std_data_set_version_code")),
        sa.UniqueConstraint("code", "revision", name="uq_std_data_set_version_code_revision"),
    )
    op.create_index("uq_std_data_set_version_published", "std_data_set_version", ["code"], unique=True,
                    postgresql_where=sa.text("status = 'published'"))


def downgrade() -> None:
    op.drop_index("uq_std_data_set_version_published", table_name="std_data_set_version",
                  postgresql_where=sa.text("status = 'published'"))
    op.drop_table("std_data_set_version")
    op.drop_index(op.f("ix_std_data_element_value_domain"), table_name="std_data_element")
    op.drop_index(op.f("ix_std_data_element_name"), table_name="std_data_element")
    op.drop_table("std_data_element")
    op.drop_table("std_value_domain")
