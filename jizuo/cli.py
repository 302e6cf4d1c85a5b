"""The `jizuo` command: serve, migrate, demo-seed, demo (all three), create-user."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import Annotated

import typer

from jizuo.apps.referral import loop as referral_loop
from jizuo.core.config import get_settings
from jizuo.core.db import make_engine, make_sessionmaker, resolve_database_url
from jizuo.core.errors import JizuoError
from jizuo.core.logging import configure_logging
from jizuo.fhir.bulk.cli import fhir_app
from jizuo.platform.mpi import pending as mpi_pending

app = typer.Typer(help="基座 Jizuo — 区域全民健康信息平台", no_args_is_help=True, add_completion=False)
app.add_typer(fhir_app, name="fhir", help="FHIR 批量导入/导出 (bulk NDJSON import and export)")
mpi_app = typer.Typer(help="主索引 (master patient index)", no_args_is_help=True)
app.add_typer(mpi_app, name="mpi", help="主索引：补关联批量导入的患者 (master patient index)")
recognition_app = typer.Typer(help="检查检验结果互认 (result mutual recognition)", no_args_is_help=True)
app.add_typer(recognition_app, name="recognition", help="检查检验结果互认：重建结果索引 (result mutual recognition)")
log = logging.getLogger("jizuo.cli")
# Bulk file imports write by COPY, past the FHIR write listeners: the MPI links their Patients afterwards.
mpi_pending.register_bulk_import_hook()
# … and then the referral app tells family doctors of their signed residents' imported visits (issue 8).
referral_loop.register_bulk_import_hook()


def _database_url() -> str:
    """Resolve once in this process; worker processes inherit it through DATABASE_URL."""
    url = resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    return url


@app.command()
def migrate() -> None:
    """Bring the database schema to the newest version (safe to run repeatedly)."""
    configure_logging(get_settings().log_level)
    from jizuo.migrations import upgrade_to_head

    upgrade_to_head(_database_url())
    typer.echo("数据库已迁移到最新版本 (migrations at head)")


async def _seed(residents: int, seed: int, history_residents: int) -> dict[str, int]:
    """Registry and residents once; then the clinical history, which resumes where an interrupted load
    stopped (the loader skips what is already stored). Returns what was written now."""
    from jizuo.core.security import get_field_cipher
    from jizuo.platform.demo.clinical import load_demo_clinical
    from jizuo.platform.demo.seed import is_seeded, seed_demo_district

    counts: dict[str, int] = {}
    engine = make_engine(_database_url(), pool_size=2)
    try:
        async with make_sessionmaker(engine)() as db:
            if not await is_seeded(db):
                counts = await seed_demo_district(db, get_field_cipher(), seed=seed, residents=residents)
            else:
                # A district seeded by an older version gets what was added since (both idempotent; the
                # registry mirror skips unchanged resources).
                from jizuo.platform.registry.mirror import mirror_whole_registry
                from jizuo.platform.standards.seed import seed_catalogue

                await seed_catalogue(db)
                await mirror_whole_registry(db, get_field_cipher())
            await db.commit()
    finally:
        await engine.dispose()
    if history_residents > 0:
        # Clinical history goes through the real bulk-import pipeline, as an institution's feed would.
        history = await load_demo_clinical(_database_url(), seed=seed, residents_count=residents,
                                           history_residents=history_residents)
        if history is not None:
            counts["fhir_resources"] = history.created
        from jizuo.platform.mpi.demo import load_demo_registrations

        registrations = await load_demo_registrations(_database_url(), seed, min(history_residents, residents))
        if registrations is not None:
            counts["mpi_registrations"] = registrations.created
    # Every Patient the bulk loads wrote gets its MPI link through the real matching path (also resumes an
    # interrupted linking: the import hook links after each load, this catches whatever is still pending).
    linked = await mpi_pending.link_pending_at(_database_url())
    if linked.processed:
        counts["mpi_linked"] = linked.processed
    # The recognition projection is kept by a write listener; bulk loads bypass it, so rebuild when something was
    # loaded now (or the projection is empty) — not on every start, where it would cost ~15 s for nothing.
    counts.update(await _recognition_rebuild(demo=True, rebuild_projection=bool(counts)))
    counts.update(await _seed_ingest(seed))
    counts.update(await _seed_chronic(seed))  # 慢病管理: demo devices, registrations, station readings
    counts.update(await _seed_consult())  # 问医生: FAQ entries and the demo resident's questions
    return counts


async def _recognition_rebuild(demo: bool = False, rebuild_projection: bool = True) -> dict[str, int]:
    """Result mutual recognition: shipped catalogue, projection rebuilt from the FHIR store (bulk loads bypass
    the write listener; with `rebuild_projection=False` only when the projection is empty), and with `demo`
    recent results so demo patients get prompts."""
    from sqlalchemy import exists, select

    from jizuo.apps.recognition.models import RecognitionResult
    from jizuo.apps.recognition.tasks import rebuild, seed_catalogue, seed_demo_results
    from jizuo.core.security import get_field_cipher

    engine = make_engine(_database_url(), pool_size=2)
    try:
        async with make_sessionmaker(engine)() as db:
            added = await seed_catalogue(db)
            rows = 0
            if rebuild_projection or not await db.scalar(select(exists().where(RecognitionResult.id.is_not(None)))):
                rows = (await rebuild(db)).rows
            demo_reports = await seed_demo_results(db, get_field_cipher()) if demo else 0
            await db.commit()
    finally:
        await engine.dispose()
    return {k: v for k, v in {"recognition_items": added, "recognition_rows": rows,
                              "recognition_demo_reports": demo_reports}.items() if v}


async def _seed_chronic(seed: int) -> dict[str, int]:
    """Demo health-station devices (fixed keys, docs/chronic.md), chronic registrations and a month of readings."""
    from jizuo.apps.chronic.demo import seed_demo_chronic
    from jizuo.core.security import get_field_cipher

    engine = make_engine(_database_url(), pool_size=2)
    try:
        async with make_sessionmaker(engine)() as db:
            counts = await seed_demo_chronic(db, get_field_cipher(), seed)
            await db.commit()
    finally:
        await engine.dispose()
    return counts


async def _seed_consult() -> dict[str, int]:
    """问医生: published FAQ entries and two questions of the demo resident (once; docs/resident.md)."""
    from jizuo.apps.consult.demo import seed_demo_consult

    engine = make_engine(_database_url(), pool_size=2)
    try:
        async with make_sessionmaker(engine)() as db:
            counts = await seed_demo_consult(db)
            await db.commit()
    finally:
        await engine.dispose()
    return counts


async def _seed_ingest(seed: int) -> dict[str, int]:
    """Ten days of uploads through the ingest pipeline, so the quality console has something to show."""
    from jizuo.platform.demo.ingest import seed_demo_ingest

    engine = make_engine(_database_url(), pool_size=2)
    try:
        sent = await seed_demo_ingest(make_sessionmaker(engine), seed=seed)
    finally:
        await engine.dispose()
    return {"ingest_rows": sent} if sent else {}


@app.command("demo-seed")
def demo_seed(residents: Annotated[int | None, typer.Option(help="居民人数 (default JIZUO_DEMO_RESIDENTS)")] = None,
              seed: Annotated[int | None, typer.Option(help="随机种子，相同种子生成相同数据")] = None) -> None:
    """Fill an empty database with the synthetic demo district (skipped when already seeded)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    started = time.perf_counter()
    counts = asyncio.run(_seed(residents or settings.demo_residents, seed or settings.demo_seed,
                               settings.demo_history_residents))
    if not counts:
        typer.echo("演示数据已存在，跳过 (demo district already seeded)")
    else:
        typer.echo(f"演示区县已生成 (seeded in {time.perf_counter() - started:.1f}s): {counts}")


