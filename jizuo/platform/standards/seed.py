"""Loading the starter catalogue (the YAML in `catalogue/`) into the database.

Idempotent and additive: value domains, elements and data set versions already stored are left as they are
(an admin may have extended or replaced them); only what is missing is inserted. A data set the database
does not know yet arrives published; a new version of one it knows (the repository's YAML moved on) arrives
as a draft, for an admin to publish.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.core.clock import utcnow
from jizuo.platform.standards import repository
from jizuo.platform.standards.models import StdDataSetVersion
from jizuo.platform.standards.spec import CATALOGUE_DIR, load_catalogue

log = logging.getLogger(__name__)


async def seed_catalogue(db: AsyncSession, directory: Path = CATALOGUE_DIR) -> None:
    """Insert the YAML catalogue's missing entries; the caller commits."""
    catalogue = load_catalogue(directory)
    domains = await repository.insert_missing_domains(db, [
        {"code": d.code, "name": d.name, "standard": d.standard, "system": d.system,
         "spec": d.model_dump(mode="json"), "origin": "seed"} for d in catalogue.value_domains.values()])
    elements = await repository.insert_missing_elements(db, [
        {"id": e.id, "name": e.name, "type": e.type, "format": e.format, "value_domain": e.value_domain,
         "spec": e.model_dump(mode="json"), "origin": "seed"} for e in catalogue.elements.values()])
    known = await repository.data_set_versions_known(db)
    now = utcnow()
    added = 0
    for data_set in catalogue.data_sets.values():
        versions, top, has_published = known.get(data_set.code, (set(), 0, False))
        if data_set.version in versions:
            continue
        repository.add(db, StdDataSetVersion(
            code=data_set.code, version=data_set.version, revision=top + 1, name=data_set.name,
            category=data_set.category, status="draft" if has_published else "published",
            spec=data_set.model_dump(mode="json"), origin="seed",
            published_at=None if has_published else now))
        added += 1
    await db.flush()
    if domains or elements or added:
        log.info("standards catalogue seeded: %d value domains, %d elements, %d data set versions",
                 domains, elements, added)
