"""Health-station device registry: register, deactivate / reactivate, rotate the key. Never commits.

Who: the district administrator (any station), an institution administrator (stations of their institution:
the station itself or a station whose parent is their centre). A key is generated here, shown once in the
answer and stored only as its SHA-256 digest (`station_device.key_digest`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import readings, repository
from jizuo.apps.chronic.models import StationDevice
from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, NotFound
from jizuo.core.security import digest_token, new_opaque_token
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.registry.models import Organization


def device_view(d: StationDevice, station: Organization, key: str | None = None) -> dict[str, Any]:
    out = {"id": d.id, "code": d.code, "name": d.name, "station_id": station.id, "station_code": station.code,
           "station_name": station.name, "active": d.active, "created_at": d.created_at,
           "key_rotated_at": d.key_rotated_at}
    if key is not None:
        out["key"] = key
    return out


async def list_devices(db: AsyncSession, trail: AuditSink, scope: AccessScope, station_id: uuid.UUID | None
                       ) -> list[dict[str, Any]]:
    rows = await repository.devices_in_reach(db, scope, station_id)
    trail.record("search", "StationDevice", None, detail={"count": len(rows)})
    return [device_view(d, s) for d, s in rows]


async def stations(db: AsyncSession, scope: AccessScope) -> list[dict[str, Any]]:
    rows = await repository.stations_in_reach(db, scope)
    return [{"id": o.id, "code": o.code, "name": o.name} for o in rows]


async def register(db: AsyncSession, trail: AuditSink, scope: AccessScope, station_id: uuid.UUID, code: str,
                   name: str) -> dict[str, Any]:
    station = await repository.station_in_reach(db, scope, station_id)
    if station is None:
        raise NotFound("健康驿站不存在或不属于您的机构", code="station_not_found")
    if await repository.device_code_taken(db, code):
        raise Conflict(f"设备编码 {code} 已被使用", code="device_code_taken")
    try:
        async with db.begin_nested():
            device, key = await readings.register_device(db, station.id, code, name)
    except IntegrityError as exc:
        raise Conflict(f"设备编码 {code} 已被使用", code="device_code_taken") from exc
    device.registered_by = scope.user_id
    await db.flush()
    trail.record("create", "StationDevice", device.id, detail={"code": code, "station": station.code})
    return device_view(device, station, key)


async def _device(db: AsyncSession, scope: AccessScope, device_id: uuid.UUID
                  ) -> tuple[StationDevice, Organization]:
    row = await repository.device_in_reach(db, scope, device_id)
    if row is None:
        raise NotFound("设备不存在或不属于您的机构", code="device_not_found")
    return row


async def set_active(db: AsyncSession, trail: AuditSink, scope: AccessScope, device_id: uuid.UUID, active: bool
                     ) -> dict[str, Any]:
    device, station = await _device(db, scope, device_id)
    device.active = active
    await db.flush()
    trail.record("update", "StationDevice", device.id, detail={"active": active})
    return device_view(device, station)


async def rotate_key(db: AsyncSession, trail: AuditSink, scope: AccessScope, device_id: uuid.UUID
                     ) -> dict[str, Any]:
    """A new key, shown once; the old one stops working at once."""
    device, station = await _device(db, scope, device_id)
    key = new_opaque_token()
    device.key_digest, device.key_rotated_at = digest_token(key), utcnow()
    await db.flush()
    trail.record("update", "StationDevice", device.id, detail={"key": "rotated"})
    return device_view(device, station, key)
