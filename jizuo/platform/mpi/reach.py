"""Which MPI records a caller may see and act on.

The MPI holds every institution's registrations, so each lookup, `$match`, search and steward action is cut
down to the caller's reach:

- the district administrator: everything;
- an institution administrator (`mpi:steward` for their own institution): only records registered at that
  institution. They see and decide duplicates *between their own registrations* (two MRNs for one person);
  a duplicate that spans institutions involves another institution's record and is the district's call;
- clinical roles: the FHIR access rules (`jizuo.platform.fhir_access.fhir_access_for`). A doctor reads across
  the district for treatment (everything); a family doctor sees the persons who have a record among their
  team's signed residents — and then the whole person, since telling a clinician where else their patient
  is registered is the point of the index.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from jizuo.core.errors import PermissionDenied
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Role
from jizuo.platform.mpi.models import MpiSourceRecord


@dataclass(frozen=True)
class Reach:
    everything: bool = False
    institution_id: str | None = None
    institution_code: str | None = None
    patient_ids: frozenset[str] | None = None
    whole_person: bool = True
    """True: a person with one visible record is visible with all records. False: only the records in reach."""

    @property
    def label(self) -> str:
        if self.everything:
            return "district"
        return "institution" if self.institution_id or self.institution_code else "patients"

    def record_clause(self, table: Any = MpiSourceRecord) -> ColumnElement[bool]:
        """SQL: the record (a row of `table`: mpi_source_record or an alias of it) is in reach."""
        if self.everything:
            return true()
        if self.institution_id or self.institution_code:
            return or_(*[column == value for column, value in ((table.institution_id, self.institution_id),
                                                               (table.institution_code, self.institution_code))
                         if value])
        if self.patient_ids:
            return cast(ColumnElement[bool], table.patient_id.in_(sorted(self.patient_ids)))
        return false()

    def person_clause(self, person_id: Any) -> ColumnElement[bool]:
        """SQL: the person (a person id column) has at least one live record in reach."""
        if self.everything:
            return true()
        other = aliased(MpiSourceRecord)  # never correlated with an outer mpi_source_record
        return exists(select(other.patient_id).where(other.person_id == person_id, other.deleted.is_(False),
                                                     self.record_clause(other)))

    def sees_record(self, source: MpiSourceRecord) -> bool:
        if self.everything:
            return True
        if self.institution_id or self.institution_code:
            return bool((self.institution_id and source.institution_id == self.institution_id)
                        or (self.institution_code and source.institution_code == self.institution_code))
        return source.patient_id in (self.patient_ids or ())

    def shown_records(self, sources: Iterable[MpiSourceRecord]) -> list[MpiSourceRecord]:
        """The records of a visible person the caller is shown."""
        sources = list(sources)
        return sources if self.whole_person else [s for s in sources if self.sees_record(s)]


EVERYTHING = Reach(everything=True)
NOTHING = Reach(patient_ids=frozenset())


async def reach_of(db: AsyncSession, scope: AccessScope) -> Reach:
    from jizuo.platform.fhir_access import fhir_access_for  # fhir_access registers the MPI listener: import late

    if scope.role == Role.DISTRICT_ADMIN:
        return EVERYTHING
    if scope.role == Role.INSTITUTION_ADMIN:
        if scope.organization_id is None and not scope.organization_code:
            return NOTHING
        return Reach(institution_id=str(scope.organization_id) if scope.organization_id else None,
                     institution_code=scope.organization_code, whole_person=False)
    access = await fhir_access_for(db, scope)
    if not access.may_read:
        return NOTHING
    if access.patient_ids is None:
        return EVERYTHING
    return Reach(patient_ids=access.patient_ids)


def outside_reach(what: str) -> PermissionDenied:
    return PermissionDenied(f"{what}不在您的主索引可见范围内（机构管理员只能处理本机构登记的记录，"
                            f"跨机构的重复由区级数据管理员处理）", code="mpi_outside_reach")

