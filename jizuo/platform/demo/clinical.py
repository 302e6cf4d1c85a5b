"""Three years of synthetic clinical history per demo resident, and its loader through the bulk import path.

Each resident has a random stream of its own (seed + resident id), so the history of the first N residents
is the same whatever N, and ids are UUID5 under the resident id: loading twice changes nothing. Visit rates
follow the shape of community practice: quarterly chronic-disease follow-ups by the family doctor (国家基本公共
卫生服务 asks for four a year), a yearly check-up from 65 (老年人健康体检), more acute visits for young
children and the elderly, and occasional admissions, mostly of elderly chronic patients.
"""

from __future__ import annotations

import logging
import math
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from jizuo.core.security import FieldCipher
from jizuo.fhir.bulk import ImportReport, import_resources, resource_exists
from jizuo.fhir.demo import builders as b
from jizuo.fhir.demo import codes as c
from jizuo.platform.demo.generator import DEFAULT_RESIDENTS, DEFAULT_SEED, build_structure, iter_residents
from jizuo.platform.demo.model import (
    DEMO_TODAY,
    Department,
    FamilyDoctorTeam,
    Organization,
    Practitioner,
    Resident,
)
from jizuo.platform.demo.names import split_name
from jizuo.platform.demo.organizations import GENERAL_TERTIARY_CODE, MCH_CODE
from jizuo.platform.demo.seed import stable_id
from jizuo.platform.demo.staff import build_teams
from jizuo.platform.registry import fhir_mapping as registry_fhir
from jizuo.platform.registry import models as rows

log = logging.getLogger(__name__)
# 20,000 residents × ~30 resources is ~600k resources: ~5 minutes at the ~1,900/s this 2-vCPU machine ingests
# with full validation. The first `make demo` loads the history of the first 5,000 (~150k resources, ~80 s).
DEFAULT_HISTORY_RESIDENTS = 5_000
Json = dict[str, Any]
_ACUTE_WEIGHTS = [a.weight for a in c.ACUTE]
_HOSPITAL_WEIGHTS = {GENERAL_TERTIARY_CODE: 40, "JC-H002": 15, "JC-H003": 20, "JC-H004": 15, "JC-H005": 10}


def _name(full: str) -> Json:
    family, given = split_name(full)
    return b.human_name(full, family, given)


def org_ref(org: Organization) -> Json:
    return b.ref("Organization", str(stable_id("org", org.code)), org.name)


def practitioner_ref(person: Practitioner) -> Json:
    return b.ref("Practitioner", str(stable_id("practitioner", person.code)), person.name)


def registry_resources(organizations: Sequence[Organization], practitioners: Sequence[Practitioner],
                       departments: Sequence[Department] = (), teams: Sequence[FamilyDoctorTeam] = ()
                       ) -> Iterator[Json]:
    """The district's registry as FHIR (ids = registry UUIDs), through the registry's own mapping: the rows
    the seed would insert, mapped exactly as the seed's mirror maps them from the database."""
    org_rows = [rows.Organization(
        id=stable_id("org", o.code), code=o.code, uscc=o.uscc, name=o.name, short_name=o.short_name, level=o.level,
        type=o.type, parent_id=stable_id("org", o.parent_code) if o.parent_code else None, address=o.address,
        phone=o.phone, latitude=o.latitude, longitude=o.longitude, active=True) for o in organizations]
    dept_rows = [rows.Department(id=stable_id("dept", d.code), organization_id=stable_id("org", d.org_code),
                                 code=d.code, name=d.name) for d in departments]
    staff = {p.code: rows.Practitioner(
        id=stable_id("practitioner", p.code), code=p.code, name=p.name, gender=p.gender, birth_date=p.birth_date,
        organization_id=stable_id("org", p.org_code), department_id=stable_id("dept", p.dept_code) if p.dept_code
        else None, title=p.title, role=p.role, active=True) for p in practitioners}
    personal = [(staff[p.code], registry_fhir.PersonalData(p.id_number, p.phone)) for p in practitioners]
    team_rows = [(rows.CareTeam(id=stable_id("team", t.code), code=t.code, name=t.name,
                                organization_id=stable_id("org", t.org_code),
                                leader_id=stable_id("practitioner", t.leader_code), active=True),
                  [(rows.CareTeamMember(team_id=stable_id("team", t.code), practitioner_id=staff[code].id,
                                        team_role=role), staff[code]) for code, role in t.member_codes])
                 for t in teams]
    yield from registry_fhir.registry_resources(org_rows, dept_rows, personal, team_rows)


