"""A device reading as a FHIR R4 Observation (vital signs or laboratory), with the device and the station."""

from __future__ import annotations

from typing import Any

from jizuo.apps.chronic.models import DeviceReading, StationDevice
from jizuo.platform.registry.models import Organization

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
EVENT_LOCATION = "http://hl7.org/fhir/StructureDefinition/event-location"
ORG_CODE_SYSTEM = "urn:jizuo:organization-code"

_CODES: dict[str, tuple[str, str, str, str]] = {  # kind → (LOINC, display, category, UCUM)
    "blood_pressure": ("85354-9", "Blood pressure panel with all children optional", "vital-signs", "mm[Hg]"),
    "glucose_fasting": ("1558-6", "Fasting glucose [Moles/volume] in Serum or Plasma", "laboratory", "mmol/L"),
    "glucose_random": ("2339-0", "Glucose [Mass/volume] in Blood", "laboratory", "mmol/L"),
    "weight": ("29463-7", "Body weight", "vital-signs", "kg"),
    "spo2": ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "vital-signs", "%"),
}
_TEXT = {"blood_pressure": "血压", "glucose_fasting": "空腹血糖", "glucose_random": "随机血糖", "weight": "体重",
         "spo2": "血氧饱和度"}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _component(code: str, display: str, value: float, unit: str, ucum: str) -> dict[str, Any]:
    return {"code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "valueQuantity": _quantity(value, unit, ucum)}


def observation(reading: DeviceReading, device: StationDevice, station: Organization,
                interpretation: str | None) -> dict[str, Any]:
    """`interpretation`: HH / LL for an urgent value. An implausible reading is `preliminary`, not `final`."""
    loinc, display, category, ucum = _CODES[reading.kind]
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": str(reading.id),
        "status": "preliminary" if "out_of_range" in reading.flags else "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": _TEXT[reading.kind]},
        "subject": {"reference": f"Patient/{reading.resident_id}"},
        "effectiveDateTime": reading.measured_at.isoformat(),
        "issued": reading.received_at.isoformat(),
        "performer": [{"reference": f"Organization/{station.id}", "display": station.name}],
        "device": {"display": f"{device.name}（{device.code}）",
                   "identifier": {"system": "urn:jizuo:station-device", "value": device.code}},
        "extension": [{"url": EVENT_LOCATION, "valueReference": {
            "display": station.name, "identifier": {"system": ORG_CODE_SYSTEM, "value": station.code}}}],
    }
    if reading.kind == "blood_pressure":
        assert reading.systolic is not None and reading.diastolic is not None
        resource["component"] = [
            _component("8480-6", "Systolic blood pressure", reading.systolic, "mmHg", "mm[Hg]"),
            _component("8462-4", "Diastolic blood pressure", reading.diastolic, "mmHg", "mm[Hg]")]
        if reading.pulse is not None:
            resource["component"].append(_component("8867-4", "Heart rate", reading.pulse, "/min", "/min"))
    else:
        assert reading.value is not None
        resource["valueQuantity"] = _quantity(reading.value, reading.unit, ucum)
    if interpretation:
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": interpretation}]}]
    return resource
