"""`jizuo fhir import|export`: bulk load NDJSON/Bundle files, and export the store to NDJSON files."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from jizuo.core.config import get_settings
from jizuo.core.db import make_engine, make_sessionmaker, resolve_database_url
from jizuo.core.errors import JizuoError
from jizuo.core.security import get_field_cipher

fhir_app = typer.Typer(help="FHIR 批量导入导出 (bulk NDJSON import / export)", no_args_is_help=True)


@fhir_app.command("import")
def import_command(path: Annotated[list[Path], typer.Argument(help=".ndjson / .ndjson.gz / Bundle .json 文件或目录")],
                   workers: Annotated[int, typer.Option(help="校验进程数 (0 = 本进程)")] = 2,
                   batch: Annotated[int, typer.Option(help="每个事务的资源数")] = 2000) -> None:
    """Import resources; rejected lines go to <file>.rejected.ndjson with reasons in <file>.rejected.txt."""
    from jizuo.fhir.bulk.importer import import_ndjson

    try:
        report = asyncio.run(import_ndjson(resolve_database_url(get_settings()), path, workers=workers,
                                           batch=batch))
    except JizuoError as exc:
        typer.echo(f"错误：{exc.detail}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(report.summary())
    typer.echo(f"{report.resources_per_second:,.0f} resources/s; by type: {report.by_type}")
    for rejected in report.rejected[:20]:
        typer.echo(f"  拒绝 {rejected.source}:{rejected.line} {rejected.reason}", err=True)
    if report.rejected_files:
        typer.echo(f"被拒绝的行已写入：{', '.join(report.rejected_files)}", err=True)
    if report.rejected_count:
        raise typer.Exit(2)


async def _export(out: Path, types: list[str] | None, since: datetime | None, reveal: bool) -> dict[str, int]:
    from jizuo.fhir.bulk.export import export_to_dir

    engine = make_engine(resolve_database_url(get_settings()), pool_size=1)
    try:
        async with make_sessionmaker(engine)() as db:
            return await export_to_dir(db, out, types=types, since=since, cipher=get_field_cipher(), reveal=reveal)
    finally:
        await engine.dispose()


@fhir_app.command("export")
def export_command(out: Annotated[Path, typer.Option("--out", help="输出目录，每种资源一个 <Type>.ndjson")],
                   type_: Annotated[str | None, typer.Option("--type", help="资源类型，逗号分隔；默认全部")] = None,
                   since: Annotated[datetime | None, typer.Option(help="只导出此时间之后更新的资源")] = None,
                   reveal: Annotated[bool, typer.Option(help="身份证/手机号明文导出（默认脱敏）")] = False) -> None:
    """Export current resources to NDJSON files (masked unless --reveal, needed to re-import them)."""
    from jizuo.fhir.bulk.export import parse_types

    try:
        counts = asyncio.run(_export(out, parse_types(type_), since, reveal))
    except JizuoError as exc:
        typer.echo(f"错误：{exc.detail}", err=True)
        raise typer.Exit(1) from exc
    for res_type, count in counts.items():
        typer.echo(f"{res_type}: {count} → {out / (res_type + '.ndjson')}")
