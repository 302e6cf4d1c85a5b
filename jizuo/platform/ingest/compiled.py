"""A data set's validator and mapper, compiled once per published version and kept in this process."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from jizuo.platform.ingest.mapping import RecordMapper
from jizuo.platform.quality.engine import Validator
from jizuo.platform.standards.spec import CatalogueSpec, DataSetSpec


@dataclass(frozen=True)
class Compiled:
    validator: Validator
    mapper: RecordMapper
    catalogue: CatalogueSpec


_cache: dict[tuple[str, str], Compiled] = {}


def compile_spec(data_set: DataSetSpec, catalogue: CatalogueSpec) -> Compiled:
    validator = Validator(data_set, catalogue)
    return Compiled(validator, RecordMapper(validator, catalogue), catalogue)


async def compiled_dataset(db: AsyncSession, code: str) -> Compiled:
    """The current published version of a data set, compiled (NotFound with a Chinese message if unknown)."""
    from jizuo.platform.standards import service as standards  # the catalogue's store (issue 6)

    data_set = await standards.get_dataset_spec(db, code)
    key = (data_set.code, data_set.version)
    found = _cache.get(key)
    if found is None or found.validator.data_set != data_set:
        found = _cache[key] = compile_spec(data_set, await standards.get_catalogue(db))
    return found
