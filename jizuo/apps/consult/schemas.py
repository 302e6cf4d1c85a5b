"""问医生 API models. Categories are Literals, so a wrong value is a 422 naming the field."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Category = Literal["medication", "examination", "followup", "other"]
CATEGORY_NAMES: dict[str, str] = {"medication": "用药", "examination": "检查", "followup": "随访", "other": "其他"}


class QuestionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000, description="问题内容（2–1000 字）")
    category: Category = Field("other", description="用药 medication / 检查 examination / 随访 followup / 其他 other")


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str = Field(min_length=1, max_length=4000, description="回复内容")


class FaqIn(BaseModel):
    """The public version of an answered question: edited by the team, without the resident's personal data."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=1, max_length=1000)
    answer: str = Field(min_length=1, max_length=4000)
    category: Category | None = None


class QuestionOut(BaseModel):
    id: uuid.UUID
    category: Category
    text: str
    status: Literal["open", "answered"]
    created_at: datetime
    answer: str | None
    answered_at: datetime | None
    answered_by_name: str | None
    resident_id: uuid.UUID
    resident_name: str | None = None
    team_id: uuid.UUID
    team_name: str | None = None
    faq_id: uuid.UUID | None = None


class QuestionPage(BaseModel):
    items: list[QuestionOut]
    total: int
    open: int


class FaqOut(BaseModel):
    id: uuid.UUID
    category: Category
    question: str
    answer: str
    published: bool
    created_at: datetime
    updated_at: datetime | None
    source_question_id: uuid.UUID | None = None


class FaqPage(BaseModel):
    items: list[FaqOut]
    total: int
