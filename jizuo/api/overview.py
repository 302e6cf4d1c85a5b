"""Console dashboard counts and the health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.platform.identity import repository as identity_repository
from jizuo.platform.identity.roles import Permission
from jizuo.platform.registry import repository as registry_repository
from jizuo.platform.registry.codes import LEVEL_RANK, level_display
from jizuo.platform.registry.models import CareTeam, Organization
from jizuo.platform.registry.schemas import LevelCount, Overview
from jizuo.platform.request import ScopeDep, UnitDep
from jizuo.platform.residents import repository as resident_repository

router = APIRouter(tags=["概览 overview"])


@router.get("/healthz", summary="健康检查")
async def healthz(request: Request) -> dict[str, str]:
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    try:
        async with factory() as db:
            await db.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # the check reports, it does not fail the probe's parser
        database = "unavailable"
    return {"status": "ok" if database == "ok" else "degraded", "database": database}


@router.get("/api/v1/stats/overview", response_model=Overview, summary="全区概况（汇总数，不含个人信息）")
async def overview(scope: ScopeDep, unit: UnitDep) -> Overview:
    scope.require(Permission.STATS_READ)
    residents, signed = await resident_repository.count_residents(unit.db)
    return Overview(
        organizations=await registry_repository.count_rows(unit.db, Organization),
        practitioners=await registry_repository.count_practitioners(unit.db),
        teams=await registry_repository.count_rows(unit.db, CareTeam),
        residents=residents, signed_residents=signed,
        users=await identity_repository.count_users(unit.db),
        by_level=[LevelCount(level=level, level_display=level_display(level), count=count)
                  for level, count in sorted(await registry_repository.counts_by_level(unit.db),
                                             key=lambda row: (-LEVEL_RANK.get(row[0], 0), row[0]))])
