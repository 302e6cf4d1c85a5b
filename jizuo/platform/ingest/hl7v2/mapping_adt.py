"""ADT messages → Patient and Encounter.

| trigger | meaning                      | written                                                        |
|---------|------------------------------|----------------------------------------------------------------|
| A01     | admit / visit notification   | Patient; Encounter in-progress (class from PV1-2, else IMP)    |
| A04     | register a patient           | Patient; Encounter in-progress (class from PV1-2, else AMB)    |
| A03     | discharge / end visit        | Patient; Encounter finished, period.end = PV1-45 (else EVN)    |
| A08     | update patient information   | Patient; the Encounter too when the PV1 names a visit          |
| A28/A31 | add / update person          | Patient                                                        |
| A40     | merge patient (PID + MRG)    | surviving Patient `replaces` the old one; old one inactive and |
|         |                              | `replaced-by`; the MPI moves the old record to the survivor    |

The Encounter id comes from the patient and the visit number (PV1-19), else the account number (PID-18), else
the admission time (PV1-44); A01/A03/A04 fall back to the message control id. A discharge that repeats no
admission time keeps the one the admission sent (the stored Encounter's period.start).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hl7.containers import Segment

from jizuo.platform.ingest.hl7v2.parse import Hl7Problem, Message, Timestamp, timestamp, value
from jizuo.platform.ingest.hl7v2.patient import (
    SID,
    Facility,
    PatientKey,
    map_patient,
    patient_key,
    prior_patient_key,
    resource_id,
)

ADT_TRIGGERS = frozenset({"A01", "A03", "A04", "A08", "A28", "A31", "A40"})
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CLASSES = {"IMP": "inpatient encounter", "AMB": "ambulatory", "EMER": "emergency", "PRENC": "pre-admission"}
PATIENT_CLASS = {"I": "IMP", "B": "IMP", "O": "AMB", "R": "AMB", "C": "AMB", "E": "EMER", "P": "PRENC"}
DEFAULT_CLASS = {"A01": "IMP", "A04": "AMB", "A03": "IMP", "A08": "AMB"}


@dataclass
class Mapped:
    """What one message becomes: resources in write order (the Patient first), A40 merges, and notes for
    the ACK text."""

    resources: list[dict[str, Any]]
    patient: PatientKey
    merges: list[tuple[str, str]] = field(default_factory=list)      # (old Patient id, surviving Patient id)
    notes: list[str] = field(default_factory=list)


def visit_key(message: Message, patient: PatientKey, *, fallback: bool) -> str | None:
    pv1, pid = message.first("PV1"), message.first("PID")
    if value(pv1, 19):
        return f"visit:{value(pv1, 19)}"
    if value(pid, 18):
        return f"account:{value(pid, 18)}"
    if value(pv1, 44) and patient.mrn:
        return f"admit:{patient.mrn}:{value(pv1, 44)}"
    return f"message:{message.control_id}" if fallback else None


def encounter_id(message: Message, facility: Facility, patient: PatientKey, *, fallback: bool) -> str | None:
    key = visit_key(message, patient, fallback=fallback)
    # The patient is part of the key: a visit number that a sender reuses for another patient (the public
    # samples do) must not move one patient's Encounter to another.
    return resource_id("Encounter", facility, patient.id, key) if key else None


def adt_keys(message: Message, facility: Facility) -> list[tuple[str, str]]:
    """Stored resources the mapping needs to see: the Patients (identifiers the message does not repeat are
    kept), the Encounter (A03/A08 keep its start), the old Patients of an A40."""
    if message.trigger == "A40":
        pairs = _merge_pairs(message)
        return [*(("Patient", patient_key(message, facility, pid).id) for pid, _ in pairs),
                *(("Patient", prior_patient_key(mrg, facility).id) for _, mrg in pairs)]
    patient = patient_key(message, facility)
    keys = [("Patient", patient.id)]
    if message.trigger in ("A01", "A03", "A04", "A08"):
        found = encounter_id(message, facility, patient, fallback=message.trigger != "A08")
        if found:
            keys.append(("Encounter", found))
    return keys


def _event_time(message: Message) -> Timestamp | None:
    evn = message.first("EVN")
    return (timestamp(value(evn, 6), "EVN-6") or timestamp(value(evn, 2), "EVN-2")
            or timestamp(message.sent_at, "MSH-7"))


def _participants(pv1: Segment) -> list[dict[str, Any]]:
    """Attending (PV1-7), referring (PV1-8), admitting (PV1-17) doctors, by name: the sender's staff codes
    are not the registry's."""
    out = []
    for field_num, code, display in ((7, "ATND", "attender"), (8, "REF", "referrer"), (17, "ADM", "admitter")):
        family, given = value(pv1, field_num, 1, 2), value(pv1, field_num, 1, 3)
        name = (family + given) if any("\u3400" <= ch <= "\u9fff" for ch in family) else " ".join(
            p for p in (given, family) if p)
        if not name:
            continue
        out.append({"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                          "code": code, "display": display}]}],
                    "individual": {"display": name}})
    return out


