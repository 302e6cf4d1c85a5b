"""Plain data classes for the synthetic demo district and the display dictionaries for their codes.

Everything produced from these classes is synthetic: names, ID numbers and phone numbers are generated, and
the district (申江市江川区) does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

DEMO_TODAY = date(2026, 11, 25)
"""The 'today' all ages are computed against, so output never depends on the wall clock."""

CITY_NAME = "申江市"
DISTRICT_NAME = "江川区"
DISTRICT_REGION_CODE = "310199"

LEVEL_DISPLAY: dict[str, str] = {
    "3A": "三级甲等",
    "3B": "三级乙等",
    "2A": "二级甲等",
    "2B": "二级乙等",
    "1": "一级",
    "community": "社区卫生服务中心",
    "station": "社区卫生服务站",
    "none": "无等级",
}

LEVEL_DISPLAY_EN: dict[str, str] = {
    "3A": "Tertiary Grade A",
    "3B": "Tertiary Grade B",
    "2A": "Secondary Grade A",
    "2B": "Secondary Grade B",
    "1": "Primary",
    "community": "Community health service centre",
    "station": "Community health service station",
    "none": "Not graded",
}

# Used for "same or higher level" rules such as referral targets: compare ranks, never the codes.
LEVEL_RANK: dict[str, int] = {
    "3A": 6,
    "3B": 5,
    "2A": 4,
    "2B": 3,
    "1": 2,
    "community": 2,
    "station": 1,
    "none": 0,
}

TYPE_DISPLAY: dict[str, str] = {
    "general_hospital": "综合医院",
    "tcm_hospital": "中医医院",
    "mch_hospital": "妇幼保健院",
    "community_centre": "社区卫生服务中心",
    "community_station": "社区卫生服务站",
    "cdc": "疾病预防控制中心",
    "admin": "卫生健康行政部门",
}

TYPE_DISPLAY_EN: dict[str, str] = {
    "general_hospital": "General hospital",
    "tcm_hospital": "Traditional Chinese medicine hospital",
    "mch_hospital": "Maternal and child health hospital",
    "community_centre": "Community health service centre",
    "community_station": "Community health service station",
    "cdc": "Center for disease control and prevention",
    "admin": "Health commission",
}

ROLE_DISPLAY: dict[str, str] = {
    "doctor": "医生",
    "family_doctor": "家庭医生",
    "nurse": "护士",
    "pharmacist": "药师",
    "public_health": "公卫人员",
    "technician": "医技人员",
}

TEAM_ROLE_DISPLAY: dict[str, str] = {
    "family_doctor": "家庭医生（团队长）",
    "nurse": "社区护士",
    "public_health": "公卫医师",
    "specialist": "专科医生",
}

CHRONIC_DISPLAY: dict[str, str] = {
    "hypertension": "高血压",
    "diabetes_t2": "2型糖尿病",
    "copd": "慢性阻塞性肺疾病",
}


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
