"""Log-in accounts for the demo district, one per role, all with the published demo password."""

from __future__ import annotations

from collections.abc import Callable

from jizuo.platform.demo.model import DemoAccount, District, Practitioner
from jizuo.platform.demo.organizations import ADMIN_CODE, GENERAL_TERTIARY_CODE, centre_code

DEMO_PASSWORD = "Jizuo@2026"


def _first(district: District, wanted: Callable[[Practitioner], bool], description: str) -> Practitioner:
    for person in district.practitioners:
        if wanted(person):
            return person
    raise LookupError(f"demo district has no {description}")


def demo_accounts(district: District) -> list[DemoAccount]:
    """admin, weijianwei, hosp_admin, doctor, family_doctor, nurse, pharmacist and resident.

    The clinical accounts are bound to real practitioners of the district so that their screens show data:
    the doctor and pharmacist at the general tertiary hospital, the family doctor leading the first team of
    the first centre, a nurse at that centre, and a resident signed with that team.
    """
    hospital = district.organization(GENERAL_TERTIARY_CODE)
    first_centre = district.organization(centre_code(0))
    first_team = next(team for team in district.teams if team.org_code == first_centre.code)
    family_doctor = district.practitioner(first_team.leader_code)
    doctor = _first(district, lambda p: p.org_code == hospital.code and p.role == "doctor", "hospital doctor")
    pharmacist = _first(
        district, lambda p: p.org_code == hospital.code and p.role == "pharmacist", "hospital pharmacist"
    )
    nurse = _first(district, lambda p: p.org_code == first_centre.code and p.role == "nurse", "centre nurse")
    signed = next((r for r in district.residents if r.signed_team_code == first_team.code), None)

    def staff(username: str, role: str, person: Practitioner) -> DemoAccount:
        return DemoAccount(username, DEMO_PASSWORD, role, person.org_code, person.code, person.name)

    accounts = [
        DemoAccount("admin", DEMO_PASSWORD, "district_admin", None, None, "区平台管理员"),
        DemoAccount("weijianwei", DEMO_PASSWORD, "regulator", ADMIN_CODE, None, "区卫健委监管员"),
        DemoAccount("hosp_admin", DEMO_PASSWORD, "institution_admin", hospital.code, None,
                    f"{hospital.short_name}信息科管理员"),
        staff("doctor", "doctor", doctor),
        staff("family_doctor", "family_doctor", family_doctor),
        staff("nurse", "nurse", nurse),
        staff("pharmacist", "pharmacist", pharmacist),
    ]  # fmt: skip
    if signed is not None:  # a district generated with very few residents may have nobody signed yet
        accounts.append(
            DemoAccount("resident", DEMO_PASSWORD, "resident", None, None, signed.name, resident_id=signed.id)
        )
    return accounts
