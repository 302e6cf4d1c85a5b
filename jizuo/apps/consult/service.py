"""问医生 rules: a signed resident asks their family-doctor team; the team answers; an answer can be published
as an FAQ entry (an edited version without personal data) that every resident can search. Never commits.

Notifications (jizuo.platform.notifications) go in the caller's transaction: to every member of the team when a
question arrives, to the resident when it is answered.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.consult import repository
from jizuo.apps.consult.models import ConsultFaq, ConsultQuestion
from jizuo.apps.consult.schemas import CATEGORY_NAMES
from jizuo.core.clock import utcnow
from jizuo.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from jizuo.fhir.access import AuditSink
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.models import User
from jizuo.platform.notifications.service import notify
from jizuo.platform.residents.models import Resident

_NOT_FOUND = "咨询不存在或不属于您的签约居民"
MIN_QUESTION_CHARS = 2
MAX_OPEN_QUESTIONS = 10  # per resident: the team's queue is not a chat
# A run of digits as long as a phone number or an ID number (身份证 ends in a digit or X).
_PERSONAL_NUMBER = re.compile(r"(?<![0-9])(1[3-9][0-9]{9}|[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9])")


def question_view(question: ConsultQuestion, resident_name: str | None, team_name: str | None,
                  faq_id: uuid.UUID | None, *, for_resident: bool = False) -> dict[str, Any]:
    return {"id": question.id, "category": question.category, "text": question.text, "status": question.status,
            "created_at": question.created_at, "answer": question.answer, "answered_at": question.answered_at,
            "answered_by_name": question.answered_by_name, "resident_id": question.resident_id,
            "resident_name": None if for_resident else resident_name, "team_id": question.team_id,
            "team_name": team_name, "faq_id": faq_id}


def faq_view(faq: ConsultFaq) -> dict[str, Any]:
    return {"id": faq.id, "category": faq.category, "question": faq.question, "answer": faq.answer,
            "published": faq.published, "created_at": faq.created_at, "updated_at": faq.updated_at,
            "source_question_id": faq.source_question_id}


def _required_text(value: str, field: str, label: str, minimum: int = 1) -> str:
    text = value.strip()
    if len(text) < minimum:
        raise ValidationFailed(f"{label}不能为空" if minimum <= 1 else f"{label}至少 {minimum} 个字",
                               code="consult_text_too_short", errors=[FieldError(field, f"{label}过短")])
    return text


async def ask(db: AsyncSession, trail: AuditSink, scope: AccessScope, text: str, category: str) -> dict[str, Any]:
    """A signed resident's question to their team. Notifies every team member (in-app and SMS outbox)."""
    if scope.resident_id is None:
        raise PermissionDenied("仅居民本人可以向家庭医生团队提问", code="not_a_resident")
    resident = await db.get(Resident, scope.resident_id)
    if resident is None:
        raise NotFound("未找到您的居民档案", code="resident_not_found")
    if resident.signed_team_id is None:
        raise Conflict("您尚未签约家庭医生团队，签约后即可提问", code="not_signed")
    body = _required_text(text, "text", "问题内容", MIN_QUESTION_CHARS)
    if await repository.open_count_of(db, resident.id) >= MAX_OPEN_QUESTIONS:
        raise Conflict(f"您已有 {MAX_OPEN_QUESTIONS} 个问题等待回复，请等医生回复后再提问",
                       code="too_many_open_questions")
    question = ConsultQuestion(id=uuid.uuid4(), resident_id=resident.id, team_id=resident.signed_team_id,
                               category=category, text=body, status="open", created_at=utcnow(),
                               asked_by=scope.user_id)
    db.add(question)
    await db.flush()
    users, practitioners = await repository.team_recipients(db, resident.signed_team_id)
    await notify(db, kind="consult_question", title=f"居民咨询（{CATEGORY_NAMES[category]}）：{resident.name}",
                 body=body[:100], link=f"/ui/consult?question={question.id}", user_ids=users,
                 practitioner_ids=practitioners, channels=("sms",))
    trail.record("create", "ConsultQuestion", question.id, detail={"category": category})
    team_name = await repository.team_name(db, question.team_id)
    return question_view(question, resident.name, team_name, None, for_resident=True)


async def list_questions(db: AsyncSession, trail: AuditSink, scope: AccessScope, status: str | None,
                         category: str | None, q: str | None, offset: int, limit: int) -> dict[str, Any]:
    """A resident: their own questions; a team member: their teams' queue; district admin: all."""
    rows, total, open_count = await repository.list_questions(db, scope, status, category, q, offset, limit)
    mine = scope.resident_id is not None
    trail.record("search", "ConsultQuestion", None,
                 detail={"returned": len(rows), "status": status, "own": mine})
    return {"items": [question_view(qq, rn, tn, f, for_resident=mine) for qq, rn, tn, f in rows],
            "total": total, "open": open_count}


