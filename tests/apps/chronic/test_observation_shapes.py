"""Every shape of Observation a device reading becomes is valid FHIR R4: the ingest path writes them without the
model check (readings.py), so this is where that check happens — for each kind, with and without pulse and an
interpretation, final and preliminary, with the widest and the oddest values the schema lets through."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from jizuo.apps.chronic import rules
from jizuo.apps.chronic.models import DeviceReading, StationDevice
from jizuo.apps.chronic.observations import observation
from jizuo.apps.chronic.schemas import ReadingIn
from jizuo.fhir.validation import validate_resource
from jizuo.platform.registry.models import Organization

STATION = Organization(id=uuid.uuid4(), code="JC-S001-01", name="江川社区第一健康驿站")
DEVICE = StationDevice(id=uuid.uuid4(), code="DEV-X", name="血压计", station_id=STATION.id)
SHANGHAI = timezone(timedelta(hours=8))


def _reading(kind: str, flags: list[str], **values: float | None) -> DeviceReading:
    return DeviceReading(id=uuid.uuid4(), device_id=DEVICE.id, station_id=STATION.id, resident_id=uuid.uuid4(),
                         kind=kind, measured_at=datetime(2026, 11, 25, 7, 30, 5, 123456, tzinfo=SHANGHAI),
                         received_at=datetime.now(UTC), unit=rules.UNITS[kind], flags=flags,
                         systolic=values.get("systolic"), diastolic=values.get("diastolic"),
                         pulse=values.get("pulse"), value=values.get("value"))


@pytest.mark.parametrize("flags", [[], ["out_of_range"]])
@pytest.mark.parametrize("interpretation", [None, "HH", "LL"])
@pytest.mark.parametrize(("kind", "values"), [
    ("blood_pressure", {"systolic": 182.0, "diastolic": 96.0}),
    ("blood_pressure", {"systolic": 0.0, "diastolic": 300.5, "pulse": 61.0}),
    ("glucose_fasting", {"value": 16.7}),
    ("glucose_random", {"value": -1.0}),
    ("weight", {"value": 1e6}),
    ("spo2", {"value": 89.9}),
])
def test_each_reading_shape_is_valid_r4(kind: str, values: dict[str, float], interpretation: str | None,
                                        flags: list[str]) -> None:
    resource = observation(_reading(kind, flags, **values), DEVICE, STATION, interpretation)
    assert validate_resource(resource, "Observation") is resource


def test_values_fhir_cannot_carry_are_refused_at_the_door() -> None:
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValidationError):
            ReadingIn(id_number="110105194912310029", kind="weight", measured_at=datetime.now(UTC), value=bad)
