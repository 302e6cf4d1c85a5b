"""FHIR search: rid-ordered indexes (measured at 10 M resources, docs/benchmarks-fhir-search.md P2)

A broad search pages by `rid`; with these two indexes the matches of `Observation?code=X` come out in page
order and the first page costs 0.4 ms instead of scanning millions of rows.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_fhir_idx_token_lookup", table_name="fhir_idx_token")
    op.create_index("ix_fhir_idx_token_lookup", "fhir_idx_token", ["res_type", "param", "code", "rid"],
                    postgresql_include=["system"])
    op.create_index("ix_fhir_resource_type_rid", "fhir_resource", ["res_type", "rid"],
                    postgresql_include=["deleted"])


def downgrade() -> None:
    op.drop_index("ix_fhir_resource_type_rid", table_name="fhir_resource")
    op.drop_index("ix_fhir_idx_token_lookup", table_name="fhir_idx_token")
    op.create_index("ix_fhir_idx_token_lookup", "fhir_idx_token", ["res_type", "param", "code", "system"])
