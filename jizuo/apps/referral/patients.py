"""Who is being referred: a FHIR Patient id or a 身份证, resolved through the master patient index and the
population register (whose residents carry the signed family-doctor team a down-referral goes back to)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.referral import repository
from jizuo.core.errors import BadRequest, NotFound, ValidationFailed
from jizuo.core.idcard import is_valid_id_number
from jizuo.core.security import FieldCipher
from jizuo.platform.residents.models import Resident


@dataclass(frozen=True)
class ReferredPatient:
    patient_id: str
    name: str | None
    gender: str | None
    birth_date: str | None
    resident: Resident | None


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def _resident_of_records(db: AsyncSession, patient_ids: list[str]) -> Resident | None:
    for patient_id in patient_ids:
        resident_id = _as_uuid(patient_id)
        if resident_id is not None and (found := await repository.resident(db, resident_id)) is not None:
            return found
    return None


def _from_resident(resident: Resident) -> ReferredPatient:
    return ReferredPatient(str(resident.id), resident.name, resident.gender, resident.birth_date.isoformat(),
                           resident)


async def by_id_number(db: AsyncSession, cipher: FieldCipher, id_number: str) -> ReferredPatient:
    value = id_number.strip().upper()
    if not is_valid_id_number(value):
        raise ValidationFailed("身份证号格式或校验位不正确", code="invalid_id_number")
    bidx = cipher.blind_index(value)
    resident = await repository.resident_by_id_number(db, bidx)
    if resident is not None:
        return _from_resident(resident)
    records = await repository.mpi_records_by_id_number(db, bidx)
    if not records:
        raise NotFound("主索引中未找到该身份证号对应的患者", code="patient_not_found")
    record = records[0]
    linked = (await repository.mpi_records_of_person(db, record.person_id)) if record.person_id else records
    resident = await _resident_of_records(db, [r.patient_id for r in linked])
    if resident is not None:
        return _from_resident(resident)
    return ReferredPatient(record.patient_id, record.name, record.gender, record.birth, None)


async def by_patient_id(db: AsyncSession, patient_id: str) -> ReferredPatient:
    patient_id = patient_id.removeprefix("Patient/").strip()
    if not patient_id:
        raise BadRequest("请提供患者 ID 或身份证号", code="patient_missing")
    resident_id = _as_uuid(patient_id)
    resident = await repository.resident(db, resident_id) if resident_id else None
    if resident is not None:
        return _from_resident(resident)
    record = await repository.mpi_record(db, patient_id)
    if record is None or record.deleted:
        raise NotFound("未找到该患者（FHIR Patient）", code="patient_not_found")
    linked = await repository.mpi_records_of_person(db, record.person_id) if record.person_id else [record]
    resident = await _resident_of_records(db, [r.patient_id for r in linked])
    return ReferredPatient(patient_id, record.name, record.gender, record.birth, resident)


async def resolve(db: AsyncSession, cipher: FieldCipher, patient_id: str | None, id_number: str | None
                  ) -> ReferredPatient:
    if id_number:
        return await by_id_number(db, cipher, id_number)
    if patient_id:
        return await by_patient_id(db, patient_id)
    raise BadRequest("请提供患者 ID（patient_id）或身份证号（id_number）", code="patient_missing")
