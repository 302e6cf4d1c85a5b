"""Ten days of data-set uploads from the demo district's institutions, through the real ingest pipeline.

So the quality console is not empty on first start: each hospital and a few community centres send lab,
outpatient and prescription records daily; most rows are good, a few percent arrive broken the ways real
exports break (and wait in the quarantine), some arrive late, and one institution is noticeably worse than
the rest — the kind of spread a 卫健委 scorecard exists to show.
"""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jizuo.core.clock import SHANGHAI, utcnow
from jizuo.platform.demo.dataset_rows import RowContext, RowGenerator
from jizuo.platform.ingest import repository as repo
from jizuo.platform.ingest.compiled import compiled_dataset
from jizuo.platform.ingest.models import IngestBatch
from jizuo.platform.ingest.pipeline import process_batch

SENDERS = {"JC-H001": 0.03, "JC-H002": 0.02, "JC-H003": 0.05, "JC-C001": 0.04, "JC-C002": 0.12}
DATA_SETS = ("EMR-LAB", "EMR-OPD", "EMR-RX")


def _csv(names: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(names)
    writer.writerows([r.get(n, "") for n in names] for r in rows)
    return out.getvalue().encode("utf-8")


async def seed_demo_ingest(factory: async_sessionmaker[AsyncSession], *, days: int = 10, rows_per_day: int = 8,
                           seed: int = 20261125) -> int:
    """Upload and process the demo batches once (skipped when any batch exists); returns rows sent."""
    rng = random.Random(seed)
    async with factory() as db:
        if await db.scalar(select(func.count()).select_from(IngestBatch)):
            return 0
        compiled = {code: await compiled_dataset(db, code) for code in DATA_SETS}
        organizations = await repo.organization_lookup(db)
        practitioners = list(await repo.practitioner_lookup(db))[:50]
    codes = [c for c in SENDERS if c in organizations]
    today = utcnow().astimezone(SHANGHAI).date()
    sent = 0
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        for code in codes:
            for data_set_code, unit in compiled.items():
                at = datetime.combine(day, time(rng.randint(8, 20), rng.randint(0, 59)), SHANGHAI)
                late = rng.random() < 0.08
                context = RowContext(codes, practitioners, at - timedelta(days=2) if late else at, patients=4)
                generator = RowGenerator(unit.validator.data_set, unit.catalogue, context, seed=rng.randint(0, 10**9))
                rows = []
                for _ in range(rows_per_day):
                    row = dict(generator.row(), **{unit.validator.data_set.institution_field or "_": code})
                    rows.append(generator.spoil(row)[0] if rng.random() < SENDERS[code] else row)
                names = [f.name for f in unit.validator.data_set.fields]
                async with factory() as db:
                    batch = await repo.create_batch(db, source="csv", dataset_code=data_set_code,
                                                    institution_id=uuid.UUID(organizations[code][0]),
                                                    filename="demo.csv",
                                                    submitted_by=f"demo:{code}", status="received",
                                                    payload=_csv(names, rows), notes={"encoding": "utf-8"},
                                                    created_at=at)
                    await db.commit()
                await process_batch(factory, batch.id)
                sent += len(rows)
    return sent
