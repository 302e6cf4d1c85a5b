"""Entry point for the deterministic synthetic demo district 申江市江川区.

Each part of the district draws from its own random stream derived from the seed, so the institutions and
staff are identical whether 20 000 or 1 000 000 residents are generated, and residents can be streamed with
`iter_residents` without building the rest.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

from jizuo.platform.demo.duplicates import generate_source_records
from jizuo.platform.demo.model import (
    DEMO_TODAY,
    Department,
    District,
    FamilyDoctorTeam,
    Organization,
    Practitioner,
)
from jizuo.platform.demo.organizations import build_departments, build_organizations
from jizuo.platform.demo.residents import iter_residents
from jizuo.platform.demo.staff import build_practitioners, build_teams

DEFAULT_SEED = 20261125
DEFAULT_RESIDENTS = 20_000

__all__ = [
    "DEFAULT_RESIDENTS",
    "DEFAULT_SEED",
    "build_structure",
    "generate_district",
    "generate_source_records",
    "iter_residents",
]


def build_structure(
    seed: int = DEFAULT_SEED, *, today: date = DEMO_TODAY
) -> tuple[list[Organization], list[Department], list[Practitioner], list[FamilyDoctorTeam]]:
    """Institutions, departments, practitioners and family-doctor teams; independent of resident count."""
    organizations = build_organizations(random.Random(f"{seed}:organizations"))
    departments = build_departments(organizations)
    practitioners = build_practitioners(random.Random(f"{seed}:practitioners"), organizations, today)
    teams = build_teams(organizations, practitioners)
    return organizations, departments, practitioners, teams


def generate_district(
    seed: int = DEFAULT_SEED,
    residents: int = DEFAULT_RESIDENTS,
    duplicates_pct: float = 0.0,
    *,
    today: date = DEMO_TODAY,
) -> District:
    """The whole district in memory. For very large populations prefer `iter_residents` (streaming)."""
    if residents < 0:
        raise ValueError("residents must not be negative")
    organizations, departments, practitioners, teams = build_structure(seed, today=today)
    district = District(
        seed=seed,
        organizations=organizations,
        departments=departments,
        practitioners=practitioners,
        teams=teams,
        residents=list(iter_residents(seed, residents, today=today)),
    )
    if duplicates_pct > 0:
        district = replace(district, source_records=generate_source_records(district, duplicates_pct, seed))
    return district
