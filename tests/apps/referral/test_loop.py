"""Loop closing: a signed resident's Encounter written anywhere (FHIR API, transaction bundle) tells their
family-doctor team once, whatever its versions; it shows in the family doctor's visits list; nothing for an
unknown patient, nothing for a rolled-back write, nobody else sees the list."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral import loop
from jizuo.apps.referral.models import ReferralVisit
from jizuo.platform.notifications.models import Notification
from tests.apps.referral.helpers import API, HOSPITAL, org_id, signed_resident
from tests.conftest import TokenFor, bearer

FHIR = "application/fhir+json"


def encounter(patient_id: str, code: str = "AMB", reason: str = "头晕、血压升高", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code},
            "subject": {"reference": f"Patient/{patient_id}"},
            "serviceProvider": {"reference": f"Organization/{org_id(HOSPITAL)}"},
            "period": {"start": "2026-11-20T09:30:00+08:00"}, "reasonCode": [{"text": reason}], **extra}


async def visit_notices(db: AsyncSession, encounter_id: str) -> int:
    return int(await db.scalar(select(func.count()).select_from(Notification).where(
        Notification.kind == "referral.visit", Notification.link.like(f"%encounter={encounter_id}"))) or 0)


async def test_encounter_of_a_signed_resident_tells_the_team_once(client: httpx.AsyncClient, db: AsyncSession,
                                                                   token_for: TokenFor) -> None:
    resident, _ = await signed_resident(db)
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    family = await token_for("family_doctor")
    created = await client.post("/fhir/Encounter", json=encounter(str(resident.id)), headers=doctor)
    assert created.status_code == 201, created.text
    eid = created.json()["id"]
    assert await visit_notices(db, eid) == 1  # one notice per Encounter: the team's family doctor
    # A new version of the same Encounter (discharge, a correction) is not a new visit.
    updated = await client.put(f"/fhir/Encounter/{eid}", json={**encounter(str(resident.id), reason="复诊"),
                                                                 "id": eid}, headers=doctor)
    assert updated.status_code == 200, updated.text
    assert await visit_notices(db, eid) == 1

    mine = (await client.get("/api/v1/notifications", params={"kind": "referral.visit"},
                             headers=bearer(family))).json()
    note = next(n for n in mine["items"] if n["link"].endswith(eid))
    assert resident.name in note["title"] and "江川区中心医院门诊就诊" in note["title"]
    assert "2026-11-20 09:30" in note["body"] and "头晕" in note["body"]

    visits = (await client.get(f"{API}/visits", headers=bearer(family))).json()
    row = next(v for v in visits["items"] if v["encounter_id"] == eid)
    assert row["class_label"] == "门诊" and row["patient_name"] == resident.name
    assert row["organization_name"] == "江川区中心医院" and row["reason"] == "头晕、血压升高"
    inpatient = (await client.get(f"{API}/visits", params={"visit_class": "inpatient"},
                                  headers=bearer(family))).json()
    assert eid not in [v["encounter_id"] for v in inpatient["items"]]


async def test_bundle_of_encounters_is_handled_set_wise(client: httpx.AsyncClient, db: AsyncSession,
                                                        token_for: TokenFor) -> None:
    resident, _ = await signed_resident(db)
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    stranger = str(uuid.uuid4())
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": encounter(str(resident.id), code="IMP", reason="急性心肌梗死"),
         "request": {"method": "POST", "url": "Encounter"}},
        {"resource": encounter(str(resident.id), code="EMER", reason="胸痛"),
         "request": {"method": "POST", "url": "Encounter"}},
        {"resource": encounter(stranger), "request": {"method": "POST", "url": "Encounter"}}]}
    response = await client.post("/fhir", json=bundle, headers=doctor)
    assert response.status_code == 200, response.text
    ids = [e["response"]["location"].split("/")[1] for e in response.json()["entry"]]
    classes = {v.encounter_id: (v.visit_class, v.status) for v in
               await db.scalars(select(ReferralVisit).where(ReferralVisit.encounter_id.in_(ids)))}
    assert classes[ids[0]] == ("inpatient", "matched") and classes[ids[1]] == ("emergency", "matched")
    assert classes[ids[2]] == ("outpatient", "pending")  # nobody known yet: the sweep retries, then gives up
    assert await visit_notices(db, ids[2]) == 0

    # The sweep (background loop) resolves nothing new and never notifies twice.
    before = await visit_notices(db, ids[0])
    await loop.sweep(db)
    assert await visit_notices(db, ids[0]) == before


async def test_refused_write_leaves_no_visit(client: httpx.AsyncClient, db: AsyncSession,
                                             token_for: TokenFor) -> None:
    resident, _ = await signed_resident(db)
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    marker = "未提交的就诊"
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": encounter(str(resident.id), reason=marker), "request": {"method": "POST", "url": "Encounter"}},
        {"resource": {"resourceType": "Encounter", "status": "no-such-status"},
         "request": {"method": "POST", "url": "Encounter"}}]}
    response = await client.post("/fhir", json=bundle, headers=doctor)
    assert response.status_code >= 400
    assert await db.scalar(select(func.count()).select_from(ReferralVisit)
                           .where(ReferralVisit.reason == marker)) == 0


async def test_visits_list_access(client: httpx.AsyncClient, db: AsyncSession, token_for: TokenFor) -> None:
    resident, _ = await signed_resident(db)
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    created = await client.post("/fhir/Encounter", json=encounter(str(resident.id)), headers=doctor)
    eid = created.json()["id"]
    hospital = (await client.get(f"{API}/visits", headers=doctor)).json()  # no teams at a hospital
    assert eid not in [v["encounter_id"] for v in hospital["items"]]
    admin = (await client.get(f"{API}/visits", headers=bearer(await token_for("admin")))).json()
    assert eid in [v["encounter_id"] for v in admin["items"]]
    for username in ("resident", "weijianwei"):
        refused = await client.get(f"{API}/visits", headers=bearer(await token_for(username)))
        assert refused.status_code == 403, refused.text
    bad = await client.get(f"{API}/visits", params={"visit_class": "spa"}, headers=doctor)
    assert bad.status_code == 422


async def test_tabular_ingest_reaches_the_family_doctor(client: httpx.AsyncClient, db: AsyncSession,
                                                        token_for: TokenFor) -> None:
    """An outpatient visit uploaded as a CSV row by the hospital: the batch's Patients are linked by the MPI
    after the chunk commits, so the visit waits as `pending` until the sweep finds the signed resident."""
    import csv
    import io
    from datetime import datetime, timedelta

    from jizuo.core.clock import SHANGHAI
    from jizuo.platform.demo.dataset_rows import RowContext, RowGenerator
    from jizuo.platform.ingest import repository as ingest_repo
    from jizuo.platform.standards.spec import load_catalogue

    resident, id_number = await signed_resident(db)
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    own = {"resourceType": "Patient", "id": str(resident.id), "name": [{"text": resident.name}],
           "gender": "male" if resident.gender in ("1", "male") else "female",
           "birthDate": resident.birth_date.isoformat(),
           "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": id_number}]}
    assert (await client.put(f"/fhir/Patient/{resident.id}", json=own, headers=doctor)).status_code in (200, 201)

    catalogue = load_catalogue()
    data_set = catalogue.data_sets["EMR-OPD"]
    names = [f.name for f in data_set.fields]
    now = datetime.now(SHANGHAI)
    staff = list(await ingest_repo.practitioner_lookup(db))[:5]
    row = RowGenerator(data_set, catalogue, RowContext([HOSPITAL], staff, now), seed=7).row()
    row.update(id_number=id_number, patient_name=resident.name, birth_date=resident.birth_date.strftime("%Y%m%d"),
               visit_time=(now - timedelta(hours=2)).strftime("%Y%m%d%H%M%S"),
               end_time=(now - timedelta(hours=1)).strftime("%Y%m%d%H%M%S"), chief_complaint="头痛三天")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerow([row.get(n, "") for n in names])
    upload = await client.post("/api/v1/ingest/datasets/EMR-OPD", headers=bearer(await token_for("hosp_admin")),
                               files={"file": ("opd.csv", out.getvalue().encode(), "text/csv")})
    assert upload.status_code == 200, upload.text
    assert upload.json()["accepted"] == 1, upload.json()["errors"]
    visit = await db.scalar(select(ReferralVisit).where(ReferralVisit.organization_id == org_id(HOSPITAL),
                                                        ReferralVisit.created_at >= now - timedelta(minutes=5))
                            .order_by(ReferralVisit.created_at.desc()))
    assert visit is not None
    await loop.sweep(db)
    await db.refresh(visit)
    assert visit.status == "matched" and visit.team_id == resident.signed_team_id
    assert await visit_notices(db, visit.encounter_id) >= 1
    again = await visit_notices(db, visit.encounter_id)
    await loop.sweep(db)
    assert await visit_notices(db, visit.encounter_id) == again


async def test_team_without_a_leader_notifies_its_family_doctor_member(client: httpx.AsyncClient,
                                                                        db: AsyncSession,
                                                                        token_for: TokenFor) -> None:
    from sqlalchemy import update

    from jizuo.platform.registry.models import CareTeam, CareTeamMember

    resident, _ = await signed_resident(db)
    await db.execute(update(CareTeam).where(CareTeam.id == resident.signed_team_id).values(leader_id=None))
    await db.commit()
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    eid = (await client.post("/fhir/Encounter", json=encounter(str(resident.id)), headers=doctor)).json()["id"]
    recipients = list(await db.scalars(select(Notification.recipient_practitioner_id).where(
        Notification.kind == "referral.visit", Notification.link.like(f"%encounter={eid}"))))
    assert len(recipients) == 1
    role = await db.scalar(select(CareTeamMember.team_role).where(
        CareTeamMember.team_id == resident.signed_team_id, CareTeamMember.practitioner_id == recipients[0]))
    assert role == "family_doctor"


async def test_hl7_admission_reaches_the_family_doctor(client: httpx.AsyncClient, db: AsyncSession,
                                                       token_for: TokenFor) -> None:
    """An ADT^A01 (admission) from the hospital's HIS for the resident, known to the MPI by their 身份证."""
    resident, id_number = await signed_resident(db)
    doctor = {**bearer(await token_for("doctor")), "Content-Type": FHIR}
    own = {"resourceType": "Patient", "id": str(resident.id), "name": [{"text": resident.name}],
           "birthDate": resident.birth_date.isoformat(),
           "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": id_number}]}
    assert (await client.put(f"/fhir/Patient/{resident.id}", json=own, headers=doctor)).status_code in (200, 201)
    birth = resident.birth_date.strftime("%Y%m%d")
    message = (f"MSH|^~\\&|HIS|{HOSPITAL}|JIZUO|JIZUO|20261125090000||ADT^A01^ADT_A01|LOOP-1|P|2.5\r"
               f"EVN|A01|20261125090000\rPID|1||Z-9001^^^{HOSPITAL}^MR~{id_number}^^^^ID||{resident.name}||{birth}|M\r"
               f"PV1|1|I|ICU^01^02||||||||||||||||V-LOOP-1|||||||||||||||||||||||||20261120083000")
    sender = bearer(await token_for("hosp_admin"))
    response = await client.post("/api/v1/ingest/hl7v2", content=message.encode(),
                                 headers={"Content-Type": "application/hl7-v2", **sender})
    assert response.status_code == 200 and "|AA|" in response.text, response.text
    # HL7 links the hospital's Patient in the message's own transaction: matched at commit, no sweep needed.
    visit = await db.scalar(select(ReferralVisit).where(ReferralVisit.organization_id == org_id(HOSPITAL),
                                                        ReferralVisit.visit_class == "inpatient",
                                                        ReferralVisit.team_id == resident.signed_team_id))
    assert visit is not None and visit.status == "matched"
    assert await visit_notices(db, visit.encounter_id) == 1
