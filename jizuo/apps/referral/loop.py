"""Closing the loop: a signed resident seen or admitted anywhere in the district → their family-doctor team is
told, once, with the visit's summary (the "records pushed to the family doctor" flow).

Every path that writes an Encounter feeds it:
- writes through a `FhirContext` (the /fhir API, transaction bundles, HL7 v2 and tabular ingest) call the
  `VisitListener` registered in `fhir_listeners.EXTRA_LISTENER_FACTORIES`. It only remembers the Encounter ids;
  just before the writer's transaction commits (a SQLAlchemy `before_commit` hook on the session) one set-wise
  pass captures and resolves all of them — a 2,000-row ingest batch costs three statements, not 2,000 × three;
- the bulk `$import` (COPY, no listeners) calls `capture_recent` after the import (`IMPORT_LISTENERS`);
- `sweep` (the referral background loop, every minute) resolves visits whose patient was not yet linked by the
  MPI when captured (ingest links new Patients after its commit), and gives up on them after an hour.

Capture is `INSERT … ON CONFLICT (encounter_id) DO NOTHING` and resolution `UPDATE … WHERE status = 'pending'`,
so a re-sent or updated Encounter (any version) never notifies twice, and two writers never both notify.
Visits that started more than 30 days before they arrive (a history load) are listed but not notified.
Who is the family doctor: the patient id is a register resident's id, or one of the records the MPI links to
the same person is; that resident's `signed_team_id` is the team; its family doctor (the team leader, else its
first family-doctor member) gets exactly one notification per Encounter; every member sees the visits list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from jizuo.core.clock import utcnow
from jizuo.core.security import FieldCipher
from jizuo.fhir.service import FhirContext
from jizuo.fhir.store import Stored

log = logging.getLogger(__name__)
GIVE_UP_AFTER = timedelta(hours=1)
CLASS_LABELS = {"outpatient": "门诊", "inpatient": "住院", "emergency": "急诊", "other": "就诊"}

# The Encounter's summary, read from the stored resource: patient, class, institution, start, reason.
_CAPTURE = """
INSERT INTO referral_visit (id, encounter_id, patient_id, status, organization_id, organization_name,
                            visit_class, class_code, started_at, reason, created_at)
SELECT gen_random_uuid(), f.id, regexp_replace(f.resource->'subject'->>'reference', '^Patient/', ''), 'pending',
       left(regexp_replace(f.resource->'serviceProvider'->>'reference', '^Organization/', ''), 64),
       left(coalesce(o.name, f.resource->'serviceProvider'->>'display'), 100),
       CASE WHEN f.resource->'class'->>'code' = 'AMB' THEN 'outpatient'
            WHEN f.resource->'class'->>'code' IN ('IMP', 'ACUTE', 'NONAC', 'SS') THEN 'inpatient'
            WHEN f.resource->'class'->>'code' = 'EMER' THEN 'emergency' ELSE 'other' END,
       left(f.resource->'class'->>'code', 16),
       CASE WHEN f.resource->'period'->>'start' ~ '^\\d{4}-\\d{2}-\\d{2}'
            THEN CAST(f.resource->'period'->>'start' AS timestamptz) ELSE f.last_updated END,
       coalesce(f.resource->'reasonCode'->0->>'text', f.resource->'reasonCode'->0->'coding'->0->>'display',
                f.resource->'diagnosis'->0->'condition'->>'display'),
       now()
FROM fhir_resource f
LEFT JOIN organization o
       ON CAST(o.id AS text) = regexp_replace(f.resource->'serviceProvider'->>'reference', '^Organization/', '')
WHERE f.res_type = 'Encounter' AND NOT f.deleted
  AND f.resource->'subject'->>'reference' LIKE 'Patient/%%' AND {where}
