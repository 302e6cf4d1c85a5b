"""The institutions of 江川区 and their departments.

Codes are stable across seeds (JC-H001 is always the general tertiary hospital); only generated details such
as 统一社会信用代码, phone numbers, addresses and the number of stations per centre depend on the seed.
"""

from __future__ import annotations

import random

from jizuo.core.idcard import make_uscc
from jizuo.platform.demo.addresses import STREETS, institution_address, jitter, landline
from jizuo.platform.demo.model import DISTRICT_NAME, DISTRICT_REGION_CODE, Department, Organization

ADMIN_CODE = "JC-A001"
GENERAL_TERTIARY_CODE = "JC-H001"
TCM_TERTIARY_CODE = "JC-H002"
CDC_CODE = "JC-D001"
MCH_CODE = "JC-M001"
CENTRE_COUNT = 10
TEAMS_PER_CENTRE = 4

# (code, name, short name, level, type, index into STREETS for the location)
_HOSPITALS: tuple[tuple[str, str, str, str, str, int], ...] = (
    (GENERAL_TERTIARY_CODE, "江川区中心医院", "区中心医院", "3A", "general_hospital", 0),
    (TCM_TERTIARY_CODE, "江川区中医医院", "区中医医院", "3A", "tcm_hospital", 3),
    ("JC-H003", "江川区第二人民医院", "区二院", "2A", "general_hospital", 4),
    ("JC-H004", "江川区临江医院", "临江医院", "2A", "general_hospital", 1),
    ("JC-H005", "江川区白鹤医院", "白鹤医院", "2B", "general_hospital", 9),
    (MCH_CODE, "江川区妇幼保健院", "区妇幼保健院", "2A", "mch_hospital", 2),
)

# Department lists: (诊疗科目 code, display name). Codes follow the national 医疗机构诊疗科目名录 where a
# subject exists (03 内科, 03.04 心血管内科 …); two-letter codes are local for units that are not 诊疗科目
# (药剂科, 安宁疗护) or that a CDC/commission has instead of clinical subjects.
_GENERAL_HOSPITAL_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("03", "内科"), ("03.04", "心血管内科"), ("03.07", "内分泌科"), ("03.01", "呼吸内科"),
    ("03.02", "消化内科"), ("03.03", "神经内科"), ("03.06", "肾内科"), ("04", "外科"), ("04.01", "普外科"),
    ("04.03", "骨科"), ("04.04", "泌尿外科"), ("05", "妇产科"), ("07", "儿科"), ("10", "眼科"),
    ("11", "耳鼻咽喉科"), ("12", "口腔科"), ("13", "皮肤科"), ("19", "肿瘤科"), ("20", "急诊科"),
    ("21", "康复医学科"), ("26", "麻醉科"), ("28", "重症医学科"), ("30", "检验科"), ("31", "病理科"),
    ("32", "放射科"), ("32.07", "超声科"), ("YJ", "药剂科"), ("AN", "安宁疗护科"),
)  # fmt: skip
_SECONDARY_OMITTED = frozenset({"19", "28", "31", "03.06", "04.04"})
_TCM_HOSPITAL_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("50.01", "中医内科"), ("50.02", "中医外科"), ("50.03", "中医妇科"), ("50.04", "中医儿科"),
    ("50.10", "中医骨伤科"), ("50.13", "针灸科"), ("50.14", "推拿科"), ("03", "内科"),
    ("03.04", "心血管内科"), ("03.07", "内分泌科"), ("03.01", "呼吸内科"), ("03.03", "神经内科"),
    ("20", "急诊科"), ("21", "康复医学科"), ("30", "检验科"), ("32", "放射科"), ("32.07", "超声科"),
    ("YJ", "药剂科"), ("AN", "安宁疗护科"),
)  # fmt: skip
_MCH_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("05.01", "妇科"), ("05.02", "产科"), ("06", "妇女保健科"), ("07", "儿科"), ("07.06", "新生儿科"),
    ("09", "儿童保健科"), ("26", "麻醉科"), ("20", "急诊科"), ("30", "检验科"), ("32.07", "超声科"),
    ("YJ", "药剂科"),
)  # fmt: skip
_CENTRE_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("02", "全科"), ("50", "中医科"), ("21", "康复科"), ("01", "预防保健科"), ("30", "检验科"),
    ("YF", "药房"), ("AN", "安宁疗护"),
)  # fmt: skip
_STATION_DEPARTMENTS: tuple[tuple[str, str], ...] = (("02", "全科诊室"),)
_CDC_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("CD", "传染病防制科"), ("IM", "免疫规划科"), ("NC", "慢性非传染性疾病防制科"), ("30", "卫生检验科"),
    ("HE", "健康教育科"),
)  # fmt: skip
_ADMIN_DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("BG", "办公室"), ("YZ", "医政医管科"), ("JC", "基层卫生健康科"), ("JK", "疾病预防控制科"),
    ("GH", "规划发展与信息化科"),
)  # fmt: skip

