from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEventOut(BaseModel):
    id: uuid.UUID
    at: datetime
    actor_username: str | None
    actor_role: str | None
    organization_code: str | None
    action: str
    resource_type: str | None
    resource_id: str | None
    purpose: str | None
    outcome: str
    ip: str | None
    detail: dict[str, Any] | None
