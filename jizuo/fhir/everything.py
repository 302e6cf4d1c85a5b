"""Patient/$everything: the patient and every resource in their compartment, paged by rid."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from jizuo.fhir import service, store
from jizuo.fhir.compartment import patient_params
from jizuo.fhir.errors import FhirError
from jizuo.fhir.models import idx_reference
from jizuo.fhir.service import FhirContext


async def everything(ctx: FhirContext, base: str, patient_id: str, count: int, cursor: str | None) -> dict[str, Any]:
    patient = await service.read(ctx, "Patient", patient_id)
    after = 0
    if cursor:
        if not cursor.isdigit():
            raise FhirError("翻页游标无效", code="invalid_cursor")
        after = int(cursor)
    r = idx_reference
    rows = await ctx.db.execute(
        select(r.c.rid, r.c.res_type, r.c.param)
        .distinct()
        .where(r.c.target_type == "Patient", r.c.target_id == patient_id, r.c.rid > after)
        .order_by(r.c.rid)
        .limit(count * 4 + 1)
    )
    rids: list[int] = []
    for rid, res_type, param in rows:
        if param in patient_params(res_type) and rid not in rids:
            rids.append(rid)
    page, more = rids[:count], len(rids) > count
    members = await store.get_by_rids(ctx.db, page)
    ctx.audit.record("everything", "Patient", patient_id, detail={"returned": len(members) + 1})
    entries = (
        []
        if cursor
        else [
            {
                "fullUrl": f"{base}/Patient/{patient.id}",
                "resource": service.to_client(ctx, patient),
                "search": {"mode": "match"},
            }
        ]
    )
    entries += [
        {"fullUrl": f"{base}/{m.res_type}/{m.id}", "resource": service.to_client(ctx, m), "search": {"mode": "match"}}
        for m in members
    ]
    links = [{"relation": "self", "url": f"{base}/Patient/{patient_id}/$everything"}]
    if more:
        links.append(
            {"relation": "next", "url": f"{base}/Patient/{patient_id}/$everything?_count={count}&_cursor={page[-1]}"}
        )
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "searchset", "link": links, "entry": entries}
