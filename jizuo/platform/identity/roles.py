"""The platform's roles and what each may do. Roles are code, not data: scope rules depend on them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    DISTRICT_ADMIN = "district_admin"
    REGULATOR = "regulator"
    INSTITUTION_ADMIN = "institution_admin"
    DOCTOR = "doctor"
    FAMILY_DOCTOR = "family_doctor"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    RESIDENT = "resident"


class Permission(StrEnum):
    ORG_READ = "org:read"
    ORG_WRITE = "org:write"  # the whole registry: institutions, departments, staff, teams
    REGISTRY_WRITE_OWN = "registry:write_own"  # own institution's departments, staff, teams; its address/phone
    PRACTITIONER_READ = "practitioner:read"
    RESIDENT_READ = "resident:read"
    USER_READ = "user:read"
    USER_WRITE = "user:write"
    AUDIT_READ = "audit:read"
    STATS_READ = "stats:read"
    INGEST_WRITE = "ingest:write"        # upload data sets / messages for an institution
    QUALITY_READ = "quality:read"        # receipts, quarantine, scorecards
    QUALITY_FIX = "quality:fix"          # fix, release or discard quarantined records
    CITY_UPLOAD = "city:upload"          # send accepted data to the city platform
    MPI_STEWARD = "mpi:steward"          # master patient index: review queue, link/unlink/merge/split/revert
    STANDARDS_READ = "standards:read"    # data-standard catalogue: data sets, elements, value domains
    STANDARDS_WRITE = "standards:write"  # new elements, value domains, data sets and their versions
    RECOGNITION_CHECK = "recognition:check"  # 检查检验结果互认: check an order, see prior results, decide
    RECOGNITION_ADMIN = "recognition:admin"  # 互认项目目录与互认机构
    REFERRAL_READ = "referral:read"      # 双向转诊: own institution's inbox/outbox, details, follow-up tasks
    REFERRAL_WRITE = "referral:write"    # create, accept, reject, schedule, complete referrals
    CHRONIC_CARE = "chronic:care"        # 慢病管理: own team's alerts, registered patients, follow-ups, readings
    CONSULT_ANSWER = "consult:answer"    # 问医生: own teams' residents' questions, answers, FAQ entries


@dataclass(frozen=True)
class RoleInfo:
    code: Role
    name: str
    name_en: str
    description: str
    permissions: frozenset[Permission]


_STAFF = frozenset({Permission.ORG_READ, Permission.PRACTITIONER_READ, Permission.RESIDENT_READ,
                    Permission.STATS_READ, Permission.STANDARDS_READ})

ROLES: dict[Role, RoleInfo] = {r.code: r for r in [
    RoleInfo(Role.DISTRICT_ADMIN, "区级管理员", "District administrator",
             "管理全区机构、人员、账号与审计", frozenset(Permission)),
    RoleInfo(Role.REGULATOR, "卫健委监管", "Regulator (health commission)",
             "只读查看全区统计与审计，不可查看个人明细", frozenset({
                 Permission.ORG_READ, Permission.PRACTITIONER_READ, Permission.STATS_READ,
                 Permission.AUDIT_READ, Permission.QUALITY_READ, Permission.STANDARDS_READ})),
    RoleInfo(Role.INSTITUTION_ADMIN, "机构管理员", "Institution administrator",
             "管理本机构的账号与人员，查看本机构审计", _STAFF | {
                 Permission.USER_READ, Permission.USER_WRITE, Permission.AUDIT_READ,
                 Permission.INGEST_WRITE, Permission.QUALITY_READ, Permission.QUALITY_FIX,
                 Permission.REGISTRY_WRITE_OWN,
                 Permission.MPI_STEWARD}),  # own institution's records only (jizuo/platform/mpi/reach.py)
    RoleInfo(Role.DOCTOR, "医生", "Doctor", "本机构就诊患者的诊疗", _STAFF | {Permission.RECOGNITION_CHECK,
             Permission.REFERRAL_READ, Permission.REFERRAL_WRITE}),
    RoleInfo(Role.FAMILY_DOCTOR, "家庭医生", "Family doctor", "本团队签约居民的健康管理",
             _STAFF | {Permission.RECOGNITION_CHECK, Permission.REFERRAL_READ, Permission.REFERRAL_WRITE,
                       Permission.CHRONIC_CARE, Permission.CONSULT_ANSWER}),
    RoleInfo(Role.NURSE, "护士", "Nurse", "本机构护理与随访", _STAFF | {Permission.REFERRAL_READ,
                                                                  Permission.CHRONIC_CARE,
                                                                  Permission.CONSULT_ANSWER}),
    RoleInfo(Role.PHARMACIST, "药师", "Pharmacist", "处方审核与用药服务", _STAFF),
    RoleInfo(Role.RESIDENT, "居民", "Resident", "查看本人健康信息", frozenset({Permission.RESIDENT_READ})),
]}


def role_info(code: str) -> RoleInfo:
    return ROLES[Role(code)]
