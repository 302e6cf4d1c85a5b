"""Deterministic synthetic demo district (申江市江川区): institutions, staff, teams, residents, duplicates.

All people and places are invented; ID numbers are valid in form only and belong to nobody.
"""

from jizuo.platform.demo.accounts import DEMO_PASSWORD, demo_accounts
from jizuo.platform.demo.generator import (
    DEFAULT_RESIDENTS,
    DEFAULT_SEED,
    build_structure,
    generate_district,
    generate_source_records,
    iter_residents,
)
from jizuo.platform.demo.model import (
    CHRONIC_DISPLAY,
    CITY_NAME,
    DEMO_TODAY,
    DISTRICT_NAME,
    DISTRICT_REGION_CODE,
    LEVEL_DISPLAY,
    LEVEL_DISPLAY_EN,
    LEVEL_RANK,
    ROLE_DISPLAY,
    TEAM_ROLE_DISPLAY,
    TYPE_DISPLAY,
    TYPE_DISPLAY_EN,
    DemoAccount,
    Department,
    District,
    FamilyDoctorTeam,
    Organization,
    Practitioner,
    Resident,
    SourceRecord,
)

__all__ = [
    "CHRONIC_DISPLAY",
    "CITY_NAME",
    "DEFAULT_RESIDENTS",
    "DEFAULT_SEED",
    "DEMO_PASSWORD",
    "DEMO_TODAY",
    "DISTRICT_NAME",
    "DISTRICT_REGION_CODE",
    "LEVEL_DISPLAY",
    "LEVEL_DISPLAY_EN",
    "LEVEL_RANK",
    "ROLE_DISPLAY",
    "TEAM_ROLE_DISPLAY",
    "TYPE_DISPLAY",
    "TYPE_DISPLAY_EN",
    "DemoAccount",
    "Department",
    "District",
    "FamilyDoctorTeam",
    "Organization",
    "Practitioner",
    "Resident",
    "SourceRecord",
    "build_structure",
    "demo_accounts",
    "generate_district",
    "generate_source_records",
    "iter_residents",
]
