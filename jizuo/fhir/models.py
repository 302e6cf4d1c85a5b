"""FHIR store tables: current resources, earlier versions, and one typed search-index table per kind.

One table per concern, not per resource type (DESIGN §3). `rid` is a bigint surrogate so index rows stay
narrow; `res_type` is repeated in the index tables so the leading index columns are selective on their own.
`history` holds earlier versions only, so a bulk load writes each resource's JSON once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, Numeric, String, Table, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from jizuo.core.db import Base


class FhirResource(Base):
    __tablename__ = "fhir_resource"

    rid: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    res_type: Mapped[str] = mapped_column(String(64))
    id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    resource: Mapped[dict[str, Any]] = mapped_column(JSONB)

    __table_args__ = (
        Index("uq_fhir_resource_type_id", "res_type", "id", unique=True),
        Index("ix_fhir_resource_type_updated", "res_type", "last_updated", "rid"),
        Index("ix_fhir_resource_type_rid", "res_type", "rid", postgresql_include=["deleted"]),
        Index("ix_fhir_resource_updated", "last_updated", "rid"),
    )


class FhirHistory(Base):
    __tablename__ = "fhir_history"

    rid: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    res_type: Mapped[str] = mapped_column(String(64))
    id: Mapped[str] = mapped_column(String(64))
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    resource: Mapped[dict[str, Any] | None] = mapped_column(JSONB)

    __table_args__ = (Index("ix_fhir_history_updated", "last_updated"),
                      Index("ix_fhir_history_type_updated", "res_type", "last_updated"))


def _index_table(name: str, *columns: Column[Any], indexes: list[Index]) -> Table:
    """Index rows have no key of their own: they are found by value and deleted by `rid`."""
    return Table(name, Base.metadata,
                 Column("rid", BigInteger, nullable=False),
                 Column("res_type", String(64), nullable=False),
                 Column("param", String(64), nullable=False),
                 *columns, *indexes)


idx_token = _index_table(
    "fhir_idx_token", Column("system", Text), Column("code", Text), Column("display", Text),
    # `rid` in the key: an unsorted search pages by rid, so matches come out of the index in page order;
    # `system` rides along (INCLUDE) for `system|code` without a heap visit.
    indexes=[Index("ix_fhir_idx_token_lookup", "res_type", "param", "code", "rid", postgresql_include=["system"]),
             Index("ix_fhir_idx_token_rid", "rid")])
idx_string = _index_table(
    "fhir_idx_string", Column("value_norm", Text, nullable=False), Column("value_exact", Text, nullable=False),
    indexes=[Index("ix_fhir_idx_string_lookup", "res_type", "param", "value_norm",
                   postgresql_ops={"value_norm": "text_pattern_ops"}),
             Index("ix_fhir_idx_string_rid", "rid")])
idx_date = _index_table(
    "fhir_idx_date", Column("low", DateTime(timezone=True), nullable=False),
    Column("high", DateTime(timezone=True), nullable=False),
    indexes=[Index("ix_fhir_idx_date_lookup", "res_type", "param", "low", "high"),
             Index("ix_fhir_idx_date_rid", "rid", "param")])
idx_reference = _index_table(
    "fhir_idx_reference", Column("target_type", String(64)), Column("target_id", String(64)),
    Column("url", Text, nullable=False),
    indexes=[Index("ix_fhir_idx_reference_target", "target_id", "target_type", "res_type", "param"),
             Index("ix_fhir_idx_reference_rid", "rid")])
idx_quantity = _index_table(
    "fhir_idx_quantity", Column("value", Numeric, nullable=False), Column("system", Text), Column("code", Text),
    indexes=[Index("ix_fhir_idx_quantity_lookup", "res_type", "param", "value"),
             Index("ix_fhir_idx_quantity_rid", "rid")])
idx_number = _index_table(
    "fhir_idx_number", Column("value", Numeric, nullable=False),
    indexes=[Index("ix_fhir_idx_number_lookup", "res_type", "param", "value"),
             Index("ix_fhir_idx_number_rid", "rid")])
idx_uri = _index_table(
    "fhir_idx_uri", Column("value", Text, nullable=False),
    indexes=[Index("ix_fhir_idx_uri_lookup", "res_type", "param", "value"), Index("ix_fhir_idx_uri_rid", "rid")])

# extract_index() field name → (table, its value columns after rid, res_type, param)
INDEX_TABLES: dict[str, Table] = {
    "tokens": idx_token, "strings": idx_string, "dates": idx_date, "references": idx_reference,
    "quantities": idx_quantity, "numbers": idx_number, "uris": idx_uri,
}