def _exit_cleanly_on_sigterm() -> None:
    """SIGTERM (systemd, docker stop, kill) must stop the embedded PostgreSQL too: its stop runs at interpreter
    exit, which the default SIGTERM action skips. Uvicorn handles the signal while serving and re-raises it
    after its own shutdown — into this handler, so the process exits normally."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


@app.command()
def serve(host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None,
          workers: Annotated[int | None, typer.Option()] = None) -> None:
    """Serve the API and web UI (uses the embedded PostgreSQL unless DATABASE_URL is set)."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level)
    _exit_cleanly_on_sigterm()
    _database_url()
    host, port = host or settings.host, port or settings.port
    typer.echo(f"基座已启动: http://{host}:{port}/ui/  (API 文档 /docs, Ctrl-C 停止)")
    uvicorn.run("jizuo.api.app:create_app", factory=True, host=host, port=port,
                workers=workers or settings.workers, log_config=None, access_log=False)


@app.command()
def demo() -> None:
    """migrate + demo-seed (once) + serve: what `make demo` runs."""
    _exit_cleanly_on_sigterm()
    migrate()
    demo_seed(residents=None, seed=None)
    serve(host=None, port=None, workers=None)


@recognition_app.command("rebuild")
def recognition_rebuild() -> None:
    """Load the shipped item catalogue (new items only) and rebuild the result projection from the FHIR store."""
    configure_logging(get_settings().log_level)
    started = time.perf_counter()
    counts = asyncio.run(_recognition_rebuild())
    typer.echo(f"互认结果索引已重建 (rebuilt in {time.perf_counter() - started:.1f}s): {counts}")


