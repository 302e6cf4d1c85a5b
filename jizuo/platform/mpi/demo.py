"""The MPI's part of the demo district: other institutions' registrations of the residents with a clinical
history, loaded as FHIR Patients through the bulk-import pipeline and then linked by `link-pending` — the
real matching path, so the demo's links, reviews and golden records are what the matcher decided.

Two kinds of extra registration:
- the duplicates of `jizuo.platform.demo.duplicates` (10 % of residents registered at one to three other
  institutions with homophones, traditional characters, day/month swaps, missing or mistyped 身份证, stale
  phones, address variants). The model links nearly all of them on its own;
- a few harder ones (one in `HARD_EVERY` residents), where a clerk typed a different character of the given
  name or a wrong birth-date digit *and* left out the 身份证: a person has to look at those, so they give
  the demo's review queue (待审核) its items.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

from jizuo.core.idcard import is_valid_id_number
from jizuo.core.security import FieldCipher
from jizuo.fhir.bulk import ImportReport, import_resources, resource_exists
from jizuo.fhir.validation import ID_CARD_SYSTEM
from jizuo.platform.demo.addresses import mobile_phone
from jizuo.platform.demo.generator import generate_district
from jizuo.platform.demo.model import Organization, Resident, SourceRecord
from jizuo.platform.demo.names import split_name
from jizuo.platform.demo.seed import stable_id
from jizuo.platform.mpi.normalise import pinyin

log = logging.getLogger(__name__)
Json = dict[str, Any]
DUPLICATES_PCT = 10
HARD_EVERY = 500
MRN_SYSTEM = "https://jizuo.dev/fhir/NamingSystem/mrn/"
_V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
_GIVEN_NAME_CHARACTERS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红梅兰玉春"
_HOSPITALS = ("JC-H001", "JC-H002", "JC-H003", "JC-H004", "JC-H005")


def registration_id(record_id: str) -> str:
    return str(stable_id("patient-registration", record_id))


def registration_patient(record: SourceRecord, org: Organization) -> Json:
    """A source record as the institution's system would send it: its MRN, no 医保卡."""
    org_id = str(stable_id("org", org.code))
    family, given = split_name(record.name)
    identifiers: list[Json] = [{
        "use": "usual", "type": {"coding": [{"system": _V2_0203, "code": "MR"}]},
        "system": MRN_SYSTEM + org.code, "value": record.mrn, "assigner": {"reference": f"Organization/{org_id}"}}]
    if record.id_number and is_valid_id_number(record.id_number):  # a mistyped one fails validation: left out
        identifiers.append({"use": "official", "system": ID_CARD_SYSTEM, "value": record.id_number})
    return {
        "resourceType": "Patient", "id": registration_id(record.record_id), "active": True,
        "identifier": identifiers,
        "name": [{"use": "official", "text": record.name, "family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": record.phone, "use": "mobile"}],
        "gender": record.gender, "birthDate": record.birth_date.isoformat(),
        "address": [{"use": "home", "text": record.address}],
        "managingOrganization": {"reference": f"Organization/{org_id}", "display": org.name},
    }


def _other_character(rng: random.Random, char: str) -> str:
    sound = pinyin(char)
    choices = [c for c in _GIVEN_NAME_CHARACTERS if c != char and pinyin(c) != sound]
    return rng.choice(choices)


def hard_duplicate(rng: random.Random, resident: Resident, number: int) -> SourceRecord:
    """A registration at a hospital that a matcher should not decide alone (no 身份证, one more slip)."""
    record = SourceRecord(record_id=f"HD{number:07d}", institution_code=_HOSPITALS[number % len(_HOSPITALS)],
                          mrn=f"HD{number:07d}", resident_id=resident.id, name=resident.name,
                          gender=resident.gender, birth_date=resident.birth_date, id_number=None,
                          phone=resident.phone, address=resident.address)
    if number % 2 == 0:  # a different character of the given name
        name = resident.name[:-1] + _other_character(rng, resident.name[-1])
        return replace(record, name=name, corruptions=("id_missing", "name_typo"))
    birth = resident.birth_date  # one digit of the day, and an old phone number
    day = birth.day + 1 if birth.day % 10 != 9 and birth.day < 28 else birth.day - 1
    return replace(record, birth_date=date(birth.year, birth.month, day), phone=mobile_phone(rng),
                   corruptions=("id_missing", "birth_digit", "phone_stale"))


def demo_registrations(seed: int, history_residents: int) -> Iterator[Json]:
    """Patients of other institutions for the first `history_residents` residents (same seed, same ids)."""
    district = generate_district(seed=seed, residents=history_residents, duplicates_pct=DUPLICATES_PCT)
    orgs = {o.code: o for o in district.organizations}
    for record in district.source_records:
        if record.corruptions:  # the clean home-centre record is the resident's own Patient already
            yield registration_patient(record, orgs[record.institution_code])
    rng = random.Random(f"{seed}:mpi-hard-duplicates")
    for number, resident in enumerate(district.residents[HARD_EVERY // 2::HARD_EVERY]):
        record = hard_duplicate(rng, resident, number)
        yield registration_patient(record, orgs[record.institution_code])


async def load_demo_registrations(database_url: str, seed: int, history_residents: int, *, workers: int = 2,
                                  cipher: FieldCipher | None = None) -> ImportReport | None:
    """Load the registrations through the bulk-import pipeline; None when already loaded."""
    registrations = list(demo_registrations(seed, history_residents)) if history_residents > 0 else []
    if not registrations or await resource_exists(database_url, "Patient", str(registrations[-1]["id"])):
        return None
    report = await import_resources(database_url, registrations, label="demo-registrations", workers=workers,
                                    cipher=cipher)
    log.info("demo registrations at other institutions: %s", report.summary())
    return report
