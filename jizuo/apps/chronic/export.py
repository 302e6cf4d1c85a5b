"""The chronic-care indicators as an Excel workbook: 慢病管理指标 (管理率, 规范管理率, 控制率, 随访完成率) per team,
centre or district; 签约指标 (签约率, 续约率, 组合内就诊率); and, for callers who may see personal data, the
overdue follow-up list, in the district's report layout (jizuo/core/xlsx.py, as the data-quality monthly report)."""

from __future__ import annotations

from typing import Any

from openpyxl import Workbook

from jizuo.apps.chronic import rules
from jizuo.core.xlsx import Columns, workbook_bytes, write_table

CHRONIC_COLUMNS = [("name", "分组"), ("disease_label", "病种"), ("known_patients", "已知患者"), ("managed", "管理人数"),
                   ("management_rate", "管理率"), ("standardized", "规范管理人数"),
                   ("standardized_rate", "规范管理率"), ("controlled", "控制人数"), ("control_rate", "控制率"),
                   ("followups_due", "应随访"), ("followups_done", "已随访"), ("followup_completion", "随访完成率")]
SIGNING_COLUMNS = [("name", "分组"), ("population", "常住居民"), ("signed", "签约人数"), ("signing_rate", "签约率"),
                   ("elderly_signing_rate", "老年人签约率"), ("hypertension_signing_rate", "高血压签约率"),
                   ("diabetes_signing_rate", "糖尿病签约率"), ("due_for_renewal", "到期"), ("renewed", "已续约"),
                   ("renewal_rate", "续约率"), ("encounters", "就诊人次"), ("encounters_inside", "组合内就诊"),
                   ("combination_visit_rate", "组合内就诊率")]
OVERDUE_COLUMNS = [("resident_name", "居民"), ("disease_label", "病种"), ("due_on", "应随访日期"),
                   ("days_overdue", "逾期天数")]
LEVELS = {"team": "团队", "centre": "社区卫生服务中心", "district": "全区"}


def _rates(columns: Columns) -> set[str]:
    return {key for key, _label in columns if key.endswith("rate") or key == "followup_completion"}


def workbook(year: int, level: str, chronic: list[dict[str, Any]], signing: list[dict[str, Any]],
             overdue: list[dict[str, Any]] | None) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    first.title = "慢病管理指标"
    label = LEVELS.get(level, level)
    write_table(first, f"{year} 年慢病管理指标（按{label}）", CHRONIC_COLUMNS,
                [{**r, "disease_label": rules.MANAGED.get(r["disease"], r["disease"])} for r in chronic],
                _rates(CHRONIC_COLUMNS))
    write_table(book.create_sheet("签约指标"), f"{year} 年家庭医生签约指标（按{label}）", SIGNING_COLUMNS, signing,
                _rates(SIGNING_COLUMNS))
    if overdue is not None:
        write_table(book.create_sheet("逾期未随访名单"), "逾期未随访名单", OVERDUE_COLUMNS,
                    [{**r, "disease_label": rules.MANAGED.get(r["disease"], r["disease"])} for r in overdue],
                    _rates(OVERDUE_COLUMNS))
    return workbook_bytes(book)
