"""问医生 API: `/api/v1/consult/...` — residents ask and read their answers, teams answer and publish FAQ."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from jizuo.apps.consult import service
from jizuo.apps.consult.schemas import AnswerIn, Category, FaqIn, FaqOut, FaqPage, QuestionIn, QuestionOut, QuestionPage
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1/consult", tags=["问医生（居民咨询）"])


@router.post("/questions", response_model=QuestionOut, status_code=201, summary="居民向签约家庭医生团队提问")
async def ask(body: QuestionIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.ask(unit.db, unit.trail, scope, body.text, body.category)
    await unit.commit()
    return result


@router.get("/questions", response_model=QuestionPage,
            summary="咨询列表（居民：我的提问；团队成员：本团队签约居民的咨询）")
async def list_questions(scope: ScopeDep, unit: UnitDep, status: Literal["open", "answered"] | None = None,
                         category: Category | None = None, q: Annotated[str | None, Query(max_length=50)] = None,
                         offset: Annotated[int, Query(ge=0)] = 0,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    return await service.list_questions(unit.db, unit.trail, scope, status, category, q, offset, limit)


@router.get("/questions/{question_id}", response_model=QuestionOut, summary="咨询详情")
async def get_question(question_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    return await service.get_question(unit.db, unit.trail, scope, question_id)


@router.post("/questions/{question_id}/answer", response_model=QuestionOut, summary="回复居民咨询")
async def answer(question_id: uuid.UUID, body: AnswerIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.answer(unit.db, unit.trail, scope, question_id, body.answer)
    await unit.commit()
    return result


@router.put("/questions/{question_id}/faq", response_model=FaqOut,
            summary="设为常见问题（发布去除个人信息后的问答）")
async def publish_faq(question_id: uuid.UUID, body: FaqIn, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.publish_faq(unit.db, unit.trail, scope, question_id, body.model_dump())
    await unit.commit()
    return result


@router.post("/faq/{faq_id}/unpublish", response_model=FaqOut, summary="撤下常见问题")
async def unpublish_faq(faq_id: uuid.UUID, scope: ScopeDep, unit: UnitDep) -> dict[str, Any]:
    result = await service.unpublish_faq(unit.db, unit.trail, scope, faq_id)
    await unit.commit()
    return result


@router.get("/faq", response_model=FaqPage, summary="搜索常见问题（已发布）")
async def search_faq(scope: ScopeDep, unit: UnitDep, q: Annotated[str | None, Query(max_length=50)] = None,
                     category: Category | None = None, offset: Annotated[int, Query(ge=0)] = 0,
                     limit: Annotated[int, Query(ge=1, le=100)] = 20) -> dict[str, Any]:
    del scope  # any signed-in user
    return await service.search_faq(unit.db, q, category, offset, limit)
