"""Synthetic residents of 江川区, generated lazily so a million of them fit in a streaming import.

The age structure is Shanghai-like (about a quarter aged 60 or over); chronic-disease prevalence per age band
is set so that about 30 % of over-60s have hypertension, 12 % type 2 diabetes and 4 % COPD. Signing with a
family-doctor team is likelier for the elderly, the chronically ill and young children, as in practice.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date
from typing import NamedTuple

from jizuo.platform.demo.addresses import STREETS, home_address, mobile_phone
from jizuo.platform.demo.model import DEMO_TODAY, Resident
from jizuo.platform.demo.names import pick_full_name
from jizuo.platform.demo.organizations import CENTRE_COUNT, TEAMS_PER_CENTRE, centre_code, team_code
from jizuo.platform.demo.people import IdNumberAllocator, pick_index, pick_region, weighted_picker

_DAYS_PER_YEAR = 365.2425
_LOCAL_BIRTH_SHARE = 0.85


class AgeBand(NamedTuple):
    """An age range with its share of the population, male share and chronic-disease probabilities."""

    lowest_age: int
    highest_age: int
    population_pct: float
    male_share: float
    hypertension: float
    diabetes_t2: float
    copd: float


_AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand(0, 6, 5.0, 0.52, 0.0, 0.0, 0.0),
    AgeBand(7, 14, 6.0, 0.52, 0.0, 0.0, 0.0),
    AgeBand(15, 24, 8.0, 0.51, 0.003, 0.002, 0.0),
    AgeBand(25, 34, 16.0, 0.51, 0.01, 0.005, 0.0),
    AgeBand(35, 44, 17.0, 0.51, 0.04, 0.015, 0.002),
    AgeBand(45, 54, 14.4, 0.50, 0.10, 0.05, 0.006),
    AgeBand(55, 59, 8.0, 0.49, 0.18, 0.09, 0.015),
    AgeBand(60, 69, 13.0, 0.48, 0.25, 0.11, 0.03),
    AgeBand(70, 79, 8.0, 0.46, 0.35, 0.14, 0.05),
    AgeBand(80, 89, 3.5, 0.40, 0.40, 0.13, 0.06),
    AgeBand(90, 99, 1.0, 0.35, 0.42, 0.10, 0.06),
    AgeBand(100, 104, 0.1, 0.25, 0.40, 0.08, 0.05),
)
_AGE_BAND_PICKER = weighted_picker([band.population_pct for band in _AGE_BANDS])
_FIRST_ELDERLY_BAND = next(index for index, band in enumerate(_AGE_BANDS) if band.lowest_age >= 60)

# P(signed with a family-doctor team) by situation.
_SIGN_CHRONIC = 0.85
_SIGN_ELDERLY = 0.66
_SIGN_YOUNG_CHILD = 0.45
_SIGN_OTHER = 0.30

_CENTRE_PICKER = weighted_picker([area.population_weight for area in STREETS[:CENTRE_COUNT]])
_CENTRE_CODES = tuple(centre_code(index) for index in range(CENTRE_COUNT))
_TEAM_CODES = tuple(
    tuple(team_code(code, number) for number in range(1, TEAMS_PER_CENTRE + 1)) for code in _CENTRE_CODES
)

# 医保卡 numbers are a permutation of the resident index (multiplier coprime to 10¹⁰), so they are unique
# without a lookup table and do not reveal the generation order.
_INSURANCE_MODULUS = 10**10
_INSURANCE_MULTIPLIER = 7_919_341


def _pick_birth(rng: random.Random, band: AgeBand, today_ordinal: int) -> date:
    low = band.lowest_age
    days_old = int((low + rng.random() * (band.highest_age + 1 - low)) * _DAYS_PER_YEAR)
    return date.fromordinal(today_ordinal - days_old)


def _chronic_conditions(rng: random.Random, band: AgeBand) -> list[str]:
    conditions = []
    if rng.random() < band.hypertension:
        conditions.append("hypertension")
    if rng.random() < band.diabetes_t2:
        conditions.append("diabetes_t2")
    if rng.random() < band.copd:
        conditions.append("copd")
    return conditions


def _signing_probability(band_index: int, chronic: list[str]) -> float:
    if chronic:
        return _SIGN_CHRONIC
    if band_index >= _FIRST_ELDERLY_BAND:
        return _SIGN_ELDERLY
    if band_index == 0:
        return _SIGN_YOUNG_CHILD
    return _SIGN_OTHER


def iter_residents(seed: int, n: int, *, today: date = DEMO_TODAY) -> Iterator[Resident]:
    """Yield `n` residents deterministically for `seed`; the k-th resident depends only on seed and k's
    predecessors, so a prefix of a large run equals a smaller run."""
    rng = random.Random(f"{seed}:residents")
    ids = IdNumberAllocator(first_slot=0, capacity=450)
    today_ordinal = today.toordinal()
    insurance_offset = rng.randrange(_INSURANCE_MODULUS)
    for index in range(n):
        band_index = pick_index(rng, _AGE_BAND_PICKER)
        band = _AGE_BANDS[band_index]
        sex = "male" if rng.random() < band.male_share else "female"
        region = pick_region(rng, _LOCAL_BIRTH_SHARE)
        birth = _pick_birth(rng, band, today_ordinal)
        id_number = ids.allocate(region, birth, sex)
        while id_number is None:  # practically unreachable: 450 people of one sex born the same day
            birth = _pick_birth(rng, band, today_ordinal)
            id_number = ids.allocate(region, birth, sex)
        centre_index = pick_index(rng, _CENTRE_PICKER)
        area = STREETS[centre_index]
        community_index = int(rng.random() * len(area.communities))
        chronic = _chronic_conditions(rng, band)
        signed = rng.random() < _signing_probability(band_index, chronic)
        teams = _TEAM_CODES[centre_index]
        team = teams[int(rng.random() * len(teams))] if signed else None
        insurance_number = (index * _INSURANCE_MULTIPLIER + insurance_offset) % _INSURANCE_MODULUS
        yield Resident(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            id_number=id_number,
            name=pick_full_name(rng, sex, birth.year),
            gender=sex,
            birth_date=birth,
            phone=mobile_phone(rng),
            address=home_address(rng, area, community_index),
            street=area.name,
            community=area.communities[community_index],
            home_centre_code=_CENTRE_CODES[centre_index],
            medical_insurance_no=f"JC{insurance_number:010d}",
            signed_team_code=team,
            chronic=chronic,
        )
