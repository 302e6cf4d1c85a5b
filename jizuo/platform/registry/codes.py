"""Code lists of the registry: institution level (医院等级) and type, practitioner and team roles.

LEVEL_RANK orders levels for "an institution of the same or higher level" (result mutual recognition,
referral direction). Community centres rank with 一级 hospitals, as in the national grading.
"""

from __future__ import annotations

LEVEL_DISPLAY: dict[str, str] = {
    "3A": "三级甲等", "3B": "三级乙等", "2A": "二级甲等", "2B": "二级乙等", "1": "一级",
    "community": "社区卫生服务中心", "station": "社区卫生服务站", "none": "未定级",
}
LEVEL_DISPLAY_EN: dict[str, str] = {
    "3A": "Tertiary grade A", "3B": "Tertiary grade B", "2A": "Secondary grade A", "2B": "Secondary grade B",
    "1": "Primary", "community": "Community health centre", "station": "Community health station",
    "none": "Not graded",
}
LEVEL_RANK: dict[str, int] = {"3A": 6, "3B": 5, "2A": 4, "2B": 3, "1": 2, "community": 2, "station": 1, "none": 0}

TYPE_DISPLAY: dict[str, str] = {
    "admin": "卫生健康行政部门", "general_hospital": "综合医院", "tcm_hospital": "中医医院",
    "mch_hospital": "妇幼保健院", "community_centre": "社区卫生服务中心", "community_station": "社区卫生服务站",
    "cdc": "疾病预防控制中心",
}

TYPE_DISPLAY_EN: dict[str, str] = {
    "general_hospital": "General hospital", "tcm_hospital": "Traditional Chinese medicine hospital",
    "mch_hospital": "Maternal and child health hospital", "community_centre": "Community health service centre",
    "community_station": "Community health service station", "cdc": "Center for disease control and prevention",
    "admin": "Health commission",
}

CHRONIC_DISPLAY: dict[str, str] = {"hypertension": "高血压", "diabetes_t2": "2型糖尿病", "copd": "慢性阻塞性肺疾病"}

PRACTITIONER_ROLE_DISPLAY: dict[str, str] = {
    "doctor": "医生", "family_doctor": "家庭医生", "nurse": "护士", "pharmacist": "药师",
    "public_health": "公卫医生", "technician": "医技人员",
}

TEAM_ROLE_DISPLAY: dict[str, str] = {
    "family_doctor": "家庭医生（团队长）", "nurse": "社区护士", "public_health": "公卫医生",
    "specialist": "专科医生（1+1+1）",
}


def level_display(code: str) -> str:
    return LEVEL_DISPLAY.get(code, code)


def type_display(code: str) -> str:
    return TYPE_DISPLAY.get(code, code)
