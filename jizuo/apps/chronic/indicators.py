"""Chronic-care indicators per team, centre or district for one calendar year (规范 第三版 考核指标).

For each disease (hypertension, type 2 diabetes, COPD) and group:

- 管理率 management rate = managed / known patients. Known patients: residents whose record lists the disease
  (the register's stand-in for 辖区内患者总人数); managed: patients registered (active) before the year ends.
- 规范管理率 standardised-management rate = standardised / managed. Standardised: at least the planned number
  of follow-ups done in the year (4; COPD 2).
- 血压/血糖控制率 control rate = controlled / managed. Controlled: the latest follow-up done in the year meets
  the target (BP < 140/90 mmHg; fasting glucose < 7.0 mmol/L; COPD: stable, no exacerbation). A patient
  without a follow-up in the year counts in the denominator, not the numerator.
- 随访完成率 follow-up completion = done / due. Due: follow-ups due in the year up to today; done: those of them
  completed.

A rate with a zero denominator is null (shown "—"), not 0 %.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import repository, rules
from jizuo.core.clock import utcnow
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission


@dataclass
class Tally:
    known: int = 0
    managed: int = 0
    standardized: int = 0
    controlled: int = 0
    due: int = 0
    done: int = 0


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


async def compute(db: AsyncSession, scope: AccessScope, year: int, level: str,
                  team_ids: list[uuid.UUID] | None = None) -> dict[str, Any]:
    scope.require(Permission.STATS_READ)
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    due_until = min(end, utcnow().date() + timedelta(days=1))
    known, patients, followups = await repository.cohort(db, scope, start, end, team_ids)
    teams = {t.id: t for t in await repository.teams(db, None if team_ids is None else team_ids)}

    def group_of(team_id: uuid.UUID | None) -> str | None:
        if level == "district":
            return "district"
        if team_id is None or team_id not in teams:
            return None
        return str(team_id if level == "team" else teams[team_id].organization_id)

    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for team_id, chronic in known:
        group = group_of(team_id)
        for disease in chronic:
            if group is not None and disease in rules.MANAGED:
                tallies[(group, disease)].known += 1
    group_of_patient: dict[uuid.UUID, tuple[str, str]] = {}
    for patient_id, team_id, disease in patients:
        group = group_of(team_id)
        if group is not None:
            group_of_patient[patient_id] = (group, disease)
            tallies[(group, disease)].managed += 1
    done_count: dict[uuid.UUID, int] = defaultdict(int)
    latest: dict[uuid.UUID, tuple[date, bool]] = {}
    for patient_id, status, due_on, done_on, cls, sbp, dbp, glucose in followups:
        key = group_of_patient.get(patient_id)
        if key is None:
            continue
        if start <= due_on < due_until:
            tallies[key].due += 1
            tallies[key].done += status == "done"
        if status == "done" and done_on is not None and start <= done_on < end:
            done_count[patient_id] += 1
            ok = cls == "satisfied" if key[1] == "copd" else bool(rules.controlled(key[1], sbp, dbp, glucose))
            if patient_id not in latest or done_on >= latest[patient_id][0]:
                latest[patient_id] = (done_on, ok)
    for patient_id, key in group_of_patient.items():
        tallies[key].standardized += done_count[patient_id] >= rules.PLANS[key[1]][0]
        tallies[key].controlled += latest.get(patient_id, (start, False))[1]

    names = await _names(db, level, teams, {g for g, _ in tallies})
    rows = [{"key": group, "name": names.get(group, group), "disease": disease, "known_patients": t.known,
             "managed": t.managed, "standardized": t.standardized, "controlled": t.controlled,
             "followups_due": t.due, "followups_done": t.done, "management_rate": _rate(t.managed, t.known),
             "standardized_rate": _rate(t.standardized, t.managed), "control_rate": _rate(t.controlled, t.managed),
             "followup_completion": _rate(t.done, t.due)}
            for (group, disease), t in sorted(tallies.items())]
    return {"year": year, "level": level, "rows": rows}


async def _names(db: AsyncSession, level: str, teams: dict[uuid.UUID, Any], groups: set[str]) -> dict[str, str]:
    if level == "district":
        return {"district": "全区"}
    if level == "team":
        return {str(t.id): t.name for t in teams.values()}
    return {str(k): v for k, v in (await repository.organization_names(
        db, [uuid.UUID(g) for g in groups])).items()}