ON CONFLICT (encounter_id) DO NOTHING
"""
CAPTURE_IDS = text(_CAPTURE.replace("{where}", "f.id = ANY(:ids)").replace("%%", "%"))
CAPTURE_SINCE = text(_CAPTURE.replace("{where}", "f.last_updated >= :since").replace("%%", "%"))

# Resolve pending visits to a signed resident, mark them, and notify the team's family doctor — one statement.
_UUID = "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'"
RESOLVE = text(f"""
WITH todo AS (
    SELECT v.id, v.patient_id FROM referral_visit v
    WHERE v.status = 'pending' AND (CAST(:ids AS text[]) IS NULL OR v.encounter_id = ANY(:ids))
      AND (CAST(:since AS timestamptz) IS NULL OR v.created_at >= :since)
    ORDER BY v.created_at LIMIT :limit
), found AS (
    SELECT t.id, r.id AS resident_id, r.signed_team_id, r.name
    FROM todo t
    JOIN LATERAL (
        SELECT r.id, r.signed_team_id, r.name FROM resident r
        WHERE r.id = ANY(ARRAY(
            SELECT CAST(p AS uuid) FROM (
                SELECT t.patient_id AS p
                UNION
                SELECT b.patient_id FROM mpi_source_record a
                JOIN mpi_source_record b ON b.person_id = a.person_id AND NOT b.deleted
                WHERE a.patient_id = t.patient_id AND a.person_id IS NOT NULL
            ) s WHERE p ~ {_UUID}))
        ORDER BY r.signed_team_id IS NULL, r.id LIMIT 1) r ON true
), marked AS (
    UPDATE referral_visit v
    SET status = CASE WHEN f.signed_team_id IS NULL THEN 'unsigned' ELSE 'matched' END,
        resident_id = f.resident_id, team_id = f.signed_team_id,
        notified_at = CASE WHEN f.signed_team_id IS NULL OR v.started_at < now() - interval '30 days' THEN NULL
                           ELSE now() END
    FROM found f WHERE v.id = f.id AND v.status = 'pending'
    RETURNING v.id, v.encounter_id, v.team_id, v.visit_class, v.organization_name, v.started_at, v.reason, f.name
)
INSERT INTO notification (id, recipient_user_id, recipient_practitioner_id, kind, title, body, link, created_at)
SELECT gen_random_uuid(), NULL, m.practitioner_id, 'referral.visit',
       left(coalesce(k.name, '签约居民') || ' 在' || coalesce(k.organization_name, '外院') ||
            CASE k.visit_class WHEN 'outpatient' THEN '门诊就诊' WHEN 'inpatient' THEN '住院'
                               WHEN 'emergency' THEN '急诊就诊' ELSE '就诊' END, 120),
       concat_ws('；', to_char(k.started_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24\\:MI'), k.reason),
       '/ui/referral?tab=visits&encounter=' || k.encounter_id, now()
FROM marked k
JOIN LATERAL (  -- the family doctor: the team's leader, else its first family-doctor member — one per visit
    SELECT coalesce(t.leader_id, (SELECT cm.practitioner_id FROM care_team_member cm WHERE cm.team_id = t.id
                                  ORDER BY cm.team_role = 'family_doctor' DESC, cm.practitioner_id LIMIT 1))
           AS practitioner_id
    FROM care_team t WHERE t.id = k.team_id) m ON m.practitioner_id IS NOT NULL
WHERE k.started_at IS NULL OR k.started_at >= now() - interval '30 days'
""")
GIVE_UP = text("UPDATE referral_visit SET status = 'unmatched' WHERE status = 'pending' AND created_at < :before")


def resolve(conn: Connection | Session, ids: Sequence[str] | None = None, since: datetime | None = None,
            limit: int = 100_000) -> int:
    """Resolve pending visits (these Encounter ids, or all captured since `since`); returns notices sent."""
    result = conn.execute(RESOLVE, {"ids": list(ids) if ids is not None else None, "since": since,
                                    "limit": limit})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def capture_ids(conn: Connection | Session, ids: Sequence[str]) -> int:
    """Capture and resolve these Encounters (sync: runs in the session's `before_commit`)."""
    if not ids:
        return 0
    conn.execute(CAPTURE_IDS, {"ids": list(ids)})
    return resolve(conn, ids)


class VisitListener:
    """Per writer: remembers the Encounters written and handles them set-wise before the transaction commits."""

    def __init__(self) -> None:
        self.pending: dict[str, None] = {}
        self.hooked: Session | None = None

    async def resource_written(self, ctx: FhirContext, stored: Stored) -> None:
        if stored.res_type != "Encounter" or stored.deleted:
            return
        self.pending[stored.id] = None
        session = ctx.db.sync_session
        if self.hooked is not session:
            # Once per commit: an ingest reuses its session for many chunks, each with a new listener.
            self.hooked = session
            event.listen(session, "before_commit", self._before_commit, once=True)

    def _before_commit(self, session: Session) -> None:
        ids, self.pending, self.hooked = list(self.pending), {}, None
        if not ids:
            return
        try:
            with session.begin_nested():
                capture_ids(session, ids)
        except Exception:  # noqa: BLE001 — never lose the clinical write; the sweep catches up
            log.exception("referral visit capture failed for %d encounters", len(ids))


def make_listener() -> VisitListener:
    return VisitListener()


async def capture_recent(database_url: str, report: Any, cipher: FieldCipher) -> None:
    """The bulk-import hook: capture the Encounters the import wrote (by their lastUpdated), set-wise."""
    if not (report.by_type or {}).get("Encounter"):
        return
    from jizuo.core.db import make_engine, make_sessionmaker

    engine = make_engine(database_url, pool_size=1)
    try:
        async with make_sessionmaker(engine)() as db:
            since = utcnow() - timedelta(seconds=float(report.seconds or 0) + 120)
            await db.execute(CAPTURE_SINCE, {"since": since})
            await db.run_sync(lambda s: resolve(s, since=since))
            await db.commit()
    except Exception:  # noqa: BLE001 — the import is stored; the sweep catches up on what was captured
        log.exception("referral visit capture after bulk import failed")
    finally:
        await engine.dispose()


def register_bulk_import_hook() -> None:
    """After the MPI's link-pending hook, so the imported Patients are linked when the visits are resolved."""
    from jizuo.fhir.bulk.importer import add_import_listener

    add_import_listener(capture_recent)


async def sweep(db: AsyncSession, now: datetime | None = None) -> int:
    """Resolve visits still pending (their patient linked by the MPI since), and give up on old ones."""
    now = now or utcnow()
    sent = await db.run_sync(lambda s: resolve(s, since=now - GIVE_UP_AFTER, limit=5000))
    await db.execute(GIVE_UP, {"before": now - GIVE_UP_AFTER})
    return int(sent)


async def sweep_once(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as db:
        sent = await sweep(db)
        await db.commit()
    return sent
