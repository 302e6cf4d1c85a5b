"""Scorecard queries: quality of what each institution sent, per data set and day, from the ingest records.

The figures describe records as they arrived (a later fix releases a record but does not improve the
score its institution earned on the day):
- completeness  = filled required fields / required fields
- conformity    = records without a conformity failure / records
- logic         = records without a logic failure / records
- timeliness    = records received within the data set's time limit / records
- error rate    = records held in quarantine on arrival / records
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import Date, any_, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import SHANGHAI
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.ingest.models import IngestRecord
from jizuo.platform.registry.models import Organization

GroupBy = Literal["institution", "dataset", "day", "institution_dataset"]
HELD_ON_ARRIVAL = ("quarantined", "released", "discarded", "superseded")


def _day_column() -> Any:
    return cast(func.timezone("Asia/Shanghai", IngestRecord.received_at), Date).label("day")


def _has(dimension: str) -> Any:
    return literal(dimension) == any_(IngestRecord.dimensions)


async def scorecard(db: AsyncSession, scope: AccessScope, *, group_by: GroupBy, start: date, end: date,
                    institution_id: uuid.UUID | None = None, dataset_code: str | None = None
                    ) -> list[dict[str, Any]]:
    r = IngestRecord
    day = _day_column()
    groups: dict[str, list[Any]] = {
        "institution": [r.institution_id, Organization.code, Organization.name],
        "dataset": [r.dataset_code],
        "day": [day],
        "institution_dataset": [r.institution_id, Organization.code, Organization.name, r.dataset_code],
    }
    keys = groups[group_by]
    n = func.count()
    query = (select(*keys, n.label("records"),
                    func.count().filter(r.status == "duplicate").label("duplicates"),
                    func.count().filter(r.status.in_(HELD_ON_ARRIVAL)).label("held"),
                    func.count().filter(r.status == "quarantined").label("still_held"),
                    func.coalesce(func.sum(r.required_filled), 0).label("required_filled"),
                    func.coalesce(func.sum(r.required_total), 0).label("required_total"),
                    func.count().filter(_has("conformity")).label("conformity_failed"),
                    func.count().filter(_has("logic")).label("logic_failed"),
                    func.count().filter(r.late.is_(True)).label("late"))
             .select_from(r).outerjoin(Organization, Organization.id == r.institution_id)
             .where(r.received_at >= datetime.combine(start, time(), SHANGHAI),
                    r.received_at < datetime.combine(end + timedelta(days=1), time(), SHANGHAI))
             .group_by(*keys).order_by(*keys))
    if scope.personal_data_reach is not Reach.DISTRICT and scope.role != "regulator":
        query = query.where(r.institution_id == scope.organization_id)
    if institution_id:
        query = query.where(r.institution_id == institution_id)
    if dataset_code:
        query = query.where(r.dataset_code == dataset_code)
    rows = (await db.execute(query)).mappings().all()
    return [_rates(dict(row)) for row in rows]


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    records = row["records"] or 1
    row["completeness"] = round(row["required_filled"] / row["required_total"], 4) if row["required_total"] else 1.0
    row["conformity"] = round(1 - row["conformity_failed"] / records, 4)
    row["logic"] = round(1 - row["logic_failed"] / records, 4)
    row["timeliness"] = round(1 - row["late"] / records, 4)
    row["error_rate"] = round(row["held"] / records, 4)
    row["score"] = round((row["completeness"] + row["conformity"] + row["logic"] + row["timeliness"]) / 4 * 100, 1)
    return row

