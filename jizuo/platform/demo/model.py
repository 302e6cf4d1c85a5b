"""Plain data classes for the synthetic demo district and the display dictionaries for their codes.

Everything produced from these classes is synthetic: names, ID numbers and phone numbers are generated, and
the district (申江市江川区) does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

# The code lists belong to the registry; re-exported here for the generator's callers.
from jizuo.platform.registry.codes import (
    CHRONIC_DISPLAY,
    LEVEL_DISPLAY,
    LEVEL_DISPLAY_EN,
    LEVEL_RANK,
    TEAM_ROLE_DISPLAY,
    TYPE_DISPLAY,
    TYPE_DISPLAY_EN,
)
from jizuo.platform.registry.codes import PRACTITIONER_ROLE_DISPLAY as ROLE_DISPLAY

DEMO_TODAY = date(2026, 11, 25)
"""The 'today' all ages are computed against, so output never depends on the wall clock."""

CITY_NAME = "申江市"
DISTRICT_NAME = "江川区"
DISTRICT_REGION_CODE = "310199"

__all__ = ["CHRONIC_DISPLAY", "LEVEL_DISPLAY", "LEVEL_DISPLAY_EN", "LEVEL_RANK", "ROLE_DISPLAY",
           "TEAM_ROLE_DISPLAY", "TYPE_DISPLAY", "TYPE_DISPLAY_EN"]


@dataclass(slots=True)
class Organization:
    code: str
    uscc: str
    name: str
    short_name: str
    level: str
    type: str
    parent_code: str | None
    address: str
    phone: str
    latitude: float | None
    longitude: float | None


@dataclass(slots=True)
class Department:
    org_code: str
    code: str
    name: str


@dataclass(slots=True)
class Practitioner:
    code: str
    name: str
    gender: str
    birth_date: date
    id_number: str
    phone: str
    org_code: str
    dept_code: str
    title: str
    role: str


@dataclass(slots=True)
class FamilyDoctorTeam:
    code: str
    name: str
    org_code: str
    leader_code: str
    member_codes: list[tuple[str, str]]
    """(practitioner code, team role) pairs, leader first."""


@dataclass(slots=True)
class Resident:
    id: uuid.UUID
    id_number: str
    name: str
    gender: str
    birth_date: date
    phone: str
    address: str
    street: str
    community: str
    home_centre_code: str
    medical_insurance_no: str
    signed_team_code: str | None
    chronic: list[str]


@dataclass(slots=True)
class SourceRecord:
    """One patient record as an institution's own system holds it; `resident_id` is the ground truth."""

    record_id: str
    institution_code: str
    mrn: str
    resident_id: uuid.UUID
    name: str
    gender: str
    birth_date: date
    id_number: str | None
    phone: str
    address: str
    corruptions: tuple[str, ...] = ()
    """Which corruptions were applied (empty for the clean home-centre record); for evaluating MPI runs."""


@dataclass(slots=True)
class DemoAccount:
    username: str
    password: str
    role: str
    org_code: str | None
    practitioner_code: str | None
    display_name: str
    resident_id: uuid.UUID | None = None


@dataclass(frozen=True)
class District:
    seed: int
    organizations: list[Organization]
    departments: list[Department]
    practitioners: list[Practitioner]
    teams: list[FamilyDoctorTeam]
    residents: list[Resident]
    source_records: list[SourceRecord] = field(default_factory=list)

    def organization(self, code: str) -> Organization:
        for org in self.organizations:
            if org.code == code:
                return org
        raise KeyError(code)

    def practitioner(self, code: str) -> Practitioner:
        for person in self.practitioners:
            if person.code == code:
                return person
        raise KeyError(code)
