"""Builders of the FHIR R4 resources in the synthetic demo history, from plain values.

Kept apart from the timeline (jizuo.platform.demo.clinical) so the FHIR shape of each resource is in one
place and the FHIR layer stays free of platform imports. Times are local (Asia/Shanghai, +08:00).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jizuo.fhir.demo import codes as c
from jizuo.fhir.validation import ID_CARD_SYSTEM

Json = dict[str, Any]


def ref(res_type: str, res_id: str, display: str | None = None) -> Json:
    out: Json = {"reference": f"{res_type}/{res_id}"}
    if display:
        out["display"] = display
    return out


def concept(system: str, code: str, display: str, text: str | None = None) -> Json:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text or display}


def moment(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S+08:00")


def human_name(full: str, family: str, given: str) -> Json:
    return {"use": "official", "text": full, "family": family, "given": [given]}


def patient(pid: str, *, name: Json, gender: str, birth_date: str, id_number: str, insurance_no: str, phone: str,
            address: str, street: str, community: str, managing_org: Json, general_practitioner: Json | None) -> Json:
    resource: Json = {
        "resourceType": "Patient", "id": pid, "active": True,
        "identifier": [{"use": "official", "system": ID_CARD_SYSTEM, "value": id_number},
                       {"use": "secondary", "system": c.INSURANCE_SYSTEM, "value": insurance_no}],
        "name": [name], "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
        "gender": gender, "birthDate": birth_date,
        "address": [{"use": "home", "text": address, "line": [f"{street}{community}"], "city": "申江市",
                     "district": "江川区", "country": "CN"}],
        "managingOrganization": managing_org,
    }
    if general_practitioner:
        resource["generalPractitioner"] = [general_practitioner]
    return resource


def encounter(eid: str, *, subject: Json, inpatient: bool, type_text: str, start: datetime, end: datetime,
              provider: Json, practitioner: Json, reason: Json | None = None) -> Json:
    resource: Json = {
        "resourceType": "Encounter", "id": eid, "status": "finished",
        "class": {"system": c.ACT_CODE, "code": "IMP" if inpatient else "AMB",
                  "display": "住院" if inpatient else "门诊"},
        "type": [{"coding": [{"system": c.ENCOUNTER_TYPE_SYSTEM, "code": type_text, "display": type_text}],
                  "text": type_text}],
        "subject": subject, "participant": [{"individual": practitioner}],
        "period": {"start": moment(start), "end": moment(end)}, "serviceProvider": provider,
    }
    if reason:
        resource["reasonCode"] = [reason]
    if inpatient:
        resource["hospitalization"] = {"dischargeDisposition": concept(c.DISCHARGE, "home", "出院回家")}
    return resource


def condition(cid: str, *, subject: Json, code: str, display: str, onset: datetime, recorder: Json,
              encounter: Json | None, resolved: datetime | None, chronic: bool) -> Json:
    resource: Json = {
        "resourceType": "Condition", "id": cid,
        "clinicalStatus": concept(c.CONDITION_CLINICAL, "resolved" if resolved else "active",
                                  "已痊愈" if resolved else "活动"),
        "verificationStatus": concept(c.CONDITION_VERIFICATION, "confirmed", "已确认"),
        "category": [concept(c.CONDITION_CATEGORY, "problem-list-item" if chronic else "encounter-diagnosis",
                             "问题列表" if chronic else "就诊诊断")],
        "code": concept(c.ICD10, code, display), "subject": subject,
        "onsetDateTime": moment(onset), "recordedDate": moment(onset), "recorder": recorder,
    }
    if encounter:
        resource["encounter"] = encounter
    if resolved:
        resource["abatementDateTime"] = moment(resolved)
    return resource


def _quantity(test: c.Test, value: float) -> Json:
    return {"value": round(value, test.decimals) if test.decimals else int(round(value)), "unit": test.unit,
            "system": c.UCUM, "code": test.unit}


def _interpretation(test: c.Test, value: float, gender: str) -> list[Json] | None:
    low, high = test.range_for(gender)
    if high is not None and value > high:
        return [concept(c.INTERPRETATION, "H", "偏高")]
    if low is not None and value < low:
        return [concept(c.INTERPRETATION, "L", "偏低")]
    return None


def _range(test: c.Test, gender: str) -> list[Json] | None:
    low, high = test.range_for(gender)
    if low is None and high is None:
        return None
    out: Json = {}
    if low is not None:
        out["low"] = _quantity(test, low)
    if high is not None:
        out["high"] = _quantity(test, high)
    return [out]


def observation(oid: str, *, test: c.Test, value: float, gender: str, subject: Json, encounter: Json,
                when: datetime, performer: Json, laboratory: bool) -> Json:
    category = ("laboratory", "实验室检查") if laboratory else ("vital-signs", "生命体征")
    resource: Json = {
        "resourceType": "Observation", "id": oid, "status": "final",
        "category": [concept(c.OBS_CATEGORY, *category)], "code": concept(c.LOINC, test.code, test.display),
        "subject": subject, "encounter": encounter, "effectiveDateTime": moment(when), "issued": moment(when),
        "performer": [performer], "valueQuantity": _quantity(test, value),
    }
    interpretation = _interpretation(test, value, gender)
    if interpretation:
        resource["interpretation"] = interpretation
    reference_range = _range(test, gender)
    if reference_range:
        resource["referenceRange"] = reference_range
    return resource


def blood_pressure(oid: str, *, systolic: float, diastolic: float, gender: str, subject: Json, encounter: Json,
                   when: datetime, performer: Json) -> Json:
    components = []
    for test, value in ((c.SYSTOLIC, systolic), (c.DIASTOLIC, diastolic)):
        component: Json = {"code": concept(c.LOINC, test.code, test.display), "valueQuantity": _quantity(test, value)}
        interpretation = _interpretation(test, value, gender)
        if interpretation:
            component["interpretation"] = interpretation
        component["referenceRange"] = _range(test, gender)
        components.append(component)
    return {
        "resourceType": "Observation", "id": oid, "status": "final",
        "category": [concept(c.OBS_CATEGORY, "vital-signs", "生命体征")], "code": concept(c.LOINC, *c.BP_PANEL),
        "subject": subject, "encounter": encounter, "effectiveDateTime": moment(when), "performer": [performer],
        "component": components,
    }


def report(rid: str, *, code: tuple[str, str], subject: Json, encounter: Json, when: datetime, issued: datetime,
           performer: Json, interpreter: Json | None, results: list[str] | None = None,
           conclusion: str | None = None, findings: str | None = None) -> Json:
    imaging = results is None
    resource: Json = {
        "resourceType": "DiagnosticReport", "id": rid, "status": "final",
        "category": [concept(c.REPORT_CATEGORY, "RAD" if imaging else "LAB", "影像检查" if imaging else "检验")],
        "code": concept(c.LOINC, *code), "subject": subject, "encounter": encounter,
        "effectiveDateTime": moment(when), "issued": moment(issued), "performer": [performer],
    }
    if interpreter:
        resource["resultsInterpreter"] = [interpreter]
    if results:
        resource["result"] = [ref("Observation", oid) for oid in results]
    if conclusion:
        resource["conclusion"] = conclusion
    if findings:
        resource["text"] = {"status": "generated",
                            "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>检查所见：{findings}</p>'
                                   f"<p>诊断意见：{conclusion}</p></div>"}
    return resource


def medication_request(mid: str, *, medicine: c.Medicine, subject: Json, encounter: Json, authored: datetime,
                       requester: Json, reason: Json, days: int, active: bool) -> Json:
    return {
        "resourceType": "MedicationRequest", "id": mid, "status": "active" if active else "completed",
        "intent": "order", "medicationCodeableConcept": concept(c.ATC, medicine.atc, medicine.display),
        "subject": subject, "encounter": encounter, "authoredOn": moment(authored), "requester": requester,
        "reasonCode": [reason],
        "dosageInstruction": [{"text": medicine.dosage,
                               "timing": {"repeat": {"frequency": medicine.per_day, "period": 1, "periodUnit": "d"}}}],
        "dispenseRequest": {"expectedSupplyDuration": {"value": days, "unit": "天", "system": c.UCUM, "code": "d"}},
    }
