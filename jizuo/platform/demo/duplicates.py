"""Per-institution patient records with realistic duplicates, for exercising the master patient index.

Every resident gets one clean record at their home centre. A chosen share of residents also appears at
other institutions, and each such extra record carries one to three of the corruptions seen in real
registration data: same-sounding characters, traditional characters, day/month swapped, missing or mistyped
ID number, an old phone number, or the address written differently. `SourceRecord.resident_id` is the
ground truth a matcher is scored against.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date

from jizuo.platform.demo.addresses import mobile_phone
from jizuo.platform.demo.model import CITY_NAME, District, Organization, Resident, SourceRecord
from jizuo.platform.demo.names import homophone_typo, to_traditional
from jizuo.platform.demo.people import pick_index, weighted_picker

_Corruption = Callable[[random.Random, SourceRecord], SourceRecord | None]
"""Returns the corrupted copy, or None when the corruption does not apply to this record."""

_ROOM_SUFFIX = re.compile(r"\d+室$")
_EXTRA_RECORD_COUNT_PICKER = weighted_picker([70, 22, 8])  # 1, 2 or 3 extra records
_CORRUPTION_COUNT_PICKER = weighted_picker([60, 30, 10])  # 1, 2 or 3 corruptions per extra record
_RECORD_INSTITUTION_TYPES = frozenset(
    {"general_hospital", "tcm_hospital", "mch_hospital", "community_centre"}
)


def _name_homophone(rng: random.Random, record: SourceRecord) -> SourceRecord | None:
    typo = homophone_typo(rng, record.name)
    return replace(record, name=typo) if typo else None


def _name_traditional(rng: random.Random, record: SourceRecord) -> SourceRecord | None:
    traditional = to_traditional(record.name)
    return replace(record, name=traditional) if traditional != record.name else None


def _birth_day_month_swapped(rng: random.Random, record: SourceRecord) -> SourceRecord | None:
    birth = record.birth_date
    if birth.day > 12 or birth.day == birth.month:
        return None
    return replace(record, birth_date=date(birth.year, birth.day, birth.month))


def _id_missing(rng: random.Random, record: SourceRecord) -> SourceRecord | None:
    return replace(record, id_number=None) if record.id_number else None


def _id_digit_typo(rng: random.Random, record: SourceRecord) -> SourceRecord | None:
    """One wrong digit in the first 17; the check character then no longer matches, as in real typos."""
    if not record.id_number:
        return None
    position = rng.randrange(17)
    wrong = str((int(record.id_number[position]) + rng.randint(1, 9)) % 10)
    number = record.id_number[:position] + wrong + record.id_number[position + 1 :]
    return replace(record, id_number=number)


def _phone_stale(rng: random.Random, record: SourceRecord) -> SourceRecord | None:
    return replace(record, phone=mobile_phone(rng))


def _address_variant(rng: random.Random, record: SourceRecord) -> SourceRecord | None:
    """The same address as a different clerk writes it: 街道→街, no room number, no city prefix."""
    variants = {
        record.address.replace("街道", "街", 1),
        _ROOM_SUFFIX.sub("", record.address),
        record.address.removeprefix(CITY_NAME),
    }
    variants.discard(record.address)
    if not variants:
        return None
    return replace(record, address=rng.choice(sorted(variants)))


# (label, function, field it damages, relative frequency). One corruption per field at most: a record with
# both a mistyped and a missing ID number would make the label meaningless.
_CORRUPTIONS: tuple[tuple[str, _Corruption, str, float], ...] = (
    ("name_homophone", _name_homophone, "name", 25),
    ("name_traditional", _name_traditional, "name", 8),
    ("birth_day_month_swapped", _birth_day_month_swapped, "birth_date", 10),
    ("id_missing", _id_missing, "id_number", 20),
    ("id_digit_typo", _id_digit_typo, "id_number", 10),
    ("phone_stale", _phone_stale, "phone", 20),
    ("address_variant", _address_variant, "address", 25),
)


def _corrupt(rng: random.Random, record: SourceRecord) -> SourceRecord:
    """Apply 1–3 applicable corruptions to different fields, drawn by weight without replacement."""
    wanted = pick_index(rng, _CORRUPTION_COUNT_PICKER) + 1
    candidates = list(_CORRUPTIONS)
    applied: list[str] = []
    while candidates and len(applied) < wanted:
        index = pick_index(rng, weighted_picker([weight for *_, weight in candidates]))
        label, corruption, field_name, _ = candidates.pop(index)
        corrupted = corruption(rng, record)
        if corrupted is not None:
            record = corrupted
            applied.append(label)
            candidates = [candidate for candidate in candidates if candidate[2] != field_name]
    # Drawing continues past inapplicable ones; phone_stale always applies, so at least one sticks.
    return replace(record, corruptions=tuple(applied))


class _RecordNumbers:
    """Sequential record ids and per-institution MRNs, so output is stable for a seed."""

    def __init__(self) -> None:
        self._records = 0
        self._mrns: dict[str, int] = {}

    def next(self, institution_code: str) -> tuple[str, str]:
        self._records += 1
        count = self._mrns.get(institution_code, 0) + 1
        self._mrns[institution_code] = count
        prefix = institution_code.removeprefix("JC-").replace("-", "")
        return f"SR{self._records:09d}", f"{prefix}{count:08d}"


def _clean_record(numbers: _RecordNumbers, resident: Resident, institution_code: str) -> SourceRecord:
    record_id, mrn = numbers.next(institution_code)
    return SourceRecord(
        record_id=record_id,
        institution_code=institution_code,
        mrn=mrn,
        resident_id=resident.id,
        name=resident.name,
        gender=resident.gender,
        birth_date=resident.birth_date,
        id_number=resident.id_number,
        phone=resident.phone,
        address=resident.address,
    )


def _record_institutions(organizations: Sequence[Organization]) -> list[str]:
    return [org.code for org in organizations if org.type in _RECORD_INSTITUTION_TYPES]


def generate_source_records(district: District, duplicates_pct: float, seed: int) -> list[SourceRecord]:
    """One clean record per resident at the home centre, plus corrupted extra records elsewhere for
    `duplicates_pct` per cent of residents (0–100)."""
    if not 0 <= duplicates_pct <= 100:
        raise ValueError("duplicates_pct must be between 0 and 100")
    rng = random.Random(f"{seed}:source-records")
    residents = district.residents
    duplicated_count = round(len(residents) * duplicates_pct / 100)
    duplicated = set(rng.sample(range(len(residents)), duplicated_count))
    institutions = _record_institutions(district.organizations)
    numbers = _RecordNumbers()
    records: list[SourceRecord] = []
    for index, resident in enumerate(residents):
        clean = _clean_record(numbers, resident, resident.home_centre_code)
        records.append(clean)
        if index not in duplicated:
            continue
        elsewhere = [code for code in institutions if code != resident.home_centre_code]
        extra_count = pick_index(rng, _EXTRA_RECORD_COUNT_PICKER) + 1
        for institution_code in rng.sample(elsewhere, extra_count):
            record_id, mrn = numbers.next(institution_code)
            extra = replace(clean, record_id=record_id, institution_code=institution_code, mrn=mrn)
            records.append(_corrupt(rng, extra))
    return records
