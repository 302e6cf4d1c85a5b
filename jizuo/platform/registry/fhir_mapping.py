"""The registry as FHIR R4 resources, in the shape of IHE mCSD (Mobile Care Services Discovery).

One mapping for every path that puts the registry into the FHIR store: each console/API edit (write-through,
jizuo.platform.registry.mirror), the demo seed, and the synthetic clinical history's generator. Per row:

- organization → Organization (identifiers, type + level codings, partOf) and one Location (address,
  position, managingOrganization) — mCSD's "facility" is this pair;
- practitioner → Practitioner, and one PractitionerRole (organization, job role, specialty = department);
- family-doctor team → CareTeam (managing organization, participants with their team roles).

Departments are not resources of their own: they are the PractitionerRole's specialty.
Ids are the registry rows' UUIDs; Location and PractitionerRole ids are derived from their row (see below).
References carry no `display`, so renaming one row never leaves a stale name in another resource.
Every URI below is listed in docs/registry.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from jizuo.fhir.validation import ID_CARD_SYSTEM
from jizuo.platform.mpi.normalise import split_name
from jizuo.platform.registry.codes import (
    LEVEL_DISPLAY,
    LEVEL_RANK,
    PRACTITIONER_ROLE_DISPLAY,
    TEAM_ROLE_DISPLAY,
    TYPE_DISPLAY,
)
from jizuo.platform.registry.models import CareTeam, CareTeamMember, Department, Organization, Practitioner

Json = dict[str, Any]

# --- identifier systems (NamingSystems) and code systems of the registry ---------------------------------
BASE = "https://jizuo.example.org/fhir"
ORG_CODE_SYSTEM = f"{BASE}/sid/org-code"  # 机构编码, stable, never reused
USCC_SYSTEM = f"{BASE}/sid/uscc"  # 统一社会信用代码 (GB 32100); no international URI exists for it
PRACTITIONER_CODE_SYSTEM = f"{BASE}/sid/practitioner-code"  # 人员工号
TEAM_CODE_SYSTEM = f"{BASE}/sid/team-code"  # 家庭医生团队编码
ORG_TYPE_SYSTEM = f"{BASE}/CodeSystem/organization-type"  # codes.TYPE_DISPLAY
ORG_LEVEL_SYSTEM = f"{BASE}/CodeSystem/organization-level"  # codes.LEVEL_DISPLAY (医院等级)
LEVEL_RANK_EXTENSION = f"{BASE}/StructureDefinition/organization-level-rank"  # codes.LEVEL_RANK
PRACTITIONER_ROLE_SYSTEM = f"{BASE}/CodeSystem/practitioner-role"  # codes.PRACTITIONER_ROLE_DISPLAY
DEPARTMENT_SYSTEM = f"{BASE}/CodeSystem/department"  # the registry's department codes
TEAM_ROLE_SYSTEM = f"{BASE}/CodeSystem/care-team-role"  # codes.TEAM_ROLE_DISPLAY
TEAM_CATEGORY_SYSTEM = f"{BASE}/CodeSystem/care-team-category"
# Published code systems the mapping also uses.
MCSD_TYPES = "https://profiles.ihe.net/ITI/mCSD/CodeSystem/IHE.mCSD.Organization.Location.Types"
HL7_ORG_TYPE = "http://terminology.hl7.org/CodeSystem/organization-type"
HL7_IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
HL7_PHYSICAL_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"

# The namespace the demo seed derives its ids from; PractitionerRole ids keep being derived from it so the
# demo's existing PractitionerRoles (one per practitioner, by code) are updated, not duplicated.
_ROLE_NAMESPACE = uuid.UUID("6f1c2a52-6d1e-4e0c-9a43-7a2f4f1f2b10")


def location_id(organization_id: uuid.UUID) -> uuid.UUID:
    """The Location of an organization (one per organization)."""
    return uuid.uuid5(organization_id, "Location")


def practitioner_role_id(practitioner_code: str) -> uuid.UUID:
    """The PractitionerRole of a practitioner: their code never changes, so neither does this id."""
    return uuid.uuid5(_ROLE_NAMESPACE, f"practitioner-role:{practitioner_code}")


def _ref(res_type: str, res_id: uuid.UUID | str) -> Json:
    return {"reference": f"{res_type}/{res_id}"}


def _coding(system: str, code: str, display: str | None = None) -> Json:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def _concept(system: str, code: str, display: str | None) -> Json:
    return {"coding": [_coding(system, code, display)], "text": display or code}


def _phone(phone: str | None) -> list[Json]:
    return [{"system": "phone", "value": phone, "use": "work"}] if phone else []


def _is_facility(org: Organization) -> bool:
    """The health commission is an authority, not a place where care is given."""
    return org.type != "admin"


def organization_resource(org: Organization) -> Json:
    type_display = TYPE_DISPLAY.get(org.type, org.type)
    kind = _coding(HL7_ORG_TYPE, "prov", "Healthcare Provider") if _is_facility(org) else _coding(
        HL7_ORG_TYPE, "govt", "Government")
    types = [{"coding": [_coding(ORG_TYPE_SYSTEM, org.type, type_display), kind], "text": type_display},
             _concept(ORG_LEVEL_SYSTEM, org.level, LEVEL_DISPLAY.get(org.level, org.level))]
    if _is_facility(org):
        types.append({"coding": [_coding(MCSD_TYPES, "facility", "Facility")]})
    identifiers: list[Json] = [{"use": "official", "system": ORG_CODE_SYSTEM, "value": org.code}]
    if org.uscc:
        identifiers.append({"type": {"coding": [_coding(HL7_IDENTIFIER_TYPE, "TAX", "Tax ID number")],
                                     "text": "统一社会信用代码"}, "system": USCC_SYSTEM, "value": org.uscc})
    resource: Json = {
        "resourceType": "Organization", "id": str(org.id),
        "extension": [{"url": LEVEL_RANK_EXTENSION, "valueInteger": LEVEL_RANK.get(org.level, 0)}],
        "identifier": identifiers, "active": bool(org.active), "type": types, "name": org.name,
    }
    if org.short_name:
        resource["alias"] = [org.short_name]
    if org.phone:
        resource["telecom"] = _phone(org.phone)
    if org.address:
        resource["address"] = [{"use": "work", "type": "physical", "text": org.address}]
    if org.parent_id:
        resource["partOf"] = _ref("Organization", org.parent_id)
    return resource


def location_resource(org: Organization) -> Json:
    resource: Json = {
        "resourceType": "Location", "id": str(location_id(org.id)),
        "identifier": [{"system": ORG_CODE_SYSTEM, "value": org.code}],
        "status": "active" if org.active else "inactive", "mode": "instance", "name": org.name,
        "type": [{"coding": [_coding(MCSD_TYPES, "facility", "Facility")]}] if _is_facility(org) else [],
        "physicalType": _concept(HL7_PHYSICAL_TYPE, "bu", "Building"),
        "managingOrganization": _ref("Organization", org.id),
    }
    if not resource["type"]:
        del resource["type"]
    if org.short_name:
        resource["alias"] = [org.short_name]
    if org.phone:
        resource["telecom"] = _phone(org.phone)
    if org.address:
        resource["address"] = {"use": "work", "type": "physical", "text": org.address}
    if org.latitude is not None and org.longitude is not None:
        resource["position"] = {"longitude": org.longitude, "latitude": org.latitude}
    return resource


@dataclass(frozen=True)
class PersonalData:
    """A practitioner's 身份证 and phone in plain text: the FHIR store encrypts them again on write."""

    id_number: str | None = None
    phone: str | None = None