async def get_question(db: AsyncSession, trail: AuditSink, scope: AccessScope, question_id: uuid.UUID
                       ) -> dict[str, Any]:
    found = await repository.question(db, scope, question_id)
    if found is None:
        trail.record("read", "ConsultQuestion", question_id, "denied", {"reason": "not_found_or_outside_scope"})
        raise NotFound(_NOT_FOUND, code="question_not_found")
    question, resident_name, team_name, faq_id = found
    trail.record("read", "ConsultQuestion", question.id, detail={"resident": str(question.resident_id)})
    return question_view(question, resident_name, team_name, faq_id, for_resident=scope.resident_id is not None)


async def answer(db: AsyncSession, trail: AuditSink, scope: AccessScope, question_id: uuid.UUID, text: str
                 ) -> dict[str, Any]:
    """The team's answer (once; 409 when already answered). Notifies the resident."""
    found = await repository.question(db, scope, question_id, for_answer=True)
    if found is None:
        trail.record("update", "ConsultQuestion", question_id, "denied", {"reason": "not_found_or_outside_scope"})
        raise NotFound(_NOT_FOUND, code="question_not_found")
    question, resident_name, team_name, faq_id = found
    if question.status != "open":
        raise Conflict("该咨询已回复，不能重复回复", code="already_answered")
    question.answer = _required_text(text, "answer", "回复内容")
    question.status = "answered"
    question.answered_at = utcnow()
    question.answered_by = scope.user_id
    user = await db.get(User, scope.user_id)
    question.answered_by_name = (user.display_name if user else None) or scope.username
    await db.flush()
    residents = await repository.resident_users(db, question.resident_id)
    await notify(db, kind="consult_answer", title="您的咨询已有回复", body=question.answer[:100],
                 link="/h5/ask", user_ids=residents, channels=("sms",))
    trail.record("update", "ConsultQuestion", question.id, detail={"status": "answered"})
    return question_view(question, resident_name, team_name, faq_id)


def _check_public(text: str, field: str, resident_name: str) -> str:
    """The FAQ must not carry the resident's name, a phone number or an ID number."""
    body = _required_text(text, field, "常见问题内容")
    if (len(resident_name) >= 2 and resident_name in body) or _PERSONAL_NUMBER.search(body):
        raise ValidationFailed("常见问题不能包含居民姓名、手机号或身份证号，请修改后再发布",
                               code="faq_contains_personal_data",
                               errors=[FieldError(field, "包含个人信息")])
    return body


async def publish_faq(db: AsyncSession, trail: AuditSink, scope: AccessScope, question_id: uuid.UUID,
                      data: dict[str, Any]) -> dict[str, Any]:
    """Publish (or re-edit) the public version of an answered question of the caller's team."""
    found = await repository.question(db, scope, question_id, for_answer=True)
    if found is None:
        trail.record("create", "ConsultFaq", None, "denied", {"question": str(question_id)})
        raise NotFound(_NOT_FOUND, code="question_not_found")
    question, resident_name, _, _ = found
    if question.status != "answered":
        raise Conflict("请先回复该咨询，再设为常见问题", code="question_not_answered")
    public_q = _check_public(data["question"], "question", resident_name)
    public_a = _check_public(data["answer"], "answer", resident_name)
    faq = await repository.faq_of_question(db, question.id)
    now = utcnow()
    if faq is None:
        faq = ConsultFaq(id=uuid.uuid4(), source_question_id=question.id, team_id=question.team_id,
                         category=data.get("category") or question.category, question=public_q, answer=public_a,
                         published=True, created_by=scope.user_id, created_at=now)
        db.add(faq)
        action = "create"
    else:
        faq.question, faq.answer, faq.published, faq.updated_at = public_q, public_a, True, now
        faq.category = data.get("category") or faq.category
        action = "update"
    await db.flush()
    trail.record(action, "ConsultFaq", faq.id, detail={"question": str(question.id)})
    return faq_view(faq)


async def unpublish_faq(db: AsyncSession, trail: AuditSink, scope: AccessScope, faq_id: uuid.UUID
                        ) -> dict[str, Any]:
    faq = await repository.faq_in_reach(db, scope, faq_id)
    if faq is None:
        raise NotFound("常见问题不存在或不是您的团队发布的", code="faq_not_found")
    faq.published = False
    faq.updated_at = utcnow()
    await db.flush()
    trail.record("update", "ConsultFaq", faq.id, detail={"published": False})
    return faq_view(faq)


async def search_faq(db: AsyncSession, q: str | None, category: str | None, offset: int, limit: int
                     ) -> dict[str, Any]:
    """Published FAQ entries (no personal data: not audited)."""
    rows, total = await repository.search_faq(db, q, category, offset, limit)
    return {"items": [faq_view(f) for f in rows], "total": total}
