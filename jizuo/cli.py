"""The `jizuo` command: serve, migrate, demo-seed, demo (all three), create-user."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import Annotated

import typer

from jizuo.core.config import get_settings
from jizuo.core.db import make_engine, make_sessionmaker, resolve_database_url
from jizuo.core.errors import JizuoError
from jizuo.core.logging import configure_logging
from jizuo.fhir.bulk.cli import fhir_app

app = typer.Typer(help="基座 Jizuo — 区域全民健康信息平台", no_args_is_help=True, add_completion=False)
app.add_typer(fhir_app, name="fhir", help="FHIR 批量导入/导出 (bulk NDJSON import and export)")
log = logging.getLogger("jizuo.cli")


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
                await db.commit()
    finally:
        await engine.dispose()
    if history_residents > 0:
        # Clinical history goes through the real bulk-import pipeline, as an institution's feed would.
        history = await load_demo_clinical(_database_url(), seed=seed, residents_count=residents,
                                           history_residents=history_residents)
        if history is not None:
            counts["fhir_resources"] = history.created
    return counts


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


@app.command()
def serve(host: Annotated[str | None, typer.Option()] = None, port: Annotated[int | None, typer.Option()] = None,
          workers: Annotated[int | None, typer.Option()] = None) -> None:
    """Serve the API and web UI (uses the embedded PostgreSQL unless DATABASE_URL is set)."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level)
    _database_url()
    host, port = host or settings.host, port or settings.port
    typer.echo(f"基座已启动: http://{host}:{port}/ui/  (API 文档 /docs, Ctrl-C 停止)")
    uvicorn.run("jizuo.api.app:create_app", factory=True, host=host, port=port,
                workers=workers or settings.workers, log_config=None, access_log=False)


@app.command()
def demo() -> None:
    """migrate + demo-seed (once) + serve: what `make demo` runs."""
    migrate()
    demo_seed(residents=None, seed=None)
    serve(host=None, port=None, workers=None)


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
