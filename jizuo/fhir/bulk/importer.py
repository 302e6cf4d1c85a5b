"""Bulk import: lines → worker processes (parse, validate, protect, index) → the parent COPYs each batch.

The parent keeps a small window of batches in flight, so workers prepare batch k+1.. while PostgreSQL writes
batch k, and memory stays bounded however large the input. One transaction per batch: a failure loses at
most the batch being written, and re-running the import completes it (unchanged resources are skipped).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from jizuo.core.clock import utcnow
from jizuo.core.embedded_pg import to_sync_url
from jizuo.core.security import FieldCipher, get_field_cipher
from jizuo.fhir.access import SYSTEM_ACCESS, FhirAccess
from jizuo.fhir.bulk.prepare import Line, Prepared, PreparedBatch, Rejected, init_worker, prepare_batch
from jizuo.fhir.bulk.sources import REJECTED_SUFFIX, expand_paths, read_file
from jizuo.fhir.bulk.writer import WriteResult, write_batch
from jizuo.fhir.errors import FhirError

MAX_KEPT_REJECTIONS = 10_000  # in the report; the .rejected files keep every one
WriteFn = Callable[[list[Prepared], datetime], Awaitable[WriteResult]]
RejectFn = Callable[[Rejected], None]


@dataclass(frozen=True)
class RejectedLine:
    source: str
    line: int
    reason: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_count: int = 0
    index_rows: int = 0
    seconds: float = 0.0
    by_type: dict[str, int] = field(default_factory=dict)
    rejected: list[RejectedLine] = field(default_factory=list)
    rejected_files: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def resources_per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    def add_write(self, result: WriteResult) -> None:
        self.created += result.created
        self.updated += result.updated
        self.unchanged += result.unchanged
        self.index_rows += result.index_rows
        for res_type, count in result.by_type.items():
            self.by_type[res_type] = self.by_type.get(res_type, 0) + count

    def add_rejection(self, item: Rejected) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_KEPT_REJECTIONS:
            self.rejected.append(RejectedLine(item.source, item.line, item.reason))

    def summary(self) -> str:
        return (f"导入完成：新建 {self.created}，更新 {self.updated}，未变 {self.unchanged}，"
                f"拒绝 {self.rejected_count}；用时 {self.seconds:.1f} 秒，{self.resources_per_second:,.0f} 条/秒，"
                f"索引行 {self.index_rows}")

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected_count, "index_rows": self.index_rows, "seconds": round(self.seconds, 3),
                "resources_per_second": round(self.resources_per_second, 1), "by_type": dict(self.by_type)}


class RejectedFiles:
    """`<input>.rejected.ndjson` (the lines as received, to fix and re-import) and `<input>.rejected.txt`
    (line number and reason), next to each input; opened on the first rejection only."""

    def __init__(self, report: ImportReport) -> None:
        self.report = report
        self.handles: dict[str, tuple[Any, Any]] = {}

    @staticmethod
    def clear_previous(path: Path) -> None:
        for name in (path.name + REJECTED_SUFFIX, path.name + ".rejected.txt"):
            (path.parent / name).unlink(missing_ok=True)

    def __call__(self, item: Rejected) -> None:
        if item.source not in self.handles:
            base = Path(item.source)
            lines_path = base.parent / (base.name + REJECTED_SUFFIX)
            self.handles[item.source] = (lines_path.open("ab"), (base.parent / (base.name + ".rejected.txt")).open("a"))
            self.report.rejected_files.append(str(lines_path))
        lines, reasons = self.handles[item.source]
        if item.raw:
            lines.write(item.raw.rstrip(b"\n") + b"\n")
        reasons.write(f"{item.line}\t{item.reason}\n")

    def close(self) -> None:
        for lines, reasons in self.handles.values():
            lines.close()
            reasons.close()


async def _chunks(lines: Iterable[Line] | AsyncIterable[Line], size: int) -> AsyncIterator[list[Line]]:
    chunk: list[Line] = []
    if isinstance(lines, AsyncIterable):
        async for line in lines:
            chunk.append(line)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    else:
        for line in lines:
            chunk.append(line)
            if len(chunk) >= size:
                yield chunk
                chunk = []
                await asyncio.sleep(0)  # let finished batches be written while the input is read
    if chunk:
        yield chunk


async def run_pipeline(lines: Iterable[Line] | AsyncIterable[Line], write: WriteFn, *, cipher: FieldCipher,
                       workers: int = 2, batch: int = 2000, on_reject: RejectFn | None = None,
                       report: ImportReport | None = None) -> ImportReport:
    """Prepare `lines` (in `workers` processes; 0 = a thread of this process) and hand each batch to `write`."""
    report = report or ImportReport()
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    executor = (ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=init_worker,
                                    initargs=(cipher,)) if workers > 0 else None)
    pending: deque[tuple[datetime, asyncio.Future[PreparedBatch]]] = deque()
    window = max(workers, 1) + 1

    async def drain() -> None:
        now, future = pending.popleft()
        prepared = await future
        for item in prepared.rejected:
            report.add_rejection(item)
            if on_reject:
                on_reject(item)
        if prepared.items:
            report.add_write(await write([p for _, _, p in prepared.items], now))

    try:
        async for chunk in _chunks(lines, batch):
            now = utcnow()
            if executor is not None:
                future = loop.run_in_executor(executor, prepare_batch, chunk, now)
            else:
                future = asyncio.ensure_future(asyncio.to_thread(prepare_batch, chunk, now, cipher))
            pending.append((now, future))
            if len(pending) >= window:
                await drain()
        while pending:
            await drain()
    finally:
        for _, future in pending:
            future.cancel()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        report.seconds = time.perf_counter() - started
    return report


ImportListener = Callable[[str, ImportReport, FieldCipher], Awaitable[None]]
IMPORT_LISTENERS: list[ImportListener] = []
"""Called with (database URL, report, cipher) after `import_lines` finishes. The pipeline writes by COPY,
without a FhirContext and so without its write listeners: platform services that must hear of imported
resources (the MPI links the new Patients) register here from their own layer, as with FhirContext.listeners."""


def add_import_listener(listener: ImportListener) -> None:
    if listener not in IMPORT_LISTENERS:
        IMPORT_LISTENERS.append(listener)


def check_bulk_access(access: FhirAccess) -> None:
    """Bulk import writes anybody's records: only callers who may write without a patient restriction."""
    if not access.may_write or not access.unrestricted:
        raise FhirError("批量导入需要不限患者范围的临床写权限", status=403, issue="forbidden",
                        code="bulk_import_forbidden")


