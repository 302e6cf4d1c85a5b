"""ORU^R01 lab results → DiagnosticReport (one per OBR) and Observations (one per OBX).

- codes (OBR-4, OBX-3, CWE values): the coding system as sent — LN → LOINC, SCT → SNOMED CT, I10 → ICD-10,
  HL7nnnn → the v2 table; anything else (L, 99xxx, a LIS's own) is the facility's local code system
  `https://jizuo.example.org/fhir/CodeSystem/lab-local/<facility code>`; the alternate triplet (CWE-4..6)
  becomes a second coding, so a local code with its LOINC mapping keeps both;
- values by OBX-2: NM → valueQuantity (a leading <, <=, >, >= is the comparator), SN → valueQuantity,
  valueRange (1^-^5) or valueRatio (1^:^128), ST/TX/FT → valueString, CE/CWE/CNE → valueCodeableConcept,
  DT/TS/DTM → valueDateTime, RP → valueString (the pointer); ED (encapsulated data) is not imported;
- OBX-6 unit: UCUM system and code when the unit is UCUM (or a common spelling of one: mmHg, 10^9/L);
  OBX-7 → referenceRange (text, and low/high when it reads "a-b"); OBX-8 → interpretation; OBX-11 → status;
  OBX-14, else OBR-7, else MSH-7 → effectiveDateTime; NTE after an OBX → its note;
- ids from (facility, filler order number OBR-3, else placer OBR-2, else ORC-3/ORC-2, else the control id
  and OBR-1) and, per Observation, its code and sub-id (OBX-4): a corrected result (OBX-11 = C) sent again
  updates the same Observation;
- the Patient is written only when the platform does not have it yet (demographics come from ADT), and the
  report refers to the visit's Encounter only when that Encounter exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hl7.containers import Segment

from jizuo.platform.ingest.hl7v2.mapping_adt import Mapped, encounter_id
from jizuo.platform.ingest.hl7v2.parse import Hl7Problem, Message, Timestamp, repetitions, timestamp, value
from jizuo.platform.ingest.hl7v2.patient import SID, Facility, PatientKey, map_patient, patient_key, resource_id

LOCAL_CODES = "https://jizuo.example.org/fhir/CodeSystem/lab-local"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SYSTEMS = {"LN": "http://loinc.org", "LOINC": "http://loinc.org", "SCT": "http://snomed.info/sct",
           "SNOMEDCT": "http://snomed.info/sct", "I10": "http://hl7.org/fhir/sid/icd-10",
           "ICD10": "http://hl7.org/fhir/sid/icd-10", "UCUM": UCUM}
STATUS = {"F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "S": "preliminary",
          "A": "amended", "I": "registered", "O": "registered", "X": "cancelled", "N": "cancelled",
          "D": "entered-in-error", "W": "entered-in-error", "U": "final"}
REPORT_STATUS = {"F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "A": "partial",
                 "I": "registered", "O": "registered", "S": "registered", "X": "cancelled", "D": "entered-in-error"}
INTERPRETATIONS = frozenset({"L", "H", "LL", "HH", "<", ">", "N", "A", "AA", "U", "D", "B", "W", "S", "R", "I",
                             "MS", "VS", "POS", "NEG", "IND", "DET", "ND", "NR", "RR", "E", "EX", "HU", "LU"})
# Common unit spellings that are not UCUM, and what they are in UCUM.
UNIT_ALIASES = {"mmHg": "mm[Hg]", "beats/min": "/min", "bpm": "/min", "10^9/L": "10*9/L", "×10^9/L": "10*9/L",
                "10^12/L": "10*12/L", "×10^12/L": "10*12/L", "giga.l-1": "10*9/L", "tera.l-1": "10*12/L",
                "mg/dl": "mg/dL", "IU/L": "[IU]/L", "iu/l": "[IU]/L", "u/l": "U/L", "mmol/l": "mmol/L",
                "umol/l": "umol/L", "μmol/L": "umol/L", "g/l": "g/L", "ug/L": "ug/L", "μg/L": "ug/L"}
UCUM_UNITS = frozenset({"mmol/L", "umol/L", "nmol/L", "pmol/L", "g/L", "g/dL", "mg/L", "mg/dL", "ug/L",
                        "ng/mL", "pg/mL", "%", "U/L", "[IU]/L", "mU/L", "m[IU]/L", "10*9/L", "10*12/L", "fL",
                        "pg", "mm[Hg]", "/min", "kg", "g", "cm", "m", "kg/m2", "Cel", "mL/min", "mmol/mol",
                        "s", "mm/h", "mL", "L", "1", "{ratio}", "[pH]"})
_NUMBER = re.compile(r"^\s*(<=|>=|<|>)?\s*([+-]?\d+(?:\.\d+)?)\s*$")
_RANGE = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*[-~–—]\s*([+-]?\d+(?:\.\d+)?)\s*$")
LAB_CATEGORY = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory", "display": "Laboratory"}]}


def system_uri(code: str, facility: Facility) -> str:
    code = code.strip()
    if code.upper() in SYSTEMS:
        return SYSTEMS[code.upper()]
    m = re.fullmatch(r"HL7(\d{4})", code.upper())
    if m:
        return f"http://terminology.hl7.org/CodeSystem/v2-{m[1]}"
    return f"{LOCAL_CODES}/{facility.code}"


def codeable(segment: Segment, field_num: int, facility: Facility, rep: int = 1) -> dict[str, Any] | None:
    codings = []
    for first in (1, 4):
        code = value(segment, field_num, rep, first)
        if code:
            coding = {"system": system_uri(value(segment, field_num, rep, first + 2), facility), "code": code}
            display = value(segment, field_num, rep, first + 1)
            if display:
                coding["display"] = display
            codings.append(coding)
    text = value(segment, field_num, rep, 9) or value(segment, field_num, rep, 2) or value(segment, field_num, rep, 5)
    if not codings and not text:
        return None
    concept: dict[str, Any] = {"coding": codings} if codings else {}
    if text:
        concept["text"] = text
    return concept


def _number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number


def quantity(number: str, obx: Segment, comparator: str | None = None) -> dict[str, Any]:
    q: dict[str, Any] = {"value": _number(number)}
    if comparator:
        q["comparator"] = comparator
    unit = value(obx, 6, 1, 1) or value(obx, 6, 1, 2)
    if unit:
        q["unit"] = unit
        code = unit if value(obx, 6, 1, 3).upper() == "UCUM" else UNIT_ALIASES.get(unit, unit)
        if value(obx, 6, 1, 3).upper() == "UCUM" or code in UCUM_UNITS:
            q["system"], q["code"] = UCUM, code
    return q


@dataclass
class _Group:
    obr: Segment
    orc: Segment | None
    patient: PatientKey
    observations: list[tuple[Segment, list[str]]] = field(default_factory=list)   # OBX and its NTE texts


def _groups(message: Message, facility: Facility) -> tuple[list[_Group], list[str]]:
    groups: list[_Group] = []
    notes: list[str] = []
    patient: PatientKey | None = None
    pid_number = 0
    orc: Segment | None = None
    skipped = 0
    for segment in message.parsed:
        name = str(segment[0][0])
        if name == "PID":
            pid_number += 1
            patient = patient_key(message, facility, segment, "PID" if pid_number == 1 else f"PID[{pid_number}]")
        elif name == "ORC":
            orc = segment
        elif name == "OBR":
            if patient is None:
                raise Hl7Problem("OBR 之前缺少 PID 段（患者信息）", "AE", "100", "PID", "hl7v2.required")
            groups.append(_Group(segment, orc, patient))
            orc = None
        elif name == "OBX":
            if groups:
                groups[-1].observations.append((segment, []))
            else:
                skipped += 1
        elif name == "NTE" and groups and groups[-1].observations and value(segment, 3):
            groups[-1].observations[-1][1].append(value(segment, 3))
    if not groups:
        raise Hl7Problem("ORU^R01 消息缺少 OBR 段（检验申请 / 报告）", "AE", "100", "OBR", "hl7v2.required")
    if skipped:
        notes.append(f"OBR 之前的 {skipped} 个 OBX（患者级观察）未导入")
    return groups, notes


def oru_keys(message: Message, facility: Facility) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    for pid_number, pid in enumerate(message.segments("PID"), start=1):
        patient = patient_key(message, facility, pid, "PID" if pid_number == 1 else f"PID[{pid_number}]")
        keys.append(("Patient", patient.id))
    first = patient_key(message, facility)
    enc_id = encounter_id(message, facility, first, fallback=False)
    if enc_id:
        keys.append(("Encounter", enc_id))
    return keys


def _report_key(message: Message, group: _Group, index: int) -> str:
    for segment, field_num, kind in ((group.obr, 3, "filler"), (group.obr, 2, "placer"),
                                     (group.orc, 3, "filler"), (group.orc, 2, "placer")):
        number = value(segment, field_num)
        if number:
            return f"{kind}:{number}"
    return f"message:{message.control_id}:{value(group.obr, 1) or index}"


def _value(obx: Segment, where: str, facility: Facility, notes: list[str]) -> dict[str, Any]:
    kind = value(obx, 2).upper()
    count = repetitions(obx, 5)
    text = value(obx, 5)
    if count == 0 or (not text and kind not in ("SN", "CE", "CWE", "CNE", "CF")):
        return {}
    if count > 1 and kind not in ("ST", "TX", "FT"):
        notes.append("其余结果值：" + "；".join(value(obx, 5, r) for r in range(2, count + 1)))
    if kind == "NM":
        m = _NUMBER.match(text)
        if not m:
            raise Hl7Problem(f"{where}-5 数值型（NM）结果“{text}”不是数字", "AE", "102", f"{where}-5")
        return {"valueQuantity": quantity(m[2], obx, m[1])}
    if kind == "SN":
        comparator, first, separator, second = (value(obx, 5, 1, c) for c in range(1, 5))
        try:
            if first and not second:
                return {"valueQuantity": quantity(first, obx, comparator if comparator in ("<", "<=", ">", ">=")
                                                  else None)}
            if first and second and separator in ("-", "~"):
                return {"valueRange": {"low": quantity(first, obx), "high": quantity(second, obx)}}
            if first and second and separator in (":", "/"):
                return {"valueRatio": {"numerator": {"value": _number(first)},
                                       "denominator": {"value": _number(second)}}}
        except ValueError as exc:
            raise Hl7Problem(f"{where}-5 结构化数值（SN）“{text}”无法解析", "AE", "102", f"{where}-5") from exc
        return {"valueString": "".join((comparator, first, separator, second))}
    if kind in ("CE", "CWE", "CNE", "CF"):
        concept = codeable(obx, 5, facility)
        return {"valueCodeableConcept": concept} if concept else {}
    if kind in ("DT", "TS", "DTM"):
        moment = timestamp(text, f"{where}-5")
        return {"valueDateTime": moment.fhir()} if moment else {}
    if kind == "ED":
        notes.append("封装数据（ED）未导入")
        return {}
    if kind in ("ST", "TX", "FT"):
        return {"valueString": "\n".join(value(obx, 5, r) for r in range(1, count + 1))}
    return {"valueString": text}


def _reference_range(obx: Segment, quantity_value: dict[str, Any] | None) -> list[dict[str, Any]]:
    text = value(obx, 7)
    if not text:
        return []
    reference: dict[str, Any] = {"text": text}
    m = _RANGE.match(text.replace("_", "-"))
    if m and quantity_value is not None:
        unit = {k: quantity_value[k] for k in ("unit", "system", "code") if k in quantity_value}
        reference["low"], reference["high"] = {"value": _number(m[1]), **unit}, {"value": _number(m[2]), **unit}
    return [reference]


def _interpretation(obx: Segment) -> list[dict[str, Any]]:
    out = []
    for rep in range(1, repetitions(obx, 8) + 1):
        code = value(obx, 8, rep, 1)
        if code:
            system = INTERPRETATION if code in INTERPRETATIONS else "http://terminology.hl7.org/CodeSystem/v2-0078"
            out.append({"coding": [{"system": system, "code": code}]})
    return out


def _observation(message: Message, facility: Facility, group: _Group, report_key: str, obx: Segment,
                 nte: list[str], where: str, used: set[str], fallback_time: Timestamp | None) -> dict[str, Any]:
    code = codeable(obx, 3, facility)
    if code is None:
        raise Hl7Problem(f"{where}-3 缺少检验项目代码", "AE", "101", f"{where}-3", "hl7v2.required")
    first = (code.get("coding") or [{}])[0]
    key = f"{first.get('system', '')}|{first.get('code') or code.get('text')}|{value(obx, 4)}"
    if key in used:
        key += f"|{value(obx, 1) or len(used)}"
    used.add(key)
    notes = list(nte)
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": resource_id("Observation", facility, report_key, key),
        "status": STATUS.get(value(obx, 11).upper(), "final"),
        "category": [LAB_CATEGORY], "code": code,
        "subject": {"reference": f"Patient/{group.patient.id}"},
        "performer": [facility.reference],
    }
    observation.update(_value(obx, where, facility, notes))
    effective = timestamp(value(obx, 14), f"{where}-14") or fallback_time
    if effective is not None:
        observation["effectiveDateTime"] = effective.fhir()
    ranges = _reference_range(obx, observation.get("valueQuantity"))
    if ranges:
        observation["referenceRange"] = ranges
    interpretation = _interpretation(obx)
    if interpretation:
        observation["interpretation"] = interpretation
    if notes:
        observation["note"] = [{"text": n} for n in notes]
    return observation


def map_oru(message: Message, facility: Facility, stored: dict[tuple[str, str], dict[str, Any] | None]
            ) -> Mapped:
    groups, notes = _groups(message, facility)
    first = groups[0].patient
    resources: list[dict[str, Any]] = []
    for pid_number, pid in enumerate(message.segments("PID"), start=1):
        where = "PID" if pid_number == 1 else f"PID[{pid_number}]"
        key = patient_key(message, facility, pid, where)
        if stored.get(("Patient", key.id)) is None and all(r["id"] != key.id for r in resources):
            resources.append(map_patient(message, facility, key, pid, where))
    enc_id = encounter_id(message, facility, first, fallback=False)
    encounter = {"reference": f"Encounter/{enc_id}"} if enc_id and stored.get(("Encounter", enc_id)) else None
    sent = timestamp(message.sent_at, "MSH-7")
    obx_number = 0
    for index, group in enumerate(groups, start=1):
        where_obr = "OBR" if index == 1 else f"OBR[{index}]"
        report_key = _report_key(message, group, index)
        observed = timestamp(value(group.obr, 7), f"{where_obr}-7")
        issued = timestamp(value(group.obr, 22), f"{where_obr}-22")
        used: set[str] = set()
        observations = []
        for obx, nte in group.observations:
            obx_number += 1
            where = "OBX" if obx_number == 1 else f"OBX[{obx_number}]"
            observation = _observation(message, facility, group, report_key, obx, nte, where, used,
                                       observed or sent)
            if encounter and group.patient.id == first.id:
                observation["encounter"] = encounter
            if issued is not None and issued.has_time:
                observation["issued"] = issued.fhir()
            observations.append(observation)
        code = codeable(group.obr, 4, facility)
        if code is None:
            raise Hl7Problem(f"{where_obr}-4 缺少检验项目（通用服务标识）", "AE", "101", f"{where_obr}-4",
                             "hl7v2.required")
        statuses = {o["status"] for o in observations}
        default_status = "registered" if not observations else (
            "final" if statuses <= {"final"} else "corrected" if statuses <= {"final", "corrected"} else "preliminary")
        report: dict[str, Any] = {
            "resourceType": "DiagnosticReport", "id": resource_id("DiagnosticReport", facility, report_key),
            "status": REPORT_STATUS.get(value(group.obr, 25).upper(), default_status),
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                      "code": value(group.obr, 24).upper() or "LAB"}]}],
            "code": code, "subject": {"reference": f"Patient/{group.patient.id}"},
            "performer": [facility.reference],
            "result": [{"reference": f"Observation/{o['id']}"} for o in observations],
        }
        identifiers = [{"system": f"{SID}/{kind}-order/{facility.code}", "value": number}
                       for kind, number in (("filler", value(group.obr, 3)), ("placer", value(group.obr, 2)))
                       if number]
        if identifiers:
            report["identifier"] = identifiers
        effective = observed or (timestamp(value(group.obr, 8), f"{where_obr}-8")) or sent
        if effective is not None:
            report["effectiveDateTime"] = effective.fhir()
        if issued is not None and issued.has_time:
            report["issued"] = issued.fhir()
        if encounter and group.patient.id == first.id:
            report["encounter"] = encounter
        resources.extend(observations)
        resources.append(report)
    return Mapped(resources, first, notes=notes)
