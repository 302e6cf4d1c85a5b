"""Demo chronic care: devices with fixed keys at the first centre's stations (docs/chronic.md), every
hypertension / type 2 diabetes resident registered from their record, and a month of station readings for the
demo family doctor's team so the workbench is not empty. Idempotent: skipped once the first device exists."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import contracts, readings, repository, rules, service
from jizuo.apps.chronic.models import ChronicFollowup, ChronicPatient, FamilyContract, StationDevice
from jizuo.apps.chronic.schemas import ReadingIn
from jizuo.core.clock import age_on, today_in_shanghai, utcnow
from jizuo.core.security import FieldCipher
from jizuo.platform.audit.service import AuditTrail
from jizuo.platform.identity.models import User
from jizuo.platform.registry.models import CareTeam, Organization
from jizuo.platform.residents.models import Resident

# (device code, name, station code, key) — the keys are public demo values, never for production.
DEMO_DEVICES = [
    ("DEV-S001-01-BP", "欧姆龙 HBP-9030 血压计", "JC-S001-01", "demo-device-key-S001-01-bp"),
    ("DEV-S001-01-GLU", "三诺 安稳+ 血糖仪", "JC-S001-01", "demo-device-key-S001-01-glu"),
    ("DEV-S001-02-BP", "鱼跃 YE-680 血压计", "JC-S001-02", "demo-device-key-S001-02-bp"),
]
READING_RESIDENTS = 12
DAYS = 30


async def seed_demo_chronic(db: AsyncSession, cipher: FieldCipher, seed: int = 2026) -> dict[str, int]:
    signed = await seed_demo_contracts(db, seed)  # separately idempotent: older demo databases get them too
    await seed_demo_medication(db, cipher)
    if await db.scalar(select(StationDevice.id).where(StationDevice.code == DEMO_DEVICES[0][0])) is not None:
        return {"family_contracts": signed} if signed else {}
    stations = {o.code: o for o in (await db.scalars(select(Organization).where(
        Organization.code.in_([d[2] for d in DEMO_DEVICES])))).all()}
    devices = []
    for code, name, station_code, key in DEMO_DEVICES:
        if station_code in stations:
            device, _ = await readings.register_device(db, stations[station_code].id, code, name, key)
            devices.append(device)
    residents = list((await db.scalars(select(Resident).where(repository.with_managed_disease()))).all())
    registered = await service.register_from_records(db, residents, utcnow().date() - timedelta(days=60))
    visits = await _demo_first_visits(db, seed)
    sent = await _demo_readings(db, cipher, devices, stations, seed) if devices else 0
    return {"chronic_patients": registered, "chronic_followups_done": visits, "device_readings": sent,
            **({"family_contracts": signed} if signed else {})}


async def seed_demo_contracts(db: AsyncSession, seed: int) -> int:
    """A contract for every resident the register shows signed (so the contract and `signed_team_id` agree):
    started on a day of the past year, packages by age and record. About a third are renewals of a contract
    that ran the year before; a few residents the register shows unsigned have a contract that expired this
    year without renewal — so 续约率 is plausible (not 100 %). Bulk insert, no FHIR mirror (docs). Idempotent."""
    if await db.scalar(select(FamilyContract.id).limit(1)) is not None:
        return 0
    rng = random.Random(f"{seed}:contracts")
    today = today_in_shanghai()
    combination: dict[uuid.UUID, tuple[uuid.UUID, uuid.UUID, uuid.UUID]] = {}
    for team in (await db.scalars(select(CareTeam).where(CareTeam.active.is_(True)))).all():
        district = await contracts._hospital(db, None, "2", team, "district_hospital_id")
        city = await contracts._hospital(db, None, "3", team, "city_hospital_id")
        combination[team.id] = (team.organization_id, district.id, city.id)
    teams_of_centre: dict[uuid.UUID, list[uuid.UUID]] = {}
    for team_id, (centre, _, _) in combination.items():
        teams_of_centre.setdefault(centre, []).append(team_id)
    rows: list[dict[str, Any]] = []

    def contract(resident: Resident, team_id: uuid.UUID, starts_on: Any, status: str,
                 renewed_from: uuid.UUID | None = None) -> uuid.UUID:
        packages = ["basic"] + (["elderly"] if age_on(resident.birth_date, starts_on) >= 65 else []) + [
            p for p, d in (("hypertension", "hypertension"), ("diabetes", "diabetes_t2"), ("copd", "copd"))
            if d in (resident.chronic or [])]
        centre, district, city = combination[team_id]
        row = {"id": uuid.uuid4(), "resident_id": resident.id, "team_id": team_id, "centre_id": centre,
               "district_hospital_id": district, "city_hospital_id": city, "packages": packages,
               "price": float(sum(contracts.PACKAGES[p]["price"] for p in packages)), "starts_on": starts_on,
               "ends_on": starts_on + timedelta(days=contracts.PERIOD_DAYS - 1), "status": status,
               "renewed_from_id": renewed_from, "signed_at": utcnow()}
        rows.append(row)
        return row["id"]

    residents = (await db.scalars(select(Resident).order_by(Resident.id))).all()
    for resident in residents:
        if resident.signed_team_id is not None and resident.signed_team_id in combination:
            starts_on = today - timedelta(days=rng.randrange(contracts.PERIOD_DAYS))
            previous = None
            if rng.random() < 0.35:
                previous = contract(resident, resident.signed_team_id,
                                    starts_on - timedelta(days=contracts.PERIOD_DAYS), "expired")
            contract(resident, resident.signed_team_id, starts_on, "active", previous)
        elif resident.signed_team_id is None and rng.random() < 0.03:
            centre_teams = teams_of_centre.get(resident.home_organization_id or uuid.uuid4()) \
                or list(combination)
            ends_on = today - timedelta(days=1 + rng.randrange(max(1, (today - today.replace(month=1, day=1)).days)))
            contract(resident, rng.choice(centre_teams), ends_on - timedelta(days=contracts.PERIOD_DAYS - 1),
                     "expired")
    for start in range(0, len(rows), 5000):
        await db.execute(insert(FamilyContract), rows[start:start + 5000])
    await db.flush()
    return len(rows)


DEMO_MEDICATION_ID = "7f3c1c2e-0d5b-5b8e-9a41-d3e000000001"


async def seed_demo_medication(db: AsyncSession, cipher: FieldCipher) -> bool:
    """A current long-term prescription (amlodipine, 90 days) for the demo `resident`, written by their team's
    leader, so 代配药 can be tried from the resident side (`/api/v1/chronic/me/medications`). Idempotent."""
    from jizuo.fhir import service as fhir_service
    from jizuo.fhir.access import SYSTEM_ACCESS
    from jizuo.fhir.service import FhirContext, instant
    from jizuo.fhir.store import get_current_many

    own = await db.scalar(select(User.resident_id).where(User.username == "resident"))
    resident = await db.get(Resident, own) if own else None
    if resident is None or resident.signed_team_id is None:
        return False
    if await get_current_many(db, [("MedicationRequest", DEMO_MEDICATION_ID)]):
        return False
    team = await db.get(CareTeam, resident.signed_team_id)
    requester = {"reference": f"Practitioner/{team.leader_id}"} if team and team.leader_id else None
    resource = {
        "resourceType": "MedicationRequest", "id": DEMO_MEDICATION_ID, "status": "active", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "C08CA01",
                                                  "display": "苯磺酸氨氯地平片 5mg"}], "text": "苯磺酸氨氯地平片 5mg"},
        "subject": {"reference": f"Patient/{resident.id}"},
        "authoredOn": instant(utcnow() - timedelta(days=40)),
        **({"requester": requester} if requester else {}),
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I10",
                                    "display": "原发性高血压"}]}],
        "dosageInstruction": [{"text": "每日一次，每次 1 片，口服"}],
        "dispenseRequest": {"expectedSupplyDuration": {"value": 90, "unit": "天", "system": "http://unitsofmeasure.org",
                                                       "code": "d"}}}
    trail = AuditTrail()
    ctx = FhirContext(db=db, access=SYSTEM_ACCESS, audit=trail, cipher=cipher)
    await fhir_service.update(ctx, "MedicationRequest", DEMO_MEDICATION_ID, resource)
    await ctx.flush()
    await trail.flush(db)
    return True


async def _demo_first_visits(db: AsyncSession, seed: int) -> int:
    """Three in four registered patients had their first (registration-day) follow-up within ten days, with
    values that classify them; an uncontrolled one gets its two-week recheck — so the indicators and the
    overdue list show a realistic mix rather than everyone overdue."""
    rng = random.Random(f"{seed}:chronic-visits")
    rows = (await db.execute(select(ChronicFollowup, ChronicPatient.disease)
                             .join(ChronicPatient, ChronicPatient.id == ChronicFollowup.patient_id)
                             .where(ChronicFollowup.status == "planned")
                             .order_by(ChronicFollowup.patient_id, ChronicFollowup.due_on))).all()
    seen: set[Any] = set()
    patients = {p.id: p for p in (await db.scalars(select(ChronicPatient))).all()}
    done = 0
    for followup, disease in rows:
        if followup.patient_id in seen:
            continue
        seen.add(followup.patient_id)
        if rng.random() >= 0.75:
            continue
        sbp, dbp = (round(rng.gauss(138, 12)), round(rng.gauss(86, 8))) if disease == "hypertension" else (None, None)
        glucose = round(rng.gauss(6.9, 1.2), 1) if disease == "diabetes_t2" else None
        followup.status, followup.way = "done", rng.choice(["clinic", "clinic", "home", "phone"])
        followup.done_on = followup.due_on + timedelta(days=rng.randint(0, 10))
        followup.systolic, followup.diastolic, followup.fasting_glucose = sbp, dbp, glucose
        followup.classification = rules.classify_visit(disease, sbp, dbp, glucose)
        patients[followup.patient_id].classification = followup.classification
        if followup.classification != "satisfied":
            db.add(ChronicFollowup(id=uuid.uuid4(), patient_id=followup.patient_id, status="planned",
                                   reason="uncontrolled_recheck",
                                   due_on=followup.done_on + timedelta(days=rules.UNCONTROLLED_RECHECK_DAYS)))
        done += 1
    await db.flush()
    return done


async def _demo_readings(db: AsyncSession, cipher: FieldCipher, devices: list[StationDevice],
                         stations: dict[str, Organization], seed: int) -> int:
    """A month of morning readings for the demo family doctor's chronic residents (the demo `resident` first);
    the last reading of one resident is above the urgent threshold, so there is an alert to act on."""
    family = await db.scalar(select(User).where(User.username == "family_doctor"))
    own = await db.scalar(select(User.resident_id).where(User.username == "resident"))
    team = (await db.scalar(select(Resident.signed_team_id).where(Resident.id == own))) if own else None
    if family is None or team is None:
        return 0
    people = list((await db.scalars(select(Resident).where(
        Resident.signed_team_id == team, repository.with_managed_disease())
        .order_by(Resident.name).limit(READING_RESIDENTS))).all())
    me = await db.get(Resident, own)
    people = ([me] if me else []) + [p for p in people if p.id != own]
    rng = random.Random(f"{seed}:chronic-readings")
    bp_device, glucose_device = devices[0], devices[1] if len(devices) > 1 else devices[0]
    station = next(s for s in stations.values() if s.id == bp_device.station_id)
    today = utcnow().replace(hour=0, minute=30, second=0, microsecond=0)
    trail = AuditTrail()
    sent = 0
    for n, person in enumerate(people):
        id_number = cipher.decrypt(person.id_number_enc)
        base_sbp, base_dbp = rng.uniform(125, 160), rng.uniform(75, 95)
        bp: list[ReadingIn] = []
        glucose: list[ReadingIn] = []
        for day in range(DAYS, 0, -1):
            at = today - timedelta(days=day, minutes=rng.randint(0, 90))
            bp.append(ReadingIn(id_number=id_number, kind="blood_pressure", measured_at=at,
                                systolic=round(base_sbp + rng.gauss(0, 8)), diastolic=round(base_dbp + rng.gauss(0, 5)),
                                pulse=round(rng.uniform(62, 88))))
            if "diabetes_t2" in person.chronic or n == 0:
                glucose.append(ReadingIn(id_number=id_number, kind="glucose_fasting", measured_at=at,
                                         value=round(rng.uniform(5.6, 8.8), 1)))
        if n == 1:  # the alert for the workbench
            bp.append(ReadingIn(id_number=id_number, kind="blood_pressure", measured_at=today, systolic=186,
                                diastolic=112, pulse=96))
        await readings.ingest_readings(db, trail, cipher, bp_device, station, bp)
        sent += len(bp)
        if glucose:
            glucose_station = next(s for s in stations.values() if s.id == glucose_device.station_id)
            await readings.ingest_readings(db, trail, cipher, glucose_device, glucose_station, glucose)
            sent += len(glucose)
    await trail.flush(db)
    return sent


def demo_keys() -> list[dict[str, Any]]:
    return [{"code": c, "name": n, "station": s, "key": k} for c, n, s, k in DEMO_DEVICES]


def demo_resident_id_number(seed: int) -> str | None:
    """The synthetic 身份证 of the demo `resident` account (signed with the demo family doctor's team), derived
    from the seed the way the demo district is — what a browser test's "device" sends without database access."""
    from jizuo.platform.demo.accounts import demo_accounts
    from jizuo.platform.demo.generator import build_structure, iter_residents
    from jizuo.platform.demo.model import District

    organizations, departments, practitioners, teams = build_structure(seed)
    district = District(seed=seed, organizations=organizations, departments=departments, practitioners=practitioners,
                        teams=teams, residents=list(iter_residents(seed, 2000)))
    wanted = next((a.resident_id for a in demo_accounts(district) if a.username == "resident"), None)
    return next((r.id_number for r in district.residents if r.id == wanted), None)
