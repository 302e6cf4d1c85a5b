from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel

from jizuo.platform.registry.schemas import Ref


class ResidentOut(BaseModel):
    id: uuid.UUID
    name: str
    gender: str
    birth_date: date
    age: int
    id_number_masked: str
    phone_masked: str | None
    address: str | None
    home_organization: Ref | None
    team: Ref | None
    chronic: list[str]


class ResidentPage(BaseModel):
    items: list[ResidentOut]
    total: int
    page: int
    page_size: int
    scope: str
