"""Load the generated demo district into the database, once.

Row ids are UUID5 of the business code, so the same seed always gives the same ids. Residents go in by
COPY in batches (encrypting 身份证 and phone on the way), which keeps a 1,000,000-resident district
loadable in minutes on two cores.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.security import FieldCipher, hash_password
from jizuo.platform.demo.accounts import demo_accounts
from jizuo.platform.demo.generator import build_structure, iter_residents
from jizuo.platform.demo.model import District, Resident
from jizuo.platform.identity.models import User
from jizuo.platform.registry.mirror import mirror_whole_registry
from jizuo.platform.registry.models import CareTeam, CareTeamMember, Department, Organization, Practitioner
from jizuo.platform.sso.clients import register_client
from jizuo.platform.standards.seed import seed_catalogue

log = logging.getLogger(__name__)
NAMESPACE = uuid.UUID("6f1c2a52-6d1e-4e0c-9a43-7a2f4f1f2b10")
RESIDENT_COLUMNS = [
    "id",
    "name",
    "gender",
    "birth_date",
    "id_number_enc",
    "id_number_bidx",
    "phone_enc",
    "address",
    "street",
    "community",
    "home_organization_id",
    "medical_insurance_no",
    "signed_team_id",
    "chronic",
    "created_at",
]


def stable_id(kind: str, code: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{kind}:{code}")


async def is_seeded(db: AsyncSession) -> bool:
    return bool(await db.scalar(select(func.count()).select_from(Organization)))


async def seed_demo_district(
    db: AsyncSession, cipher: FieldCipher, *, seed: int, residents: int
) -> dict[str, int]:
    """Insert the district; the caller commits. Returns counts of what was written."""
    organizations, departments, practitioners, teams = build_structure(seed)
    # Demo accounts bind to an early resident: a prefix of the stream equals a smaller run.
    district = District(
        seed=seed,
        organizations=organizations,
        departments=departments,
        practitioners=practitioners,
        teams=teams,
        residents=list(iter_residents(seed, min(residents, 2000))),
    )
    await _insert_registry(db, district, cipher)
    # The registry is also in the FHIR store (Organization, Location, Practitioner, PractitionerRole, CareTeam),
    # whether or not a clinical history is loaded: applications look institutions up there.
    registry_fhir = await mirror_whole_registry(db, cipher)
    resident_count = await _copy_residents(db, cipher, iter_residents(seed, residents))
    accounts = await _insert_accounts(db, district)
    await register_client(db, client_id="demo-app", name="演示应用（应用中心）",
                          redirect_uris=["http://127.0.0.1:8000/oidc/demo/callback"], trusted=True)
    await seed_catalogue(db)  # the data-standard catalogue (YAML starter; idempotent)
    return {
        "organizations": len(organizations),
        "departments": len(departments),
        "practitioners": len(practitioners),
        "teams": len(teams),
        "residents": resident_count,
        "accounts": accounts,
        "registry_fhir_resources": registry_fhir,
    }


async def _insert_registry(db: AsyncSession, district: District, cipher: FieldCipher) -> None:
    org_rows = [
        {
            "id": stable_id("org", o.code),
            "code": o.code,
            "uscc": o.uscc,
            "name": o.name,
            "short_name": o.short_name,
            "level": o.level,
            "type": o.type,
            "parent_id": stable_id("org", o.parent_code) if o.parent_code else None,
            "address": o.address,
            "phone": o.phone,
            "latitude": o.latitude,
            "longitude": o.longitude,
        }
        for o in district.organizations
    ]
    # Parents first, so the self-reference holds at every insert.
    org_rows.sort(key=lambda row: row["parent_id"] is not None)
    await db.execute(insert(Organization), org_rows)
    await db.execute(
        insert(Department),
        [
            {
                "id": stable_id("dept", d.code),
                "organization_id": stable_id("org", d.org_code),
                "code": d.code,
                "name": d.name,
            }
            for d in district.departments
        ],
    )
    await db.execute(
        insert(Practitioner),
        [
            {
                "id": stable_id("practitioner", p.code),
                "code": p.code,
                "name": p.name,
                "gender": p.gender,
                "birth_date": p.birth_date,
                "id_number_enc": cipher.encrypt(p.id_number),
                "id_number_bidx": cipher.blind_index(p.id_number),
                "phone_enc": cipher.encrypt(p.phone),
                "organization_id": stable_id("org", p.org_code),
                "department_id": stable_id("dept", p.dept_code) if p.dept_code else None,
                "title": p.title,
                "role": p.role,
            }
            for p in district.practitioners
        ],
    )
    await db.execute(
        insert(CareTeam),
        [
            {
                "id": stable_id("team", t.code),
                "code": t.code,
                "name": t.name,
                "organization_id": stable_id("org", t.org_code),
                "leader_id": stable_id("practitioner", t.leader_code),
            }
            for t in district.teams
        ],
    )
    await db.execute(
        insert(CareTeamMember),
        [
            {
                "team_id": stable_id("team", t.code),
                "practitioner_id": stable_id("practitioner", code),
                "team_role": role,
            }
            for t in district.teams
            for code, role in t.member_codes
        ],
    )


def _resident_record(r: Resident, cipher: FieldCipher, now: Any) -> tuple[Any, ...]:
    return (
        r.id,
        r.name,
        r.gender,
        r.birth_date,
        cipher.encrypt(r.id_number),
        cipher.blind_index(r.id_number),
        cipher.encrypt(r.phone),
        r.address,
        r.street,
        r.community,
        stable_id("org", r.home_centre_code),
        r.medical_insurance_no,
        stable_id("team", r.signed_team_code) if r.signed_team_code else None,
        list(r.chronic),
        now,
    )


def _batches(items: Iterable[Resident], size: int) -> Iterator[list[Resident]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


async def _copy_residents(db: AsyncSession, cipher: FieldCipher, residents: Iterable[Resident]) -> int:
    connection = await db.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None, "COPY needs the asyncpg connection"
    now = await db.scalar(select(func.now()))
    written = 0
    for batch in _batches(residents, 10_000):
        await raw.copy_records_to_table(
            "resident", records=[_resident_record(r, cipher, now) for r in batch], columns=RESIDENT_COLUMNS
        )
        written += len(batch)
        if written % 100_000 == 0:
            log.info("seeded %d residents", written)
    return written


async def _insert_accounts(db: AsyncSession, district: District) -> int:
    accounts = demo_accounts(district)
    await db.execute(
        insert(User),
        [
            {
                "id": stable_id("user", a.username),
                "username": a.username,
                "display_name": a.display_name,
                "password_hash": hash_password(a.password),
                "role": a.role,
                "organization_id": stable_id("org", a.org_code) if a.org_code else None,
                "practitioner_id": stable_id("practitioner", a.practitioner_code)
                if a.practitioner_code
                else None,
                "resident_id": a.resident_id,
            }
            for a in accounts
        ],
    )
    return len(accounts)
