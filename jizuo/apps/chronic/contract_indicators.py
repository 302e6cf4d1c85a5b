"""Signing indicators per team, centre or district (counts only; `stats:read`).

- 签约率 signing rate = residents with a contract in force on the day ÷ resident population. Population: the
  residents whose home institution is the centre or one of its stations (a team shares its centre's
  denominator); district: every resident. Key groups the same way: aged ≥ 65 on the day, hypertension, type 2
  diabetes (from the resident record).
- 续约率 renewal rate = contracts whose period ended in the year (not terminated) that were renewed ÷ those
  contracts.
- 组合内就诊率 visits within the combination = Encounters (FHIR store) in the year of residents under a
  contract in force on the visit day, at an institution inside that contract's 1+1+1 combination (the centre
  or its stations, the district hospital, the city hospital) ÷ all such Encounters.

A zero denominator gives null ("—").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.apps.chronic import contract_repository as repo
from jizuo.core.clock import today_in_shanghai
from jizuo.platform.identity.access import AccessScope
from jizuo.platform.identity.roles import Permission

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _born_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


async def compute(db: AsyncSession, scope: AccessScope, level: str, year: int, on: date | None = None
                  ) -> dict[str, Any]:
    scope.require(Permission.STATS_READ)
    day = on or min(today_in_shanghai(), date(year, 12, 31))
    elderly = _born_before(day, 65)
    signed = await repo.signing_counts(db, level, day, elderly)
    population = await repo.population_counts(db, level, elderly)
    centres = await repo.team_centres(db) if level == "team" else {}
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    renewals = {r["key"]: r for r in await repo.renewal_counts(db, level, start, end)}
    visits = {r["key"]: r for r in await repo.combination_visits(
        db, level, datetime.combine(start, time(), SHANGHAI).astimezone(UTC),
        datetime.combine(end, time(), SHANGHAI).astimezone(UTC))}
    rows: dict[str, dict[str, Any]] = {}
    for s in signed:
        rows[s["key"]] = {"key": s["key"], "name": s["name"], **{k: s[k] for k in (
            "signed", "signed_elderly", "signed_hypertension", "signed_diabetes")}}
    for source in (renewals, visits):
        for key, r in source.items():
            rows.setdefault(key, {"key": key, "name": r["name"], "signed": 0, "signed_elderly": 0,
                                  "signed_hypertension": 0, "signed_diabetes": 0})
    out = []
    for key, row in sorted(rows.items(), key=lambda kv: kv[1]["name"]):
        pop = population.get(centres.get(key, key), {}) if level != "district" else population.get("district", {})
        ren, vis = renewals.get(key, {}), visits.get(key, {})
        out.append({**row, "population": pop.get("population", 0), "elderly": pop.get("elderly", 0),
                    "hypertension": pop.get("hypertension", 0), "diabetes": pop.get("diabetes", 0),
                    "signing_rate": _rate(row["signed"], pop.get("population", 0)),
                    "elderly_signing_rate": _rate(row["signed_elderly"], pop.get("elderly", 0)),
                    "hypertension_signing_rate": _rate(row["signed_hypertension"], pop.get("hypertension", 0)),
                    "diabetes_signing_rate": _rate(row["signed_diabetes"], pop.get("diabetes", 0)),
                    "due_for_renewal": ren.get("due_for_renewal", 0), "renewed": ren.get("renewed", 0),
                    "renewal_rate": _rate(ren.get("renewed", 0), ren.get("due_for_renewal", 0)),
                    "encounters": vis.get("encounters", 0), "encounters_inside": vis.get("inside", 0),
                    "combination_visit_rate": _rate(vis.get("inside", 0), vis.get("encounters", 0))})
    return {"year": year, "level": level, "on": day, "rows": out}