def map_encounter(message: Message, facility: Facility, patient: PatientKey, enc_id: str,
                  previous: dict[str, Any] | None) -> dict[str, Any]:
    pv1 = message.first("PV1")
    trigger = message.trigger
    previous = previous or {}
    kind = PATIENT_CLASS.get(value(pv1, 2).upper()) or (previous.get("class") or {}).get("code") \
        or DEFAULT_CLASS.get(trigger, "AMB")
    admitted = timestamp(value(pv1, 44), "PV1-44")
    discharged = timestamp(value(pv1, 45), "PV1-45")
    period: dict[str, str] = {}
    start = admitted.fhir() if admitted else (previous.get("period") or {}).get("start")
    if start is None and trigger in ("A01", "A04"):
        event = _event_time(message)
        start = event.fhir() if event else None
    if start:
        period["start"] = start
    if trigger == "A03":
        end = discharged or _event_time(message)
        if end is not None:
            period["end"] = end.fhir()
        status = "finished"
    elif discharged is not None:
        period["end"], status = discharged.fhir(), "finished"
    else:
        status = "in-progress" if trigger in ("A01", "A04") else previous.get("status", "in-progress")
    encounter: dict[str, Any] = {
        "resourceType": "Encounter", "id": enc_id, "status": status,
        "class": {"system": ACT_CODE, "code": kind, "display": CLASSES.get(kind, kind)},
        "subject": {"reference": f"Patient/{patient.id}"}, "serviceProvider": facility.reference,
    }
    visit = value(pv1, 19) or value(message.first("PID"), 18)
    if visit:
        encounter["identifier"] = [{"system": f"{SID}/visit/{facility.code}", "value": visit}]
    if period:
        encounter["period"] = period
    location = " ".join(p for p in (value(pv1, 3, 1, 1), value(pv1, 3, 1, 2), value(pv1, 3, 1, 3)) if p)
    if location:
        encounter["location"] = [{"location": {"display": location}}]
    participants = _participants(pv1) if pv1 is not None else []
    if participants:
        encounter["participant"] = participants
    reason = value(message.first("PV2"), 3, 1, 2) or value(message.first("PV2"), 3, 1, 1)
    if reason:
        encounter["reasonCode"] = [{"text": reason}]
    return encounter


def _merge_pairs(message: Message) -> list[tuple[Segment, Segment]]:
    """A40 carries one or more PID + MRG pairs, in order."""
    pairs, current = [], None
    for segment in message.parsed:
        name = str(segment[0][0])
        if name == "PID":
            current = segment
        elif name == "MRG" and current is not None:
            pairs.append((current, segment))
            current = None
    if not pairs:
        raise Hl7Problem("A40 合并消息缺少 PID + MRG 段对", "AE", "100", "MRG", "hl7v2.required")
    return pairs


def map_adt(message: Message, facility: Facility, stored: dict[tuple[str, str], dict[str, Any] | None]
            ) -> Mapped:
    """`stored`: the current resources `adt_keys` asked for (None when absent)."""
    if message.trigger == "A40":
        resources: list[dict[str, Any]] = []
        merges = []
        notes = []
        for n, (pid, mrg) in enumerate(_merge_pairs(message), start=1):
            where = "PID" if n == 1 else f"PID[{n}]"
            survivor = patient_key(message, facility, pid, where)
            old = prior_patient_key(mrg, facility)
            if old.id == survivor.id:
                raise Hl7Problem(f"MRG-1 与 {where}-3 是同一患者标识，无需合并", "AE", "205", "MRG-1")
            surviving = map_patient(message, facility, survivor, pid, where)
            if stored.get(("Patient", old.id)) is not None:
                surviving["link"] = [{"other": {"reference": f"Patient/{old.id}"}, "type": "replaces"}]
                merges.append((old.id, survivor.id))
            else:
                notes.append(f"被合并的患者（MRG-1 {old.mrn or old.id_number}）在平台中不存在，仅更新了现患者")
            resources.append(surviving)
        return Mapped(resources, patient_key(message, facility), merges, notes)
    patient = patient_key(message, facility)
    resources = [map_patient(message, facility, patient)]
    if message.trigger in ("A01", "A03", "A04", "A08") and message.first("PV1") is not None:
        enc_id = encounter_id(message, facility, patient, fallback=message.trigger != "A08")
        if enc_id:
            resources.append(map_encounter(message, facility, patient, enc_id, stored.get(("Encounter", enc_id))))
    return Mapped(resources, patient)