# 事业单位 (public institutions such as hospitals) register with 机构编制 as type '12'; 机关 (government
# bodies such as the commission) as '11'.
_USCC_PUBLIC_INSTITUTION = "12"
_USCC_GOVERNMENT_BODY = "11"


def centre_code(index: int) -> str:
    """Code of the index-th (0-based) community health service centre: JC-C001 … JC-C010."""
    return f"JC-C{index + 1:03d}"


def station_code(centre_index: int, station_number: int) -> str:
    """JC-S003-02 is the second station of centre JC-C003."""
    return f"JC-S{centre_index + 1:03d}-{station_number:02d}"


def team_code(centre: str, number: int) -> str:
    """JC-C001-T1 … JC-C001-T4; codes do not depend on the seed so residents can be generated alone."""
    return f"{centre}-T{number}"


def department_code(org_code: str, subject: str) -> str:
    return f"{org_code}-{subject}"


def _organization(
    rng: random.Random,
    code: str,
    name: str,
    short_name: str,
    level: str,
    type_: str,
    parent_code: str | None,
    street_index: int,
    uscc_type: str = _USCC_PUBLIC_INSTITUTION,
) -> Organization:
    area = STREETS[street_index]
    return Organization(
        code=code,
        uscc=make_uscc(rng, DISTRICT_REGION_CODE, uscc_type),
        name=name,
        short_name=short_name,
        level=level,
        type=type_,
        parent_code=parent_code,
        address=institution_address(rng, area),
        phone=landline(rng),
        latitude=jitter(rng, area.latitude),
        longitude=jitter(rng, area.longitude),
    )


def build_organizations(rng: random.Random) -> list[Organization]:
    """Commission (root), hospitals, CDC, then each centre followed by its 2–5 stations."""
    orgs = [
        _organization(rng, ADMIN_CODE, f"{DISTRICT_NAME}卫生健康委员会", "区卫健委", "none", "admin", None, 0,
                      _USCC_GOVERNMENT_BODY),
    ]  # fmt: skip
    for code, name, short_name, level, type_, street_index in _HOSPITALS:
        orgs.append(_organization(rng, code, name, short_name, level, type_, ADMIN_CODE, street_index))
    orgs.append(
        _organization(
            rng, CDC_CODE, f"{DISTRICT_NAME}疾病预防控制中心", "区疾控中心", "none", "cdc", ADMIN_CODE, 5
        )
    )
    for index, area in enumerate(STREETS[:CENTRE_COUNT]):
        code = centre_code(index)
        orgs.append(
            _organization(rng, code, f"{DISTRICT_NAME}{area.name}社区卫生服务中心", f"{area.name}社区中心",
                          "community", "community_centre", ADMIN_CODE, index)
        )  # fmt: skip
        # Each station sits in (and is named after) one of the street's communities.
        station_count = rng.randint(2, min(5, len(area.communities)))
        for number, community in enumerate(area.communities[:station_count], start=1):
            orgs.append(
                _organization(rng, station_code(index, number),
                              f"{DISTRICT_NAME}{area.name}{community}社区卫生服务站", f"{community}站",
                              "station", "community_station", code, index)
            )  # fmt: skip
    return orgs


def _department_template(org: Organization) -> tuple[tuple[str, str], ...]:
    if org.type == "general_hospital":
        if org.level.startswith("3"):
            return _GENERAL_HOSPITAL_DEPARTMENTS
        return tuple(dept for dept in _GENERAL_HOSPITAL_DEPARTMENTS if dept[0] not in _SECONDARY_OMITTED)
    templates = {
        "tcm_hospital": _TCM_HOSPITAL_DEPARTMENTS,
        "mch_hospital": _MCH_DEPARTMENTS,
        "community_centre": _CENTRE_DEPARTMENTS,
        "community_station": _STATION_DEPARTMENTS,
        "cdc": _CDC_DEPARTMENTS,
        "admin": _ADMIN_DEPARTMENTS,
    }
    return templates[org.type]


def department_subjects(org: Organization) -> list[str]:
    """The 诊疗科目 codes (without org prefix) of an institution's departments."""
    return [subject for subject, _ in _department_template(org)]


def build_departments(orgs: list[Organization]) -> list[Department]:
    return [
        Department(org_code=org.code, code=department_code(org.code, subject), name=name)
        for org in orgs
        for subject, name in _department_template(org)
    ]