async def connect(database_url: str) -> Any:
    return await asyncpg.connect(to_sync_url(database_url), server_settings={"application_name": "jizuo-bulk"})


async def resource_exists(database_url: str, res_type: str, res_id: str) -> bool:
    conn = await connect(database_url)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM fhir_resource WHERE res_type = $1 AND id = $2",
                                        res_type, res_id))
    finally:
        await conn.close()


async def import_lines(database_url: str, lines: Iterable[Line] | AsyncIterable[Line], *, workers: int = 2,
                       batch: int = 2000, access: FhirAccess = SYSTEM_ACCESS, cipher: FieldCipher | None = None,
                       on_reject: RejectFn | None = None, report: ImportReport | None = None) -> ImportReport:
    """Import raw resource lines over a connection of its own, committing once per batch."""
    check_bulk_access(access)
    cipher = cipher or get_field_cipher()
    conn = await connect(database_url)

    async def write(items: list[Prepared], now: datetime) -> WriteResult:
        async with conn.transaction():
            return await write_batch(conn, items, now, cipher)

    try:
        report = await run_pipeline(lines, write, cipher=cipher, workers=workers, batch=batch, on_reject=on_reject,
                                    report=report)
    finally:
        await conn.close()
    for listener in IMPORT_LISTENERS:
        await listener(database_url, report, cipher)
    return report


async def import_ndjson(database_url: str, paths: Iterable[Path | str] | Path | str, *, workers: int = 2,
                        batch: int = 2000, access: FhirAccess = SYSTEM_ACCESS,
                        cipher: FieldCipher | None = None) -> ImportReport:
    """Import .ndjson / .ndjson.gz / Bundle .json files (or directories of them); see docs/fhir-bulk.md."""
    files = expand_paths([paths] if isinstance(paths, str | Path) else paths)
    for path in files:
        if not path.is_file():
            raise FhirError(f"找不到导入文件：{path}", status=404, issue="not-found", code="import_file_missing")
        RejectedFiles.clear_previous(path)
    report = ImportReport()
    rejected_files = RejectedFiles(report)
    file_problems: list[Rejected] = []

    def lines() -> Iterable[Line]:
        for path in files:
            yield from read_file(path, file_problems)
            while file_problems:
                problem = file_problems.pop()
                report.add_rejection(problem)
                rejected_files(problem)

    try:
        return await import_lines(database_url, lines(), workers=workers, batch=batch, access=access, cipher=cipher,
                                  on_reject=rejected_files, report=report)
    finally:
        rejected_files.close()


async def import_resources(database_url: str, resources: Iterable[dict[str, Any]], *, label: str = "resources",
                           **options: Any) -> ImportReport:
    """Import resource dicts (e.g. generated ones) through the same pipeline as files."""
    lines = ((label, number, orjson.dumps(r)) for number, r in enumerate(resources, start=1))
    return await import_lines(database_url, lines, **options)
