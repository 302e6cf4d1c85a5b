"""Device readings in: authenticate the device, find each resident by 身份证 (blind index), keep every reading,
write the new ones as FHIR Observations through the FHIR service layer, raise urgent alerts to the family
doctor's team — all in the caller's transaction. Never commits.

Nothing a device sends is lost: a duplicate (same device, time, kind and values) is kept flagged `duplicate`
and points at the first one's Observation; an implausible value is kept flagged `out_of_range` (a preliminary
Observation, no alert); a reading for a 身份证 not in the population register is kept flagged
`unknown_resident` (no Observation: there is no Patient to hang it on).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import repository, rules
from jizuo.apps.chronic.models import ChronicAlert, DeviceReading, StationDevice
from jizuo.apps.chronic.observations import observation
from jizuo.apps.chronic.schemas import ReadingIn
from jizuo.core.clock import utcnow
from jizuo.core.errors import AuthenticationFailed, FieldError, ValidationFailed
from jizuo.core.idcard import is_valid_id_number
from jizuo.core.security import FieldCipher, digest_token, new_opaque_token
from jizuo.platform.audit.service import Actor, AuditTrail
from jizuo.platform.ingest.writer import SummarisingSink, system_context, write_records
from jizuo.platform.notifications.service import notify
from jizuo.platform.registry.models import Organization

DEVICE_KEY_HEADER = "X-Device-Key"


@dataclass
class Ingested:
    results: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        flagged = sum(1 for r in self.results if r["status"] == "flagged")
        return {"received": len(self.results), "accepted": len(self.results) - flagged, "flagged": flagged,
                "alerts": sum(r["alerts"] for r in self.results), "results": self.results}


async def authenticate_device(db: AsyncSession, key: str | None) -> tuple[StationDevice, Organization]:
    if not key:
        raise AuthenticationFailed(f"缺少设备密钥（请求头 {DEVICE_KEY_HEADER}）", code="device_key_missing")
    device = await repository.device_by_key_digest(db, digest_token(key.strip()))
    if device is None or not device.active:
        raise AuthenticationFailed("设备密钥无效或设备已停用", code="device_key_invalid")
    station = await repository.organization(db, device.station_id)
    if station is None or not station.active:
        raise AuthenticationFailed("设备所属健康驿站不存在或已停用", code="device_station_inactive")
    return device, station


def _normalised_id_numbers(readings: list[ReadingIn]) -> list[str]:
    values = [r.id_number.strip().upper() for r in readings]
    bad = [FieldError(f"readings.{i}.id_number", "身份证号格式或校验位不正确")
           for i, v in enumerate(values) if not is_valid_id_number(v)]
    if bad:
        raise ValidationFailed("身份证号格式或校验位不正确", code="invalid_id_number", errors=bad)
    return values


def _signature(kind: str, measured_at: Any, systolic: float | None, diastolic: float | None,
               pulse: float | None, value: float | None) -> tuple[Any, ...]:
    return (kind, measured_at, systolic, diastolic, pulse, value)


async def ingest_readings(db: AsyncSession, trail: AuditTrail, cipher: FieldCipher, device: StationDevice,
                          station: Organization, readings: list[ReadingIn]) -> Ingested:
    id_numbers = _normalised_id_numbers(readings)
    indexes = [cipher.blind_index(v) for v in id_numbers]
    residents = await repository.residents_by_bidx(db, indexes)
    seen: dict[tuple[Any, ...], DeviceReading] = {
        _signature(r.kind, r.measured_at, r.systolic, r.diastolic, r.pulse, r.value): r
        for r in await repository.existing_readings(db, device.id, [r.measured_at for r in readings])}
    now = utcnow()
    rows: list[DeviceReading] = []
    fresh: list[tuple[DeviceReading, list[rules.Alarm]]] = []
    for body, index in zip(readings, indexes, strict=True):
        resident = residents.get(index)
        row = DeviceReading(id=uuid.uuid4(), device_id=device.id, station_id=station.id,
                            resident_id=resident.id if resident else None, kind=body.kind,
                            measured_at=body.measured_at, systolic=body.systolic, diastolic=body.diastolic,
                            pulse=body.pulse, value=body.value, unit=rules.UNITS[body.kind], flags=[],
                            observation_id=None, received_at=now)
        rows.append(row)
        signature = _signature(body.kind, body.measured_at, body.systolic, body.diastolic, body.pulse, body.value)
        if (first := seen.get(signature)) is not None:
            row.flags.append("duplicate")
            row.observation_id = first.observation_id
            continue
        seen[signature] = row
        if resident is None:
            row.flags.append("unknown_resident")
            continue
        if rules.implausible_fields(body.kind, body.systolic, body.diastolic, body.pulse, body.value):
            row.flags.append("out_of_range")
            fresh.append((row, []))
            continue
        alarms = rules.urgent_alarms(body.kind, body.systolic, body.diastolic, body.value)
        if alarms:
            row.flags.append("urgent")
        fresh.append((row, alarms))
    for row, _ in fresh:
        row.observation_id = str(row.id)

    actor = f"device:{device.code}"
    sink = SummarisingSink()
    ctx = system_context(db, sink, actor, link_patients=False)
    records = [[observation(row, device, station, _interpretation(alarms))] for row, alarms in fresh]
    # The Observations come from observations.py's fixed shapes (each checked against the R4 models in
    # tests/apps/chronic/test_observation_shapes.py) filled with values ReadingIn validated: no model check here.
    result = await write_records(ctx, records, validated=True)
    for position, reason in result.refused.items():  # kept in the trend table, flagged with why
        row = fresh[position][0]
        row.flags.append("fhir_refused")
        row.observation_id = None
        trail.record("ingest:refused", "Observation", row.id, "failure", {"reason": reason[:200]},
                     actor=Actor(username=actor, role="device"))
    db.add_all(rows)
    await db.flush()
    alerts = await _raise_alerts(db, [(row, alarms) for row, alarms in fresh if alarms],
                                 {r.id: r for r in residents.values()})
    sink.write_to(trail, device.id, Actor(username=actor, role="device"))
    out = Ingested()
    for position, row in enumerate(rows):
        out.results.append({"index": position, "id": row.id, "flags": list(row.flags),
                            "status": "flagged" if set(row.flags) - {"urgent"} else "accepted",
                            "observation_id": row.observation_id, "alerts": alerts.get(row.id, 0)})
    return out


def _interpretation(alarms: list[rules.Alarm]) -> str | None:
    if not alarms:
        return None
    return "LL" if alarms[0].kind in ("glucose_low", "spo2_low") else "HH"


async def _raise_alerts(db: AsyncSession, urgent: list[tuple[DeviceReading, list[rules.Alarm]]],
                        residents: dict[uuid.UUID, Any]) -> dict[uuid.UUID, int]:
    """One alert per urgent reading, and one notification to each member of the resident's signed team
    (their user accounts; members without an account by practitioner id). Unsigned residents' alerts wait,
    team-less, for the district admin's list."""
    if not urgent:
        return {}
    team_of = {row.id: residents[row.resident_id].signed_team_id for row, _ in urgent if row.resident_id}
    recipients = await repository.team_recipients(db, [t for t in team_of.values() if t is not None])
    counts: dict[uuid.UUID, int] = {}
    for row, alarms in urgent:
        assert row.resident_id is not None  # urgent readings are of known residents
        resident = residents[row.resident_id]
        for alarm in alarms:
            item = ChronicAlert(id=uuid.uuid4(), reading_id=row.id, resident_id=resident.id,
                                team_id=resident.signed_team_id, kind=alarm.kind, message=alarm.message,
                                status="open", created_at=utcnow())
            db.add(item)
            counts[row.id] = counts.get(row.id, 0) + 1
            users, practitioners = recipients.get(resident.signed_team_id, ([], [])) \
                if resident.signed_team_id else ([], [])
            await notify(db, kind="chronic_alert", title=f"慢病预警：{resident.name}",
                         body=alarm.message, link=f"/ui/chronic/residents/{resident.id}",
                         user_ids=users, practitioner_ids=practitioners, channels=("sms",))
    await db.flush()
    return counts


async def register_device(db: AsyncSession, station_id: uuid.UUID, code: str, name: str, key: str | None = None
                          ) -> tuple[StationDevice, str]:
    """Registers a device at a station; returns it and its key (generated unless given — the demo's are fixed
    and documented). Only the key's digest is stored."""
    station = await repository.organization(db, station_id)
    if station is None or station.type != "community_station":
        raise ValidationFailed("设备须登记在健康驿站（社区卫生服务站）", code="device_station_invalid")
    key = key or new_opaque_token()
    device = StationDevice(id=uuid.uuid4(), code=code, name=name, station_id=station_id,
                           key_digest=digest_token(key), active=True)
    db.add(device)
    await db.flush()
    return device, key
