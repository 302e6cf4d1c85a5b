"""Practitioners of every institution and the 40 family-doctor teams ("1+1+1": centre + hospital specialist).

Staffing sizes are chosen so the district always has at least 300 practitioners whatever the seed:
tertiary hospitals 36–40, secondary 24–32, the 妇幼保健院 20–26, centres 11–15, stations 1–3, CDC 8–12.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from jizuo.platform.demo.addresses import mobile_phone
from jizuo.platform.demo.model import DEMO_TODAY, FamilyDoctorTeam, Organization, Practitioner
from jizuo.platform.demo.names import pick_full_name
from jizuo.platform.demo.organizations import (
    TEAMS_PER_CENTRE,
    department_code,
    department_subjects,
    team_code,
)
from jizuo.platform.demo.people import IdNumberAllocator, pick_region

# Title ladders, junior → senior (卫生专业技术资格: 初级士/师, 中级, 副高, 正高).
_TITLE_LADDERS: dict[str, tuple[str, ...]] = {
    "doctor": ("住院医师", "主治医师", "副主任医师", "主任医师"),
    "family_doctor": ("医师", "主治医师", "副主任医师", "主任医师"),
    "nurse": ("护士", "护师", "主管护师", "副主任护师"),
    "pharmacist": ("药士", "药师", "主管药师", "副主任药师"),
    "public_health": ("医师", "主管医师", "副主任医师", "主任医师"),
    "technician": ("技士", "技师", "主管技师", "副主任技师"),
}
_MALE_SHARE = {"nurse": 0.06, "doctor": 0.52, "family_doctor": 0.45}
_DEFAULT_MALE_SHARE = 0.4

# Departments whose doctors serve as the hospital "1" in a 1+1+1 team: chronic-disease specialties.
_SPECIALIST_SUBJECTS = ("03.04", "03.07", "03.01", "03.03", "50.01", "21")
_NON_CLINICAL_SUBJECTS = frozenset({"30", "31", "32", "32.07", "YJ", "YF", "26"})
_TECHNICAL_SUBJECTS = ("30", "32", "32.07", "31")

_STAFF_RANGES: dict[tuple[str, str], tuple[int, int]] = {
    ("general_hospital", "3A"): (36, 40),
    ("tcm_hospital", "3A"): (36, 40),
    ("general_hospital", "2A"): (24, 32),
    ("general_hospital", "2B"): (24, 32),
    ("mch_hospital", "2A"): (20, 26),
}


# (minimum age, probability of having reached the rung given the previous one): promotion is by exam and
# seniority, so the pyramid narrows: most staff in their 30s are 中级, few reach 正高 before 50.
_PROMOTIONS: tuple[tuple[int, float], ...] = ((29, 0.85), (40, 0.55), (48, 0.4))


def _title_rung(rng: random.Random, age: int) -> int:
    rung = 0
    for minimum_age, probability in _PROMOTIONS:
        if age < minimum_age or rng.random() >= probability:
            break
        rung += 1
    return rung


@dataclass
class _StaffFactory:
    """Creates practitioners with sequential codes and collision-free ID numbers."""

    rng: random.Random
    today: date
    ids: IdNumberAllocator
    issued: list[Practitioner]

    def hire(self, org: Organization, subject: str, role: str) -> Practitioner:
        rng = self.rng
        sex = "male" if rng.random() < _MALE_SHARE.get(role, _DEFAULT_MALE_SHARE) else "female"
        age = rng.randint(24, 59)
        birth = self.today - timedelta(days=age * 365 + rng.randrange(365))
        id_number = self.ids.allocate(pick_region(rng, 0.6), birth, sex)
        assert id_number is not None  # a few hundred people can never exhaust a region/day slice
        ladder = _TITLE_LADDERS[role]
        rung = _title_rung(rng, age)
        person = Practitioner(
            code=f"P{len(self.issued) + 1:06d}",
            name=pick_full_name(rng, sex, birth.year),
            gender=sex,
            birth_date=birth,
            id_number=id_number,
            phone=mobile_phone(rng),
            org_code=org.code,
            dept_code=department_code(org.code, subject),
            title=ladder[rung],
            role=role,
        )
        self.issued.append(person)
        return person


def _staff_hospital(factory: _StaffFactory, org: Organization, subjects: Sequence[str]) -> None:
    low, high = _STAFF_RANGES[(org.type, org.level)]
    headcount = factory.rng.randint(low, high)
    technical = [subject for subject in _TECHNICAL_SUBJECTS if subject in subjects]
    pharmacy = "YJ"
    clinical = [subject for subject in subjects if subject not in _NON_CLINICAL_SUBJECTS]
    # Specialist departments first so every hospital can lend a chronic-disease doctor to the teams.
    priority = [subject for subject in _SPECIALIST_SUBJECTS if subject in clinical]
    others = [subject for subject in clinical if subject not in priority]
    factory.rng.shuffle(others)
    doctor_rota = priority + others
    factory.hire(org, pharmacy, "pharmacist")
    factory.hire(org, pharmacy, "pharmacist")
    for subject in technical[:3]:
        factory.hire(org, subject, "technician")
    remaining = headcount - 2 - len(technical[:3])
    doctors = remaining * 55 // 100
    for index in range(doctors):
        factory.hire(org, doctor_rota[index % len(doctor_rota)], "doctor")
    for index in range(remaining - doctors):
        factory.hire(org, doctor_rota[index % len(doctor_rota)], "nurse")


def _staff_centre(factory: _StaffFactory, org: Organization) -> None:
    rng = factory.rng
    for _ in range(rng.randint(TEAMS_PER_CENTRE, TEAMS_PER_CENTRE + 1)):
        factory.hire(org, "02", "family_doctor")
    for _ in range(rng.randint(TEAMS_PER_CENTRE, TEAMS_PER_CENTRE + 1)):
        factory.hire(org, "02", "nurse")
    for _ in range(rng.randint(1, 2)):
        factory.hire(org, "01", "public_health")
    factory.hire(org, "YF", "pharmacist")
    factory.hire(org, "30", "technician")
    if rng.random() < 0.7:
        factory.hire(org, "50", "doctor")


def _staff_station(factory: _StaffFactory, org: Organization) -> None:
    roles = ("family_doctor", "nurse", "family_doctor")
    for role in roles[: factory.rng.randint(1, 3)]:
        factory.hire(org, "02", role)


def _staff_cdc(factory: _StaffFactory, org: Organization) -> None:
    rng = factory.rng
    for _ in range(rng.randint(6, 9)):
        factory.hire(org, rng.choice(("CD", "IM", "NC", "HE")), "public_health")
    for _ in range(rng.randint(2, 3)):
        factory.hire(org, "30", "technician")


def build_practitioners(
    rng: random.Random, orgs: Sequence[Organization], today: date = DEMO_TODAY
) -> list[Practitioner]:
    """Staff every institution in `orgs` order; the commission has administrators, not practitioners."""
    # Slots 450–499 of each day's sequence numbers are reserved for practitioners (residents use 0–449).
    factory = _StaffFactory(rng, today, IdNumberAllocator(first_slot=450, capacity=50), [])
    for org in orgs:
        if org.type in ("general_hospital", "tcm_hospital", "mch_hospital"):
            _staff_hospital(factory, org, department_subjects(org))
        elif org.type == "community_centre":
            _staff_centre(factory, org)
        elif org.type == "community_station":
            _staff_station(factory, org)
        elif org.type == "cdc":
            _staff_cdc(factory, org)
    return factory.issued


def _subject_of(person: Practitioner) -> str:
    return person.dept_code.removeprefix(person.org_code + "-")


def build_teams(
    orgs: Sequence[Organization], practitioners: Sequence[Practitioner]
) -> list[FamilyDoctorTeam]:
    """Four teams per centre: centre family doctor (leader) + centre nurse + public-health doctor + a
    chronic-disease specialist from a secondary or tertiary hospital. Nurses, public-health doctors and
    specialists may serve several teams, as they do in practice."""
    hospital_codes = {
        org.code for org in orgs if org.type in ("general_hospital", "tcm_hospital") and org.level != "1"
    }
    specialists = [
        person for person in practitioners
        if person.org_code in hospital_codes and person.role == "doctor"
        and _subject_of(person) in _SPECIALIST_SUBJECTS
    ]  # fmt: skip
    if not specialists:
        raise RuntimeError("no hospital specialists available for family-doctor teams")
    teams: list[FamilyDoctorTeam] = []
    for org in (org for org in orgs if org.type == "community_centre"):
        staff = [person for person in practitioners if person.org_code == org.code]
        by_role = {
            role: [p for p in staff if p.role == role] for role in ("family_doctor", "nurse", "public_health")
        }
        for number in range(1, TEAMS_PER_CENTRE + 1):
            leader = by_role["family_doctor"][number - 1]
            nurse = by_role["nurse"][(number - 1) % len(by_role["nurse"])]
            public_health = by_role["public_health"][(number - 1) % len(by_role["public_health"])]
            specialist = specialists[len(teams) % len(specialists)]
            teams.append(
                FamilyDoctorTeam(
                    code=team_code(org.code, number),
                    name=f"{leader.name}家庭医生团队",
                    org_code=org.code,
                    leader_code=leader.code,
                    member_codes=[
                        (leader.code, "family_doctor"),
                        (nurse.code, "nurse"),
                        (public_health.code, "public_health"),
                        (specialist.code, "specialist"),
                    ],
                )
            )
    return teams
