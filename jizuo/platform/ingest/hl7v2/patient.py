"""PID → FHIR Patient, and the deterministic ids every HL7 mapping derives from the sending facility.

Ids are uuid5 of (facility code, local business key), so a re-sent or corrected message updates the same
resources. The Patient id is the one the tabular pipeline derives for the same institution and MRN
(`RecordMapper.patient_id`): a hospital feeding both CSV files and HL7 messages keeps one Patient per MRN.

Where Chinese HIS put the 身份证 (居民身份证号码):
- a PID-3 repetition whose identifier type (CX-5) is `ID`, `NI` or `NNCHN`, or whose assigning authority
  (CX-4) is the 身份证 OID 2.16.156.10011.1.3 or is named 身份证 / 居民身份证;
- PID-19 (SSN number), when it has the shape of one (17 digits + digit or X). A 9-digit US SSN in the public
  samples is not a 身份证 and is not mapped.
It becomes the identifier with system `ID_CARD_SYSTEM`, so the MPI links deterministically on it; a wrong
check digit is refused by the FHIR layer and the message is held with that reason (ACK AE).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from hl7.containers import Segment

from jizuo.fhir.validation import ID_CARD_SYSTEM
from jizuo.platform.ingest.hl7v2.parse import Hl7Problem, Message, components, repetitions, timestamp, value
from jizuo.platform.ingest.mapping import MRN_SYSTEM, NAMESPACE

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
SID = "https://jizuo.example.org/fhir/sid"
ID_CARD_TYPES = frozenset({"ID", "NI", "NNCHN"})
ID_CARD_AUTHORITIES = frozenset({"2.16.156.10011.1.3", "身份证", "居民身份证"})
MRN_TYPES = ("MR", "PI", "PT", "PN")
_ID_SHAPE = re.compile(r"^\d{17}[\dXx]$")
_CJK = re.compile(r"[\u3400-\u9fff]")
GENDER = {"M": "male", "F": "female", "O": "other", "A": "other", "U": "unknown", "N": "unknown",
          "1": "male", "2": "female", "0": "unknown", "9": "unknown"}   # v2 table 0001 and GB/T 2261.1
NAME_USE = {"L": "official", "D": "usual", "M": "maiden", "N": "nickname", "S": "anonymous", "A": "usual"}
ADDRESS_USE = {"H": "home", "B": "work", "O": "work", "C": "temp", "BA": "old"}


@dataclass(frozen=True)
class Facility:
    """The sending facility (MSH-4) as registered: its FHIR Organization id is its registry UUID."""

    id: str
    code: str
    name: str

    @property
    def reference(self) -> dict[str, str]:
        return {"reference": f"Organization/{self.id}", "display": self.name}


def resource_id(kind: str, facility: Facility, *key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(("hl7v2", kind, facility.code, *key))))


@dataclass(frozen=True)
class PatientKey:
    id: str
    mrn: str | None
    id_number: str | None


def _is_id_card(segment: Segment, field_num: int, rep: int) -> bool:
    kind = value(segment, field_num, rep, 5).upper()
    authority = {value(segment, field_num, rep, 4, 1), value(segment, field_num, rep, 4, 2)}
    return kind in ID_CARD_TYPES or bool(authority & ID_CARD_AUTHORITIES)


def identifier_key(segment: Segment, facility: Facility, *, field_num: int, fallbacks: tuple[int, ...],
                   id_card_field: int | None, where: str) -> PatientKey:
    """Which Patient a CX list names: the facility's MRN (type MR, else PI/PT/PN, else untyped, else any
    other), else its 身份证. Hl7Problem when it names neither."""
    mrn: str | None = None
    id_number: str | None = None
    candidates: list[tuple[int, str]] = []
    for rep in range(1, repetitions(segment, field_num) + 1):
        number = value(segment, field_num, rep, 1)
        if not number:
            continue
        if _is_id_card(segment, field_num, rep):
            id_number = id_number or number.upper()
            continue
        kind = value(segment, field_num, rep, 5).upper()
        rank = MRN_TYPES.index(kind) if kind in MRN_TYPES else (len(MRN_TYPES) if not kind else len(MRN_TYPES) + 1)
        candidates.append((rank, number))
    if candidates:
        mrn = min(candidates, key=lambda c: c[0])[1]
    for other in fallbacks:
        mrn = mrn or value(segment, other) or None
    extra = value(segment, id_card_field) if id_card_field else ""
    if id_number is None and _ID_SHAPE.match(extra):
        id_number = extra.upper()
    if mrn:
        local = f"mrn:{mrn}"
    elif id_number:
        local = f"id:{id_number}"
    else:
        raise Hl7Problem(f"{where}-{field_num} 缺少患者标识（病历号或身份证号）", "AE", "101", f"{where}-{field_num}",
                         "hl7v2.required")
    return PatientKey(str(uuid.uuid5(NAMESPACE, f"Patient|{facility.code}|{local}")), mrn, id_number)


def patient_key(message: Message, facility: Facility, pid: Segment | None = None,
                where: str = "PID") -> PatientKey:
    """The Patient a PID names: PID-3, else PID-2 / PID-4 (older senders); 身份证 also from PID-19."""
    pid = pid if pid is not None else message.first("PID")
    if pid is None:
        raise Hl7Problem("缺少 PID 段（患者信息）", "AE", "100", "PID", "hl7v2.required")
    return identifier_key(pid, facility, field_num=3, fallbacks=(2, 4), id_card_field=19, where=where)


def prior_patient_key(mrg: Segment, facility: Facility) -> PatientKey:
    """The Patient an MRG (A40) merges away: MRG-1, else MRG-4."""
    return identifier_key(mrg, facility, field_num=1, fallbacks=(4,), id_card_field=None, where="MRG")


def mrn_identifier(facility: Facility, mrn: str) -> dict[str, Any]:
    return {"use": "usual", "type": {"coding": [{"system": V2_0203, "code": "MR"}]},
            "system": f"{MRN_SYSTEM}/{facility.code}", "value": mrn, "assigner": facility.reference}


def _names(pid: Segment) -> list[dict[str, Any]]:
    names: list[dict[str, Any]] = []
    for rep in range(1, repetitions(pid, 5) + 1):
        family = value(pid, 5, rep, 1)
        given = [g for g in (value(pid, 5, rep, 2), value(pid, 5, rep, 3)) if g]
        if not family and not given:
            continue
        cjk = bool(_CJK.search(family + "".join(given)))
        text = family + "".join(given) if cjk else " ".join([*given, family]).strip()
        kind = value(pid, 5, rep, 7).upper()
        name: dict[str, Any] = {"use": NAME_USE.get(kind, "official" if not names else "usual"), "text": text}
        if family:
            name["family"] = family
        if given:
            name["given"] = given
        prefix = value(pid, 5, rep, 5)
        if prefix:
            name["prefix"] = [prefix]
        names.append(name)
    return names


def _telecoms(pid: Segment) -> list[dict[str, Any]]:
    out = []
    for field_num, default_use in ((13, "home"), (14, "work")):
        for rep in range(1, repetitions(pid, field_num) + 1):
            parts = components(pid, field_num, rep, 12)
            equipment = parts[2].upper()
            if equipment in ("INTERNET", "X.400") or parts[1].upper() == "NET":
                if parts[3]:
                    out.append({"system": "email", "value": parts[3], "use": default_use})
                continue
            number = parts[0] or parts[11] or "".join(parts[5:7])
            if not number:
                continue
            system = {"FX": "fax", "BP": "pager"}.get(equipment, "phone")
            out.append({"system": system, "value": number, "use": "mobile" if equipment == "CP" else default_use})
    return out


def _addresses(pid: Segment) -> list[dict[str, Any]]:
    out = []
    for rep in range(1, repetitions(pid, 11) + 1):
        street, other, city, state, postal, country, kind = (value(pid, 11, rep, c) for c in range(1, 8))
        district = value(pid, 11, rep, 9) or value(pid, 11, rep, 8)
        if not any((street, other, city, state, postal, district)):
            continue
        lines = [line for line in (street, other) if line]
        cjk = bool(_CJK.search("".join((state, city, district, *lines))))
        text = "".join((state, city, district, *lines)) if cjk else \
            ", ".join(p for p in (*lines, city, state, postal, country) if p)
        address: dict[str, Any] = {"text": text}
        for key, part in (("city", city), ("district", district), ("state", state), ("postalCode", postal),
                          ("country", country)):
            if part:
                address[key] = part
        if lines:
            address["line"] = lines
        if kind.upper() in ADDRESS_USE:
            address["use"] = ADDRESS_USE[kind.upper()]
        elif kind.upper() == "M":
            address["type"] = "postal"
        out.append(address)
    return out


def map_patient(message: Message, facility: Facility, key: PatientKey, pid: Segment | None = None,
                where: str = "PID") -> dict[str, Any]:
    """PID → Patient (identifiers, names, gender, birth date, telecom, address, death)."""
    pid = pid if pid is not None else message.first("PID")
    identifiers = []
    if key.mrn:
        identifiers.append(mrn_identifier(facility, key.mrn))
    if key.id_number:
        identifiers.append({"use": "official", "system": ID_CARD_SYSTEM, "value": key.id_number})
    patient: dict[str, Any] = {"resourceType": "Patient", "id": key.id, "active": True, "identifier": identifiers,
                               "managingOrganization": facility.reference}
    names = _names(pid) if pid is not None else []
    if names:
        patient["name"] = names
    sex = value(pid, 8).upper()
    if sex:
        if sex not in GENDER:
            raise Hl7Problem(f"{where}-8 性别代码“{sex}”无法识别（应为 M/F/O/U 或 1/2/0/9）", "AE", "103",
                             f"{where}-8")
        patient["gender"] = GENDER[sex]
    birth = timestamp(value(pid, 7), f"{where}-7")
    if birth is not None:
        patient["birthDate"] = birth.fhir()[:10]
    telecom = _telecoms(pid) if pid is not None else []
    if telecom:
        patient["telecom"] = telecom
    addresses = _addresses(pid) if pid is not None else []
    if addresses:
        patient["address"] = addresses
    death = timestamp(value(pid, 29), f"{where}-29")
    if death is not None:
        patient["deceasedDateTime"] = death.fhir()
    elif value(pid, 30).upper() == "Y":
        patient["deceasedBoolean"] = True
    return patient