@dataclass
class _District:
    orgs: dict[str, Organization]
    staff: dict[tuple[str, str], list[Practitioner]]  # (org code, role) -> people
    leaders: dict[str, Practitioner]  # team code -> family doctor leading it

    @classmethod
    def of(cls, organizations: Sequence[Organization], practitioners: Sequence[Practitioner],
           teams: Sequence[FamilyDoctorTeam]) -> _District:
        staff: dict[tuple[str, str], list[Practitioner]] = {}
        for person in practitioners:
            staff.setdefault((person.org_code, person.role), []).append(person)
        by_code = {p.code: p for p in practitioners}
        return cls({o.code: o for o in organizations}, staff, {t.code: by_code[t.leader_code] for t in teams})

    def pick(self, rng: random.Random, org: str, *roles: str) -> Practitioner | None:
        for role in roles:
            people = self.staff.get((org, role))
            if people:
                return people[int(rng.random() * len(people))]
        return None


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _at(day: date, rng: random.Random, first_hour: int = 8, last_hour: int = 16) -> datetime:
    return datetime.combine(day, time(rng.randint(first_hour, last_hour), rng.randrange(0, 60, 5)))


class _Person:
    """One resident's timeline: decides what happened when, and emits the resources for it."""

    def __init__(self, r: Resident, district: _District, seed: int, today: date, years: int) -> None:
        self.r, self.d, self.today = r, district, today
        self.rng = random.Random(f"{seed}:clinical:{r.id}")
        self.start = today - timedelta(days=round(365.25 * years))
        self.age = (today - r.birth_date).days // 365
        self.subject = b.ref("Patient", str(r.id), r.name)
        self.home = district.orgs[r.home_centre_code]
        leader = district.leaders.get(r.signed_team_code or "")
        self.gp = leader or district.pick(self.rng, self.home.code, "family_doctor", "doctor")
        self.serial = 0
        rng = self.rng
        adult_height = rng.gauss(170, 6) if r.gender == "male" else rng.gauss(158, 5)
        self.height = adult_height if self.age >= 18 else min(adult_height, 52 + 6.5 * max(self.age, 0))
        bmi = rng.gauss(23.5, 2.8) + (1.5 if r.chronic else 0)
        self.weight = bmi * (self.height / 100) ** 2 if self.age >= 18 else 3.5 + 2.4 * self.age + rng.gauss(0, 1)
        self.medicines = {kind: rng.choice(c.MEDICINES[kind]) for kind in r.chronic}

    def new_id(self, kind: str) -> str:
        self.serial += 1
        return str(uuid.uuid5(self.r.id, f"{kind}:{self.serial}"))

    def history(self) -> Iterator[Json]:
        r, rng = self.r, self.rng
        gp_ref = practitioner_ref(self.gp) if self.gp else None
        yield b.patient(str(r.id), name=_name(r.name), gender=r.gender, birth_date=r.birth_date.isoformat(),
                        id_number=r.id_number, insurance_no=r.medical_insurance_no, phone=r.phone,
                        address=r.address, street=r.street, community=r.community, managing_org=org_ref(self.home),
                        general_practitioner=gp_ref if r.signed_team_code else None)
        events: list[tuple[date, str, Any]] = []
        onsets: dict[str, date] = {}
        for kind in r.chronic:
            earliest = max(r.birth_date.toordinal() + 30 * 365, self.today.toordinal() - 15 * 365)
            onsets[kind] = date.fromordinal(rng.randint(min(earliest, self.today.toordinal() - 60),
                                                        self.today.toordinal() - 60))
            events.append((onsets[kind], "diagnosis", kind))
        span = (self.today - self.start).days
        acute_rate = 2.5 if self.age < 7 else 0.8 if self.age < 18 else 0.6 if self.age < 60 else 1.4
        for _ in range(_poisson(rng, acute_rate * span / 365)):
            events.append((self.start + timedelta(days=rng.randrange(span)), "acute", None))
        if r.chronic:
            first = max(self.start, min(onsets.values()) + timedelta(days=30))
            day = first + timedelta(days=rng.randrange(30))
            while day < self.today:
                events.append((day, "follow_up", None))
                day += timedelta(days=85 + rng.randrange(14))
        for year in range(span // 365):
            if self.age - year >= 65 or rng.random() < 0.12:
                events.append((self.start + timedelta(days=365 * year + rng.randrange(365)), "check_up", None))
        admission = 0.01 + (0.05 if self.age >= 65 else 0) + (0.05 if r.chronic and self.age >= 60 else 0)
        admission += 0.2 if "copd" in r.chronic else 0
        for _ in range(_poisson(rng, admission * span / 365)):
            events.append((self.start + timedelta(days=rng.randrange(span - 14)), "admission", None))
        for day, kind, detail in sorted(events, key=lambda e: (e[0], e[1])):
            if kind == "diagnosis":
                yield self.diagnosis(day, detail)
            else:
                yield from getattr(self, kind)(day)

    # --- events ---------------------------------------------------------------------------------------

    def _hospital(self) -> Organization:
        if self.age < 14 and self.rng.random() < 0.5:
            return self.d.orgs[MCH_CODE]
        codes = list(_HOSPITAL_WEIGHTS)
        return self.d.orgs[self.rng.choices(codes, weights=list(_HOSPITAL_WEIGHTS.values()))[0]]

    def _encounter(self, org: Organization, doctor: Practitioner | None, kind: str, start: datetime,
                   end: datetime, reason: Json | None = None, inpatient: bool = False) -> tuple[Json, Json, Json]:
        doctor = doctor or self.d.pick(self.rng, org.code, "doctor", "family_doctor")
        assert doctor is not None, f"no doctor at {org.code}"
        eid = self.new_id("encounter")
        resource = b.encounter(eid, subject=self.subject, inpatient=inpatient, type_text=kind, start=start, end=end,
                               provider=org_ref(org), practitioner=practitioner_ref(doctor), reason=reason)
        return resource, b.ref("Encounter", eid), practitioner_ref(doctor)

    def diagnosis(self, day: date, kind: str) -> Json:
        code, display = c.CHRONIC_ICD[kind]
        recorder = practitioner_ref(self.gp) if self.gp else org_ref(self.home)
        return b.condition(self.new_id("condition"), subject=self.subject, code=code, display=display,
                           onset=_at(day, self.rng), recorder=recorder, encounter=None, resolved=None, chronic=True)

    def acute(self, day: date) -> Iterator[Json]:
        rng = self.rng
        options = [a for a in c.ACUTE if a.child or self.age >= 14]
        illness = rng.choices(options, weights=[a.weight for a in options])[0]
        org = self.home if rng.random() < (0.55 if self.age < 14 else 0.75) else self._hospital()
        doctor = self.gp if org is self.home and rng.random() < 0.6 else None
        when = _at(day, rng)
        reason = b.concept(c.ICD10, illness.code, illness.display)
        encounter, enc_ref, doc_ref = self._encounter(org, doctor, "普通门诊", when, when + timedelta(minutes=15),
                                                      reason)
        yield encounter
        yield b.condition(self.new_id("condition"), subject=self.subject, code=illness.code, display=illness.display,
                          onset=when, recorder=doc_ref, encounter=enc_ref,
                          resolved=when + timedelta(days=rng.randint(5, 14)), chronic=False)
        if illness.lab and rng.random() < 0.5:
            yield from self.blood_count(org, enc_ref, when + timedelta(minutes=20), infection=True)

    def follow_up(self, day: date) -> Iterator[Json]:
        rng, r = self.rng, self.r
        when = _at(day, rng)
        main = c.CHRONIC_ICD[r.chronic[0]]
        encounter, enc_ref, doc_ref = self._encounter(self.home, self.gp, "慢病随访", when,
                                                      when + timedelta(minutes=20), b.concept(c.ICD10, *main))
        yield encounter
        yield self.bp(enc_ref, when, doc_ref)
        if rng.random() < 0.3:
            yield self.vital(c.WEIGHT, self.weight + rng.gauss(0, 1.2), enc_ref, when, doc_ref)
        if "diabetes_t2" in r.chronic:
            yield self.vital(c.GLUCOSE, max(4.2, rng.gauss(7.4, 1.3)), enc_ref, when, doc_ref, laboratory=True)
            if rng.random() < 0.5:
                yield from self.lab_report(self.home, enc_ref, when, c.HBA1C_PANEL,
                                           [(c.HBA1C, max(5.0, rng.gauss(7.1, 0.8)))])
        for kind in r.chronic:
            reason = b.concept(c.ICD10, *c.CHRONIC_ICD[kind])
            active = day + timedelta(days=90) > self.today
            yield b.medication_request(self.new_id("medication-request"), medicine=self.medicines[kind],
                                       subject=self.subject, encounter=enc_ref, authored=when, requester=doc_ref,
                                       reason=reason, days=90, active=active)

    def check_up(self, day: date) -> Iterator[Json]:
        rng = self.rng
        elderly = self.age >= 65
        org = self.home if elderly else self._hospital()
        when = _at(day, rng, 7, 10)
        encounter, enc_ref, doc_ref = self._encounter(org, self.gp if elderly else None,
                                                      "老年人健康体检" if elderly else "健康体检", when,
                                                      when + timedelta(hours=2))
        yield encounter
        yield self.bp(enc_ref, when, doc_ref)
        yield self.vital(c.HEIGHT, self.height + rng.gauss(0, 0.4), enc_ref, when, doc_ref)
        yield self.vital(c.WEIGHT, self.weight + rng.gauss(0, 1.2), enc_ref, when, doc_ref)
        yield from self.blood_count(org, enc_ref, when, infection=False)
        yield from self.chemistry(org, enc_ref, when)
        if elderly or rng.random() < 0.3:
            yield self.imaging(org, enc_ref, when + timedelta(minutes=40), c.ABDOMINAL_US, c.ABDOMINAL_US_FINDINGS)

    def admission(self, day: date) -> Iterator[Json]:
        rng, r = self.rng, self.r
        if "copd" in r.chronic and rng.random() < 0.7:
            cause = "copd_exacerbation"
        else:
            cause = rng.choice(["pneumonia", "pneumonia"] + (["stroke", "chd"] if self.age >= 50 else []))
        code, display = c.INPATIENT[cause]
        org = self.d.orgs[GENERAL_TERTIARY_CODE] if rng.random() < 0.5 else self._hospital()
        admitted = _at(day, rng, 0, 23)
        discharged = datetime.combine(day + timedelta(days=rng.randint(5, 12)), time(10, 0))
        encounter, enc_ref, doc_ref = self._encounter(org, None, "住院", admitted, discharged,
                                                      b.concept(c.ICD10, code, display), inpatient=True)
        yield encounter
        yield b.condition(self.new_id("condition"), subject=self.subject, code=code, display=display, onset=admitted,
                          recorder=doc_ref, encounter=enc_ref, resolved=discharged, chronic=False)
        yield self.bp(enc_ref, admitted, doc_ref)
        yield from self.blood_count(org, enc_ref, admitted + timedelta(hours=1), infection=cause != "stroke")
        yield from self.chemistry(org, enc_ref, admitted + timedelta(hours=1))
        if cause in ("pneumonia", "copd_exacerbation"):
            findings = c.CHEST_CT_FINDINGS[3 if cause == "pneumonia" else 2]
            yield self.imaging(org, enc_ref, admitted + timedelta(hours=3), c.CHEST_CT, (findings,))

    # --- measurements ---------------------------------------------------------------------------------

    def bp(self, enc_ref: Json, when: datetime, performer: Json) -> Json:
        rng = self.rng
        treated = "hypertension" in self.r.chronic
        systolic = 108 + 0.45 * max(0, self.age - 25) + (16 if treated else 0) + rng.gauss(0, 9)
        diastolic = 68 + 0.15 * max(0, self.age - 25) + (7 if treated else 0) + rng.gauss(0, 6)
        if self.age < 14:
            systolic, diastolic = 95 + self.age + rng.gauss(0, 6), 60 + rng.gauss(0, 5)
        return b.blood_pressure(self.new_id("observation"), systolic=systolic, diastolic=min(diastolic, systolic - 25),
                                gender=self.r.gender, subject=self.subject, encounter=enc_ref, when=when,
                                performer=performer)

    def vital(self, test: c.Test, value: float, enc_ref: Json, when: datetime, performer: Json,
              laboratory: bool = False) -> Json:
        return b.observation(self.new_id("observation"), test=test, value=value, gender=self.r.gender,
                             subject=self.subject, encounter=enc_ref, when=when, performer=performer,
                             laboratory=laboratory)

    def lab_report(self, org: Organization, enc_ref: Json, when: datetime, panel: tuple[str, str],
                   values: Iterable[tuple[c.Test, float]]) -> Iterator[Json]:
        performer = org_ref(org)
        ids = []
        for test, value in values:
            ids.append(self.new_id("observation"))
            yield b.observation(ids[-1], test=test, value=value, gender=self.r.gender, subject=self.subject,
                                encounter=enc_ref, when=when, performer=performer, laboratory=True)
        technician = self.d.pick(self.rng, org.code, "technician")
        yield b.report(self.new_id("report"), code=panel, subject=self.subject, encounter=enc_ref, when=when,
                       issued=when + timedelta(hours=2), performer=performer,
                       interpreter=practitioner_ref(technician) if technician else None, results=ids)

    def blood_count(self, org: Organization, enc_ref: Json, when: datetime, infection: bool) -> Iterator[Json]:
        rng = self.rng
        male = self.r.gender == "male" and self.age >= 14
        hemoglobin = rng.gauss(146 if male else 128, 10) - (6 if self.age >= 70 else 0)
        wbc = max(2.5, rng.gauss(11.8, 2.6) if infection and rng.random() < 0.6 else rng.gauss(6.2, 1.3))
        yield from self.lab_report(org, enc_ref, when, c.CBC_PANEL, [
            (c.HEMOGLOBIN, hemoglobin), (c.WBC, wbc), (c.PLATELETS, max(60.0, rng.gauss(232, 52)))])

    def chemistry(self, org: Organization, enc_ref: Json, when: datetime) -> Iterator[Json]:
        rng = self.rng
        male = self.r.gender == "male"
        fatty = rng.random() < 0.12
        alt = max(6.0, rng.gauss(62, 15) if fatty else rng.gauss(24 if male else 18, 8))
        creatinine = rng.gauss(82 if male else 62, 12) + (12 if self.age >= 70 else 0)
        glucose = rng.gauss(7.4, 1.3) if "diabetes_t2" in self.r.chronic else rng.gauss(5.0, 0.45)
        yield from self.lab_report(org, enc_ref, when, c.CHEMISTRY_PANEL, [
            (c.ALT, alt), (c.AST, max(8.0, alt * 0.8 + rng.gauss(5, 4))), (c.CREATININE, max(30.0, creatinine)),
            (c.GLUCOSE, max(3.6, glucose))])

    def imaging(self, org: Organization, enc_ref: Json, when: datetime, code: tuple[str, str],
                findings: Sequence[tuple[str, str]]) -> Json:
        seen, conclusion = findings[0] if self.rng.random() < 0.6 else self.rng.choice(findings)
        radiologist = self.d.pick(self.rng, org.code, "technician", "doctor")
        return b.report(self.new_id("report"), code=code, subject=self.subject, encounter=enc_ref, when=when,
                        issued=when + timedelta(hours=4), performer=org_ref(org),
                        interpreter=practitioner_ref(radiologist) if radiologist else None,
                        conclusion=conclusion, findings=seen)


def generate_clinical_history(residents: Iterable[Resident], organizations: Sequence[Organization],
                              practitioners: Sequence[Practitioner], seed: int, years: int = 3,
                              today: date = DEMO_TODAY, teams: Sequence[FamilyDoctorTeam] | None = None
                              ) -> Iterator[Json]:
    """Patient + encounters, conditions, observations, reports and prescriptions of each resident, in order."""
    district = _District.of(organizations, practitioners, teams or build_teams(organizations, practitioners))
    for resident in residents:
        yield from _Person(resident, district, seed, today, years).history()


async def load_demo_clinical(database_url: str, seed: int = DEFAULT_SEED, residents_count: int = DEFAULT_RESIDENTS,
                             *, history_residents: int | None = DEFAULT_HISTORY_RESIDENTS, workers: int = 2,
                             cipher: FieldCipher | None = None) -> ImportReport | None:
    """Registry resources plus the history of the first `history_residents` (None: all) residents, through
    the bulk import pipeline. Returns None when already loaded (the last resident's Patient exists); a load
    that was interrupted resumes, since unchanged resources are skipped."""
    count = residents_count if history_residents is None else min(history_residents, residents_count)
    residents = list(iter_residents(seed, count))
    marker = str(residents[-1].id) if residents else None
    if marker and await resource_exists(database_url, "Patient", marker):
        return None
    organizations, _, practitioners, teams = build_structure(seed)

    # The registry's own resources are already in the store: the seed mirrors them from the registry tables.
    history = generate_clinical_history(residents, organizations, practitioners, seed, teams=teams)
    report = await import_resources(database_url, history, label="demo-clinical", workers=workers, cipher=cipher)
    log.info("demo clinical history: %s", report.summary())
    return report
