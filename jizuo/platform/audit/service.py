"""The audit trail of one request.

Services record what they did; the request's unit of work writes the rows in the same transaction as
the change. When the request fails, the rows are written anyway in a transaction of their own, with the
outcome set to failure or denied — a refused access is exactly what an auditor wants to see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.platform.audit import repository
from jizuo.platform.identity.access import AccessScope


@dataclass
class Actor:
    id: uuid.UUID | None = None
    username: str | None = None
    role: str | None = None
    organization_code: str | None = None

    @classmethod
    def of(cls, scope: AccessScope) -> Actor:
        return cls(scope.user_id, scope.username, scope.role.value, scope.organization_code)


@dataclass
class AuditTrail:
    ip: str | None = None
    request_id: str | None = None
    actor: Actor = field(default_factory=Actor)
    purpose: str | None = None
    pending: list[dict[str, Any]] = field(default_factory=list)

    def identify(self, scope: AccessScope) -> None:
        self.actor = Actor.of(scope)
        self.purpose = scope.purpose

    def record(self, action: str, resource_type: str | None = None, resource_id: object = None,
               outcome: str = "success", detail: dict[str, Any] | None = None, actor: Actor | None = None) -> None:
        who = actor or self.actor
        self.pending.append({
            "id": uuid.uuid4(), "at": utcnow(), "actor_id": who.id, "actor_username": who.username,
            "actor_role": who.role, "organization_code": who.organization_code, "action": action,
            "resource_type": resource_type, "resource_id": None if resource_id is None else str(resource_id),
            "purpose": self.purpose, "outcome": outcome, "ip": self.ip, "request_id": self.request_id,
            "detail": detail,
        })

    def mark_failed(self, outcome: str, reason: str) -> None:
        """The request did not complete: what it was about to report as done did not happen."""
        for row in self.pending:
            if row["outcome"] == "success":
                row["outcome"] = outcome
                row["detail"] = {**(row["detail"] or {}), "reason": reason}

    async def flush(self, session: AsyncSession) -> None:
        rows, self.pending = self.pending, []
        await repository.insert_events(session, rows)
