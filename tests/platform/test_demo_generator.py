"""The synthetic demo district: structure, realism checks, determinism and duplicate ground truth."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

import pytest

from jizuo.core.idcard import is_valid_id_number, is_valid_uscc, sex_of
from jizuo.platform.demo import (
    DEMO_PASSWORD,
    DEMO_TODAY,
    LEVEL_DISPLAY,
    LEVEL_DISPLAY_EN,
    LEVEL_RANK,
    TYPE_DISPLAY,
    TYPE_DISPLAY_EN,
    District,
    Resident,
    demo_accounts,
    generate_district,
    iter_residents,
)
from jizuo.platform.demo.addresses import MOBILE_PREFIXES, STREETS

SEED = 20261125
RESIDENTS = 6000
DUPLICATES_PCT = 10.0


@pytest.fixture(scope="module")
def district() -> District:
    return generate_district(SEED, residents=RESIDENTS, duplicates_pct=DUPLICATES_PCT)


def _age(birth: date) -> int:
    return DEMO_TODAY.year - birth.year - ((DEMO_TODAY.month, DEMO_TODAY.day) < (birth.month, birth.day))


# --- institutions ----------------------------------------------------------------------------------------


def test_institution_counts_by_type_and_level(district: District) -> None:
    counts = Counter((org.type, org.level) for org in district.organizations)
    assert counts[("general_hospital", "3A")] == 1
    assert counts[("tcm_hospital", "3A")] == 1
    secondary = [
        org for org in district.organizations if org.level in ("2A", "2B") and org.type != "mch_hospital"
    ]
    assert len(secondary) == 3
    assert counts[("mch_hospital", "2A")] == 1
    assert counts[("community_centre", "community")] == 10
    assert counts[("cdc", "none")] == 1
    assert counts[("admin", "none")] == 1


def test_hierarchy_and_names(district: District) -> None:
    by_code = {org.code: org for org in district.organizations}
    assert len(by_code) == len(district.organizations)
    (root,) = [org for org in district.organizations if org.parent_code is None]
    assert root.type == "admin" and root.name.endswith("卫生健康委员会")
    stations_per_centre = Counter(
        org.parent_code for org in district.organizations if org.type == "community_station"
    )
    for org in district.organizations:
        if org.type == "community_station":
            parent = by_code[org.parent_code or ""]
            assert parent.type == "community_centre"
            assert re.fullmatch(r"JC-S\d{3}-\d{2}", org.code)
            assert org.name.endswith("社区卫生服务站")
        elif org is not root:
            assert org.parent_code == root.code
        if org.type == "community_centre":
            assert re.fullmatch(r"JC-C\d{3}", org.code)
            assert org.name.endswith("社区卫生服务中心")
            assert 2 <= stations_per_centre[org.code] <= 5
    assert by_code["JC-H001"].name.endswith("医院")


def test_institution_codes_are_valid_uscc(district: District) -> None:
    codes = [org.uscc for org in district.organizations]
    assert len(set(codes)) == len(codes)
    assert all(is_valid_uscc(code) for code in codes)
    hospitals = [org for org in district.organizations if org.type.endswith("hospital")]
    assert all(org.uscc.startswith("12") for org in hospitals)  # 事业单位


def test_display_dictionaries_cover_every_code(district: District) -> None:
    for org in district.organizations:
        assert org.level in LEVEL_DISPLAY and org.level in LEVEL_DISPLAY_EN and org.level in LEVEL_RANK
        assert org.type in TYPE_DISPLAY and org.type in TYPE_DISPLAY_EN
    assert LEVEL_RANK["3A"] > LEVEL_RANK["3B"] > LEVEL_RANK["2A"] > LEVEL_RANK["2B"] > LEVEL_RANK["station"]
    assert LEVEL_RANK["community"] == LEVEL_RANK["1"] and LEVEL_RANK["none"] == 0


def test_departments(district: District) -> None:
    codes = [dept.code for dept in district.departments]
    assert len(set(codes)) == len(codes)
    names_by_org: dict[str, set[str]] = defaultdict(set)
    for dept in district.departments:
        names_by_org[dept.org_code].add(dept.name)
    assert set(names_by_org) == {org.code for org in district.organizations}
    assert {"心血管内科", "内分泌科", "急诊科", "检验科", "放射科", "安宁疗护科"} <= names_by_org["JC-H001"]
    assert {"针灸科", "推拿科", "中医内科"} <= names_by_org["JC-H002"]
    assert {"全科", "中医科", "预防保健科", "药房", "安宁疗护"} <= names_by_org["JC-C001"]
    assert names_by_org["JC-S001-01"] == {"全科诊室"}


# --- practitioners and teams -----------------------------------------------------------------------------


def test_practitioners(district: District) -> None:
    people = district.practitioners
    assert len(people) >= 300
    assert len({person.code for person in people}) == len(people)
    dept_orgs = {dept.code: dept.org_code for dept in district.departments}
    staff_count = Counter(person.org_code for person in people)
    for person in people:
        assert re.fullmatch(r"P\d{6}", person.code)
        assert dept_orgs[person.dept_code] == person.org_code
        assert person.role in {
            "doctor",
            "family_doctor",
            "nurse",
            "pharmacist",
            "public_health",
            "technician",
        }
        assert is_valid_id_number(person.id_number, today=DEMO_TODAY)
        assert sex_of(person.id_number) == person.gender
        assert 23 <= _age(person.birth_date) <= 60
    for org in district.organizations:
        if org.type in ("general_hospital", "tcm_hospital", "mch_hospital"):
            assert 20 <= staff_count[org.code] <= 40
        elif org.type == "community_centre":
            assert 8 <= staff_count[org.code] <= 15
        elif org.type == "community_station":
            assert 1 <= staff_count[org.code] <= 3


def test_forty_teams_with_one_plus_one_plus_one_composition(district: District) -> None:
    teams = district.teams
    assert len(teams) == 40
    assert len({team.code for team in teams}) == 40
    assert set(Counter(team.org_code for team in teams).values()) == {4}
    people = {person.code: person for person in district.practitioners}
    orgs = {org.code: org for org in district.organizations}
    for team in teams:
        assert [role for _, role in team.member_codes] == [
            "family_doctor",
            "nurse",
            "public_health",
            "specialist",
        ]
        members = {role: people[code] for code, role in team.member_codes}
        assert team.leader_code == members["family_doctor"].code
        assert team.name == f"{members['family_doctor'].name}家庭医生团队"
        for role in ("family_doctor", "nurse", "public_health"):
            assert members[role].org_code == team.org_code
            assert members[role].role == role
        hospital = orgs[members["specialist"].org_code]
        assert hospital.type in ("general_hospital", "tcm_hospital")
        assert LEVEL_RANK[hospital.level] >= LEVEL_RANK["2B"]


# --- residents -------------------------------------------------------------------------------------------


def test_resident_identity_fields(district: District) -> None:
    residents = district.residents
    assert len(residents) == RESIDENTS
    everyone = [r.id_number for r in residents] + [p.id_number for p in district.practitioners]
    assert len(set(everyone)) == len(everyone)
    assert len({r.id for r in residents}) == RESIDENTS
    assert len({r.medical_insurance_no for r in residents}) == RESIDENTS
    for resident in residents:
        assert is_valid_id_number(resident.id_number, today=DEMO_TODAY)
        assert sex_of(resident.id_number) == resident.gender
        assert resident.id_number[6:14] == f"{resident.birth_date:%Y%m%d}"
        assert re.fullmatch(r"\d{11}", resident.phone) and resident.phone[:3] in MOBILE_PREFIXES
        assert re.fullmatch(r"JC\d{10}", resident.medical_insurance_no)
        assert 2 <= len(resident.name) <= 4


def test_residents_born_mostly_locally_some_elsewhere(district: District) -> None:
    regions = Counter(r.id_number[:6] for r in district.residents)
    local_share = regions["310199"] / RESIDENTS
    assert 0.75 < local_share < 0.95
    assert len(regions) > 5


def test_residents_live_in_their_home_centre_area(district: District) -> None:
    orgs = {org.code: org for org in district.organizations}
    teams = {team.code: team for team in district.teams}
    for resident in district.residents:
        assert resident.address.startswith("申江市江川区" + resident.street)
        area = next(area for area in STREETS if area.name == resident.street)
        community_road = area.roads[area.communities.index(resident.community)]
        assert resident.community in resident.address or community_road in resident.address
        assert resident.street in orgs[resident.home_centre_code].name
        if resident.signed_team_code is not None:
            assert teams[resident.signed_team_code].org_code == resident.home_centre_code


def test_population_structure_is_plausible(district: District) -> None:
    residents = district.residents
    elderly = [r for r in residents if _age(r.birth_date) >= 60]
    assert 0.20 < len(elderly) / RESIDENTS < 0.30
    assert all(r.birth_date <= DEMO_TODAY and r.birth_date.year >= 1900 for r in residents)

    def share(group: list[Resident], condition: str) -> float:
        return sum(condition in r.chronic for r in group) / len(group)

    assert 0.25 < share(elderly, "hypertension") < 0.35
    assert 0.08 < share(elderly, "diabetes_t2") < 0.16
    assert 0.02 < share(elderly, "copd") < 0.07
    children = [r for r in residents if _age(r.birth_date) < 15]
    assert all(not r.chronic for r in children)

    signed = sum(r.signed_team_code is not None for r in residents) / RESIDENTS
    signed_elderly = sum(r.signed_team_code is not None for r in elderly) / len(elderly)
    assert 0.40 < signed < 0.50
    assert signed_elderly > signed

    surnames = Counter(r.name[0] for r in residents)
    assert {name for name, _ in surnames.most_common(5)} <= {"王", "李", "张", "刘", "陈", "杨"}


# --- determinism -----------------------------------------------------------------------------------------


def test_same_seed_gives_identical_output(district: District) -> None:
    again = generate_district(SEED, residents=RESIDENTS, duplicates_pct=DUPLICATES_PCT)
    assert again == district


def test_different_seed_gives_different_people(district: District) -> None:
    other = generate_district(SEED + 1, residents=50)
    assert [r.id_number for r in other.residents] != [r.id_number for r in district.residents[:50]]
    assert [o.code for o in other.organizations[:8]] == [o.code for o in district.organizations[:8]]


def test_structure_does_not_depend_on_resident_count(district: District) -> None:
    small = generate_district(SEED, residents=10)
    assert small.organizations == district.organizations
    assert small.practitioners == district.practitioners
    assert small.teams == district.teams
    assert small.residents == district.residents[:10]
    assert list(iter_residents(SEED, 10)) == small.residents


# --- duplicates with ground truth ------------------------------------------------------------------------

_FIELD_OF_CORRUPTION = {
    "name_homophone": "name",
    "name_traditional": "name",
    "birth_day_month_swapped": "birth_date",
    "id_missing": "id_number",
    "id_digit_typo": "id_number",
    "phone_stale": "phone",
    "address_variant": "address",
}


def test_no_source_records_without_duplicates() -> None:
    assert generate_district(SEED, residents=20).source_records == []


def test_every_resident_has_one_clean_home_record(district: District) -> None:
    clean = [record for record in district.source_records if not record.corruptions]
    residents = {r.id: r for r in district.residents}
    assert len(clean) == RESIDENTS
    assert {record.resident_id for record in clean} == set(residents)
    for record in clean:
        resident = residents[record.resident_id]
        assert record.institution_code == resident.home_centre_code
        assert (record.name, record.birth_date, record.id_number, record.phone, record.address) == (
            resident.name, resident.birth_date, resident.id_number, resident.phone, resident.address,
        )  # fmt: skip
    records = district.source_records
    assert len({record.record_id for record in records}) == len(records)
    assert len({(record.institution_code, record.mrn) for record in records}) == len(records)


def test_duplicates_carry_ground_truth_and_real_corruptions(district: District) -> None:
    residents = {r.id: r for r in district.residents}
    duplicates = [record for record in district.source_records if record.corruptions]
    assert len({record.resident_id for record in duplicates}) == round(RESIDENTS * DUPLICATES_PCT / 100)
    seen: Counter[str] = Counter()
    for record in duplicates:
        resident = residents[record.resident_id]
        assert record.institution_code != resident.home_centre_code
        assert record.gender == resident.gender
        for corruption in record.corruptions:
            seen[corruption] += 1
            assert corruption in _FIELD_OF_CORRUPTION, corruption
            if corruption.startswith("name_"):
                assert record.name != resident.name and len(record.name) == len(resident.name)
            elif corruption == "birth_day_month_swapped":
                birth = resident.birth_date
                assert record.birth_date == date(birth.year, birth.day, birth.month)
            elif corruption == "id_missing":
                assert record.id_number is None
            elif corruption == "id_digit_typo":
                assert record.id_number is not None and record.id_number != resident.id_number
                assert sum(a != b for a, b in zip(record.id_number, resident.id_number, strict=True)) == 1
            elif corruption == "phone_stale":
                assert record.phone != resident.phone
            else:
                assert corruption == "address_variant"
                assert record.address != resident.address
        damaged_fields = [_FIELD_OF_CORRUPTION[corruption] for corruption in record.corruptions]
        assert len(set(damaged_fields)) == len(damaged_fields)
    assert set(seen) == set(_FIELD_OF_CORRUPTION)


# --- demo accounts ---------------------------------------------------------------------------------------


def test_demo_accounts(district: District) -> None:
    accounts = {account.username: account for account in demo_accounts(district)}
    assert set(accounts) == {
        "admin", "weijianwei", "hosp_admin", "doctor", "family_doctor", "nurse", "pharmacist", "resident",
    }  # fmt: skip
    assert all(account.password == DEMO_PASSWORD == "Jizuo@2026" for account in accounts.values())
    assert accounts["admin"].role == "district_admin" and accounts["admin"].org_code is None
    assert accounts["weijianwei"].role == "regulator"
    assert accounts["hosp_admin"].role == "institution_admin" and accounts["hosp_admin"].org_code == "JC-H001"
    people = {person.code: person for person in district.practitioners}
    for username in ("doctor", "pharmacist"):
        person = people[accounts[username].practitioner_code or ""]
        assert person.org_code == "JC-H001" and person.role == username
    first_team = district.teams[0]
    assert first_team.org_code == "JC-C001"
    assert accounts["family_doctor"].practitioner_code == first_team.leader_code
    nurse = people[accounts["nurse"].practitioner_code or ""]
    assert nurse.role == "nurse" and nurse.org_code == "JC-C001"
    resident = next(r for r in district.residents if r.id == accounts["resident"].resident_id)
    assert resident.signed_team_code == first_team.code
