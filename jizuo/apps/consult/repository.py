"""Every query of 问医生. Questions are filtered by the caller's reach (`question_condition`): a resident sees
their own, a team member their teams' residents', the district administrator all."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.consult.models import ConsultFaq, ConsultQuestion
from jizuo.core.errors import PermissionDenied
from jizuo.platform.identity.access import AccessScope, Reach
from jizuo.platform.identity.models import User
from jizuo.platform.identity.roles import Permission
from jizuo.platform.registry.models import CareTeam, CareTeamMember
from jizuo.platform.residents.models import Resident


def team_condition(scope: AccessScope) -> ColumnElement[bool]:
    """The questions a team member may see and answer: those of the residents signed with their teams."""
    scope.require(Permission.CONSULT_ANSWER)
    if scope.personal_data_reach == Reach.DISTRICT:
        return true()
    return ConsultQuestion.team_id.in_(list(scope.team_ids)) if scope.team_ids else false()


def question_condition(scope: AccessScope) -> ColumnElement[bool]:
    """A resident: their own questions; staff: their teams' (see `team_condition`)."""
    if scope.resident_id is not None:
        return ConsultQuestion.resident_id == scope.resident_id
    if not scope.can(Permission.CONSULT_ANSWER):
        raise PermissionDenied("当前角色无权查看居民咨询", code="consult_forbidden")
    return team_condition(scope)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def team_recipients(db: AsyncSession, team_id: uuid.UUID) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """The team's members: (their active user accounts, members without an account)."""
    rows = (await db.execute(
        select(CareTeamMember.practitioner_id, User.id)
        .outerjoin(User, and_(User.practitioner_id == CareTeamMember.practitioner_id, User.active.is_(True)))
        .where(CareTeamMember.team_id == team_id))).all()
    users = [u for _, u in rows if u is not None]
    practitioners = [p for p, u in rows if u is None]
    return users, practitioners


async def resident_users(db: AsyncSession, resident_id: uuid.UUID) -> list[uuid.UUID]:
    return list((await db.scalars(select(User.id).where(User.resident_id == resident_id,
                                                        User.active.is_(True)))).all())


def _question_query() -> Any:
    return (select(ConsultQuestion, Resident.name, CareTeam.name, ConsultFaq.id)
            .join(Resident, Resident.id == ConsultQuestion.resident_id)
            .join(CareTeam, CareTeam.id == ConsultQuestion.team_id)
            .outerjoin(ConsultFaq, ConsultFaq.source_question_id == ConsultQuestion.id))


async def list_questions(db: AsyncSession, scope: AccessScope, status: str | None, category: str | None,
                         q: str | None, offset: int, limit: int
                         ) -> tuple[list[tuple[ConsultQuestion, str, str, uuid.UUID | None]], int, int]:
    reach = question_condition(scope)
    where: list[ColumnElement[bool]] = [reach]
    if category:
        where.append(ConsultQuestion.category == category)
    if q:
        pattern = f"%{escape_like(q)}%"
        where.append(or_(ConsultQuestion.text.ilike(pattern, escape="\\"),
                         ConsultQuestion.answer.ilike(pattern, escape="\\")))
    shown = [*where, ConsultQuestion.status == status] if status else where
    total = await db.scalar(select(func.count()).select_from(ConsultQuestion).where(*shown)) or 0
    open_count = await db.scalar(select(func.count()).select_from(ConsultQuestion)
                                 .where(*where, ConsultQuestion.status == "open")) or 0
    order = (ConsultQuestion.created_at.asc() if status == "open" else ConsultQuestion.created_at.desc())
    rows = (await db.execute(_question_query().where(*shown).order_by(order, ConsultQuestion.id)
                             .offset(offset).limit(limit))).all()
    return [(qq, rn, tn, f) for qq, rn, tn, f in rows], int(total), int(open_count)


async def question(db: AsyncSession, scope: AccessScope, question_id: uuid.UUID, *, for_answer: bool = False
                   ) -> tuple[ConsultQuestion, str, str, uuid.UUID | None] | None:
    reach = team_condition(scope) if for_answer else question_condition(scope)
    query = _question_query().where(ConsultQuestion.id == question_id, reach)
    if for_answer:
        query = query.with_for_update(of=ConsultQuestion)
    row = (await db.execute(query)).first()
    return (row[0], row[1], row[2], row[3]) if row else None


async def open_count_of(db: AsyncSession, resident_id: uuid.UUID) -> int:
    return int(await db.scalar(select(func.count()).select_from(ConsultQuestion).where(
        ConsultQuestion.resident_id == resident_id, ConsultQuestion.status == "open")) or 0)


async def team_name(db: AsyncSession, team_id: uuid.UUID) -> str | None:
    return await db.scalar(select(CareTeam.name).where(CareTeam.id == team_id))


async def faq_of_question(db: AsyncSession, question_id: uuid.UUID) -> ConsultFaq | None:
    return await db.scalar(select(ConsultFaq).where(ConsultFaq.source_question_id == question_id))


async def faq_in_reach(db: AsyncSession, scope: AccessScope, faq_id: uuid.UUID) -> ConsultFaq | None:
    scope.require(Permission.CONSULT_ANSWER)
    query = select(ConsultFaq).where(ConsultFaq.id == faq_id)
    if scope.personal_data_reach != Reach.DISTRICT:
        query = query.where(ConsultFaq.team_id.in_(list(scope.team_ids)) if scope.team_ids else false())
    return await db.scalar(query.with_for_update())


async def search_faq(db: AsyncSession, q: str | None, category: str | None, offset: int, limit: int
                     ) -> tuple[list[ConsultFaq], int]:
    """Published entries whose question or answer contains every word of `q` (ILIKE: no index is needed at
    the size of a district's FAQ; pg_trgm would be the next step)."""
    where: list[ColumnElement[bool]] = [ConsultFaq.published.is_(True)]
    if category:
        where.append(ConsultFaq.category == category)
    for word in (q or "").split()[:8]:
        pattern = f"%{escape_like(word)}%"
        where.append(or_(ConsultFaq.question.ilike(pattern, escape="\\"),
                         ConsultFaq.answer.ilike(pattern, escape="\\")))
    total = await db.scalar(select(func.count()).select_from(ConsultFaq).where(*where)) or 0
    rows = await db.scalars(select(ConsultFaq).where(*where)
                            .order_by(func.coalesce(ConsultFaq.updated_at, ConsultFaq.created_at).desc(),
                                      ConsultFaq.id).offset(offset).limit(limit))
    return list(rows), int(total)
