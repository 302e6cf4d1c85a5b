"""What the FHIR store needs to know about the caller, without knowing about users or roles.

The platform translates its AccessScope into a FhirAccess (jizuo.platform.fhir_access): the set of patients
whose records the caller may see (None: all), and whether they may write. The store applies it in every
query — one place, like Medplum's repository carrying the access policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class FhirAccess:
    may_read: bool
    may_write: bool
    patient_ids: frozenset[str] | None = None  # None: not limited to particular patients
    actor: str | None = None

    @property
    def unrestricted(self) -> bool:
        return self.patient_ids is None


SYSTEM_ACCESS = FhirAccess(may_read=True, may_write=True, actor="system")


class AuditSink(Protocol):
    def record(self, action: str, resource_type: str | None = None, resource_id: object = None,
               outcome: str = "success", detail: dict[str, Any] | None = None) -> None: ...
