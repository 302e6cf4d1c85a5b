"""Registry API: institutions (list, detail, tree by level), departments, practitioners and family-doctor
teams — read, and edited with a change history and a FHIR write-through (docs/registry.md).

Edits of existing rows take the version the client read, as `version` in the body or an `If-Match` header;
responses carry the new one in the body and in `ETag`."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response, status

from jizuo.core.pagination import Page, PageParams, page_params
from jizuo.core.security import get_field_cipher
from jizuo.platform.registry import editing, service, staff_editing
from jizuo.platform.registry.rules import etag
from jizuo.platform.registry.schemas import (
    ChangeOut,
    Deactivate,
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    LevelGroup,
    OrganizationCreate,
    OrganizationDetail,
    OrganizationOut,
    OrganizationUpdate,
    PractitionerCreate,
    PractitionerDetail,
    PractitionerOut,
    PractitionerUpdate,
    TeamCreate,
    TeamMemberAdd,
    TeamOut,
    TeamUpdate,
)
from jizuo.platform.request import ScopeDep, UnitDep

router = APIRouter(prefix="/api/v1", tags=["机构与人员 registry"])

Paging = Annotated[PageParams, Depends(page_params)]
Keyword = Annotated[str | None, Query(max_length=64, description="名称或编码关键字")]
IfMatch = Annotated[str | None, Header(description='读取时的版本，如 W/"3"（也可用请求体 version 字段）')]


@router.get("/organizations", response_model=Page[OrganizationOut], summary="机构列表")
async def list_organizations(scope: ScopeDep, unit: UnitDep, paging: Paging,
                             level: Annotated[str | None, Query(max_length=16, description="级别，如 3A")] = None,
                             type: Annotated[str | None, Query(max_length=32, description="类型")] = None,
                             q: Keyword = None, parent_id: uuid.UUID | None = None) -> Page[OrganizationOut]:
    items, total = await service.list_organizations(unit.db, scope, level=level, type_=type, q=q,
                                                    parent_id=parent_id, offset=paging.offset,
                                                    limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/organizations/tree", response_model=list[LevelGroup], summary="按级别的机构树")
async def organization_tree(scope: ScopeDep, unit: UnitDep) -> list[LevelGroup]:
    return await service.organization_tree(unit.db, scope)


@router.get("/organizations/{organization_id}", response_model=OrganizationDetail, summary="机构详情")
async def organization_detail(organization_id: uuid.UUID, scope: ScopeDep, unit: UnitDep,
                              response: Response) -> OrganizationDetail:
    detail = await service.organization_detail(unit.db, scope, organization_id)
    response.headers["ETag"] = etag(detail.version)
    return detail


@router.post("/organizations", response_model=OrganizationOut, status_code=status.HTTP_201_CREATED,
             summary="新建机构（区级管理员）")
async def create_organization(body: OrganizationCreate, scope: ScopeDep, unit: UnitDep,
                              response: Response) -> OrganizationOut:
    org = await editing.create_organization(unit.db, unit.trail, scope, get_field_cipher(), body)
    await unit.commit()
    return _organization_response(response, await _with_parent_name(unit, org.id))


@router.patch("/organizations/{organization_id}", response_model=OrganizationOut,
              summary="修改机构（编码不可改；机构管理员只能改本机构地址、电话、简称）")
async def update_organization(organization_id: uuid.UUID, body: OrganizationUpdate, scope: ScopeDep,
                              unit: UnitDep, response: Response, if_match: IfMatch = None) -> OrganizationOut:
    await editing.update_organization(unit.db, unit.trail, scope, get_field_cipher(), organization_id, body,
                                      if_match)
    await unit.commit()
    return _organization_response(response, await _with_parent_name(unit, organization_id))


@router.post("/organizations/{organization_id}/deactivate", response_model=OrganizationOut,
             summary="停用机构（不删除；下属机构须先停用）")
async def deactivate_organization(organization_id: uuid.UUID, scope: ScopeDep, unit: UnitDep, response: Response,
                                  body: Deactivate | None = None, if_match: IfMatch = None) -> OrganizationOut:
    await editing.set_organization_active(unit.db, unit.trail, scope, get_field_cipher(), organization_id, False,
                                          if_match, body.version if body else None)
    await unit.commit()
    return _organization_response(response, await _with_parent_name(unit, organization_id))


@router.post("/organizations/{organization_id}/reactivate", response_model=OrganizationOut, summary="重新启用机构")
async def reactivate_organization(organization_id: uuid.UUID, scope: ScopeDep, unit: UnitDep, response: Response,
                                  body: Deactivate | None = None, if_match: IfMatch = None) -> OrganizationOut:
    await editing.set_organization_active(unit.db, unit.trail, scope, get_field_cipher(), organization_id, True,
                                          if_match, body.version if body else None)
    await unit.commit()
    return _organization_response(response, await _with_parent_name(unit, organization_id))


async def _with_parent_name(unit: UnitDep, organization_id: uuid.UUID) -> OrganizationOut:
    return await service.organization_summary(unit.db, organization_id)


def _organization_response(response: Response, out: OrganizationOut) -> OrganizationOut:
    response.headers["ETag"] = etag(out.version)
    return out


@router.post("/organizations/{organization_id}/departments", response_model=DepartmentOut,
             status_code=status.HTTP_201_CREATED, summary="新增科室")
async def create_department(organization_id: uuid.UUID, body: DepartmentCreate, scope: ScopeDep,
                            unit: UnitDep) -> DepartmentOut:
    department = await editing.create_department(unit.db, unit.trail, scope, organization_id, body)
    await unit.commit()
    return DepartmentOut(id=department.id, code=department.code, name=department.name, version=department.version)


@router.patch("/departments/{department_id}", response_model=DepartmentOut, summary="修改科室（编码不可改）")
async def update_department(department_id: uuid.UUID, body: DepartmentUpdate, scope: ScopeDep, unit: UnitDep,
                            response: Response, if_match: IfMatch = None) -> DepartmentOut:
    department = await editing.update_department(unit.db, unit.trail, scope, get_field_cipher(), department_id,
                                                 body, if_match)
    await unit.commit()
    response.headers["ETag"] = etag(department.version)
    return DepartmentOut(id=department.id, code=department.code, name=department.name, version=department.version)


@router.get("/practitioners", response_model=Page[PractitionerOut], summary="医务人员列表")
async def list_practitioners(scope: ScopeDep, unit: UnitDep, paging: Paging,
                             organization_id: uuid.UUID | None = None,
                             role: Annotated[str | None, Query(max_length=32)] = None,
                             q: Keyword = None) -> Page[PractitionerOut]:
    items, total = await service.list_practitioners(unit.db, unit.trail, scope, organization_id=organization_id,
                                                    role=role, q=q, offset=paging.offset, limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/practitioners/{practitioner_id}", response_model=PractitionerDetail, summary="医务人员详情")
async def practitioner_detail(practitioner_id: uuid.UUID, scope: ScopeDep, unit: UnitDep,
                              response: Response) -> PractitionerDetail:
    detail = await service.practitioner_detail(unit.db, unit.trail, scope, get_field_cipher(), practitioner_id)
    response.headers["ETag"] = etag(detail.version)
    return detail


@router.post("/practitioners", response_model=PractitionerDetail, status_code=status.HTTP_201_CREATED,
             summary="新增医务人员（身份证、手机号加密保存）")
async def create_practitioner(body: PractitionerCreate, scope: ScopeDep, unit: UnitDep,
                              response: Response) -> PractitionerDetail:
    person = await staff_editing.create_practitioner(unit.db, unit.trail, scope, get_field_cipher(), body)
    await unit.commit()
    return await practitioner_detail(person.id, scope, unit, response)


@router.patch("/practitioners/{practitioner_id}", response_model=PractitionerDetail,
              summary="修改医务人员（工号不可改；active=false 停用）")
async def update_practitioner(practitioner_id: uuid.UUID, body: PractitionerUpdate, scope: ScopeDep,
                              unit: UnitDep, response: Response, if_match: IfMatch = None) -> PractitionerDetail:
    await staff_editing.update_practitioner(unit.db, unit.trail, scope, get_field_cipher(), practitioner_id, body,
                                            if_match)
    await unit.commit()
    return await practitioner_detail(practitioner_id, scope, unit, response)


@router.get("/teams", response_model=Page[TeamOut], summary="家庭医生团队")
async def list_teams(scope: ScopeDep, unit: UnitDep, paging: Paging,
                     organization_id: uuid.UUID | None = None) -> Page[TeamOut]:
    items, total = await service.list_teams(unit.db, unit.trail, scope, organization_id=organization_id,
                                            offset=paging.offset, limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)


@router.get("/teams/{team_id}", response_model=TeamOut, summary="家庭医生团队详情")
async def team_detail(team_id: uuid.UUID, scope: ScopeDep, unit: UnitDep, response: Response) -> TeamOut:
    team = await service.team_detail(unit.db, unit.trail, scope, team_id)
    response.headers["ETag"] = etag(team.version)
    return team


@router.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED, summary="新建家庭医生团队")
async def create_team(body: TeamCreate, scope: ScopeDep, unit: UnitDep, response: Response) -> TeamOut:
    team = await staff_editing.create_team(unit.db, unit.trail, scope, get_field_cipher(), body)
    await unit.commit()
    return await team_detail(team.id, scope, unit, response)


@router.patch("/teams/{team_id}", response_model=TeamOut, summary="修改团队（名称、团队长、停用）")
async def update_team(team_id: uuid.UUID, body: TeamUpdate, scope: ScopeDep, unit: UnitDep, response: Response,
                      if_match: IfMatch = None) -> TeamOut:
    await staff_editing.update_team(unit.db, unit.trail, scope, get_field_cipher(), team_id, body, if_match)
    await unit.commit()
    return await team_detail(team_id, scope, unit, response)


@router.post("/teams/{team_id}/members", response_model=TeamOut, summary="添加团队成员")
async def add_team_member(team_id: uuid.UUID, body: TeamMemberAdd, scope: ScopeDep, unit: UnitDep,
                          response: Response, if_match: IfMatch = None) -> TeamOut:
    await staff_editing.add_member(unit.db, unit.trail, scope, get_field_cipher(), team_id, body, if_match)
    await unit.commit()
    return await team_detail(team_id, scope, unit, response)


@router.delete("/teams/{team_id}/members/{practitioner_id}", response_model=TeamOut, summary="移除团队成员")
async def remove_team_member(team_id: uuid.UUID, practitioner_id: uuid.UUID, scope: ScopeDep, unit: UnitDep,
                             response: Response, if_match: IfMatch = None,
                             version: Annotated[int | None, Query(ge=1, description="团队读取时的版本号")] = None
                             ) -> TeamOut:
    await staff_editing.remove_member(unit.db, unit.trail, scope, get_field_cipher(), team_id, practitioner_id,
                                      if_match, version)
    await unit.commit()
    return await team_detail(team_id, scope, unit, response)


@router.get("/registry/changes", response_model=Page[ChangeOut], summary="机构与人员变更记录（新的在前）")
async def list_changes(scope: ScopeDep, unit: UnitDep, paging: Paging,
                       entity_type: Annotated[Literal["organization", "department", "practitioner", "team"] | None,
                                              Query(description="organization / department / practitioner / team")
                                              ] = None,
                       entity_id: uuid.UUID | None = None,
                       organization_id: Annotated[uuid.UUID | None, Query(
                           description="某机构自身及其科室、人员、团队的变更")] = None) -> Page[ChangeOut]:
    items, total = await service.list_changes(unit.db, unit.trail, scope, entity_type=entity_type,
                                              entity_id=entity_id, organization_id=organization_id,
                                              offset=paging.offset, limit=paging.page_size)
    return Page(items=items, total=total, page=paging.page, page_size=paging.page_size)