def practitioner_resource(person: Practitioner, personal: PersonalData) -> Json:
    family, given = split_name(person.name)
    identifiers: list[Json] = [{"use": "official", "system": PRACTITIONER_CODE_SYSTEM, "value": person.code}]
    if personal.id_number:
        identifiers.append({"system": ID_CARD_SYSTEM, "value": personal.id_number})
    resource: Json = {
        "resourceType": "Practitioner", "id": str(person.id), "identifier": identifiers,
        "active": bool(person.active),
        "name": [{"use": "official", "text": person.name, "family": family, **({"given": [given]} if given else {})}],
        "gender": person.gender,
    }
    if personal.phone:
        resource["telecom"] = _phone(personal.phone)
    if person.birth_date:
        resource["birthDate"] = person.birth_date.isoformat()
    if person.title:
        resource["qualification"] = [{"code": {"text": person.title}}]
    return resource


def practitioner_role_resource(person: Practitioner, department: Department | None) -> Json:
    role_display = PRACTITIONER_ROLE_DISPLAY.get(person.role, person.role)
    resource: Json = {
        "resourceType": "PractitionerRole", "id": str(practitioner_role_id(person.code)),
        "active": bool(person.active),
        "practitioner": _ref("Practitioner", person.id),
        "organization": _ref("Organization", person.organization_id),
        "code": [_concept(PRACTITIONER_ROLE_SYSTEM, person.role, role_display)],
        "location": [_ref("Location", location_id(person.organization_id))],
    }
    if department is not None:
        resource["specialty"] = [_concept(DEPARTMENT_SYSTEM, department.code, department.name)]
    return resource


TeamMember = tuple[CareTeamMember, Practitioner]


def care_team_resource(team: CareTeam, members: Sequence[TeamMember]) -> Json:
    """Leader first, then the others by practitioner code."""
    ordered = sorted(members, key=lambda m: (m[1].id != team.leader_id, m[1].code))
    resource: Json = {
        "resourceType": "CareTeam", "id": str(team.id),
        "identifier": [{"system": TEAM_CODE_SYSTEM, "value": team.code}],
        "status": "active" if team.active else "inactive",
        "category": [_concept(TEAM_CATEGORY_SYSTEM, "family-doctor-team", "家庭医生团队")],
        "name": team.name, "managingOrganization": [_ref("Organization", team.organization_id)],
    }
    if ordered:
        resource["participant"] = [{
            "role": [_concept(TEAM_ROLE_SYSTEM, member.team_role, TEAM_ROLE_DISPLAY.get(member.team_role))],
            "member": _ref("Practitioner", person.id),
            "onBehalfOf": _ref("Organization", person.organization_id),
        } for member, person in ordered]
    return resource


def organization_resources(org: Organization) -> list[Json]:
    return [organization_resource(org), location_resource(org)]


def practitioner_resources(person: Practitioner, personal: PersonalData, department: Department | None
                           ) -> list[Json]:
    return [practitioner_resource(person, personal), practitioner_role_resource(person, department)]


def registry_resources(organizations: Iterable[Organization], departments: Iterable[Department],
                       practitioners: Iterable[tuple[Practitioner, PersonalData]],
                       teams: Iterable[tuple[CareTeam, Sequence[TeamMember]]]) -> Iterator[Json]:
    """The whole registry, organizations first (so a reader of the stream meets parents before children)."""
    by_id = {d.id: d for d in departments}
    for org in organizations:
        yield from organization_resources(org)
    for person, personal in practitioners:
        department = by_id.get(person.department_id) if person.department_id else None
        yield from practitioner_resources(person, personal, department)
    for team, members in teams:
        yield care_team_resource(team, members)