@mpi_app.command("link-pending")
def mpi_link_pending(chunk: Annotated[int, typer.Option(help="每个事务处理的患者记录数")] = 500,
                     limit: Annotated[int | None, typer.Option(help="最多处理多少条（默认全部）")] = None) -> None:
    """Link Patients stored without the MPI listener (bulk NDJSON import, demo history); idempotent, resumable."""
    configure_logging(get_settings().log_level)
    report = asyncio.run(mpi_pending.link_pending_at(_database_url(), chunk=chunk, limit=limit))
    typer.echo(report.summary())
    if report.failed:
        raise typer.Exit(1)


async def _expire_contracts() -> int:
    from jizuo.apps.chronic.tasks import expire_once

    engine = make_engine(_database_url(), pool_size=1)
    try:
        return await expire_once(make_sessionmaker(engine))
    finally:
        await engine.dispose()


@app.command("chronic-expire-contracts")
def chronic_expire_contracts() -> None:
    """Family-doctor contracts past their period become expired and their residents unsigned (run daily)."""
    configure_logging(get_settings().log_level)
    typer.echo(f"已到期的签约 (contracts expired): {asyncio.run(_expire_contracts())}")


async def _create_user(username: str, password: str, role: str, organization: str | None,
                       display_name: str | None) -> str:
    from jizuo.platform.identity.roles import Role
    from jizuo.platform.identity.service import create_user_for_operator

    engine = make_engine(_database_url(), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as db:
            user = await create_user_for_operator(db, username=username, password=password, role=Role(role),
                                                  display_name=display_name, organization_code=organization)
            await db.commit()
            return str(user.id)
    finally:
        await engine.dispose()


@app.command("create-user")
def create_user(username: Annotated[str, typer.Option()], password: Annotated[str, typer.Option()],
                role: Annotated[str, typer.Option(help="district_admin, regulator, institution_admin, doctor, "
                                                       "family_doctor, nurse, pharmacist, resident")],
                institution: Annotated[str | None, typer.Option(help="机构编码，如 JC-H001")] = None,
                display_name: Annotated[str | None, typer.Option()] = None) -> None:
    """Create an account from the command line (for operators and scripts)."""
    from pydantic import ValidationError

    from jizuo.platform.identity.roles import Role

    if role not in {r.value for r in Role}:
        typer.echo(f"错误：未知角色 {role}；可选：{', '.join(r.value for r in Role)}", err=True)
        raise typer.Exit(2)
    try:
        user_id = asyncio.run(_create_user(username, password, role, institution, display_name))
    except JizuoError as exc:
        typer.echo(f"错误：{exc.detail}", err=True)
        raise typer.Exit(1) from exc
    except ValidationError as exc:
        messages = "；".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        typer.echo(f"错误：{messages}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"已创建用户 {username} ({role}) id={user_id}")


def main() -> None:
    app(sys.argv[1:])


if __name__ == "__main__":
    main()
