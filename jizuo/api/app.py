"""The one ASGI application: JSON API, OpenID Connect provider, and the built web front ends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jizuo.api import overview, problems
from jizuo.apps.chronic import api as chronic_api
from jizuo.apps.chronic.tasks import run_contract_expiry
from jizuo.apps.consult import api as consult_api
from jizuo.apps.recognition import api as recognition_api
from jizuo.apps.referral import api as referral_api
from jizuo.apps.referral.tasks import run_expiry
from jizuo.core.callers import listen_for_changes
from jizuo.core.config import Settings, get_settings
from jizuo.core.db import make_engine, make_sessionmaker, resolve_database_url
from jizuo.core.logging import request_id_var
from jizuo.core.runtime import mark_serving, settle_garbage_collector
from jizuo.platform import fhir_access
from jizuo.platform.audit import api as audit_api
from jizuo.platform.audit import fhir as audit_fhir
from jizuo.platform.audit.repository import ensure_audit_partitions
from jizuo.platform.audit.writer import AuditWriter
from jizuo.platform.city_upload import api as city_upload_api
from jizuo.platform.identity import api as identity_api
from jizuo.platform.ingest import api as ingest_api
from jizuo.platform.ingest import frontdb_api
from jizuo.platform.ingest.hl7v2 import api as hl7v2_api
from jizuo.platform.ingest.hl7v2.mllp import start_mllp_server
from jizuo.platform.ingest.pipeline import resume_pending
from jizuo.platform.ingest.tasks import run_schedule
from jizuo.platform.mpi import api as mpi_api
from jizuo.platform.notifications import api as notifications_api
from jizuo.platform.notifications.delivery import run_delivery
from jizuo.platform.quality import api as quality_api
from jizuo.platform.registry import api as registry_api
from jizuo.platform.residents import api as residents_api
from jizuo.platform.sso import api as sso_api
from jizuo.platform.standards import api as standards_api

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's X-Request-ID) for logs, audit and the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode()[:64]
        request_id = incoming or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


def _mount_spa(app: FastAPI, name: str, folder: str) -> None:
    """Serve a built single-page app under /{name}/, falling back to its index.html for deep links."""
    root = WEB_DIR / folder
    if (root / "assets").is_dir():
        app.mount(f"/{name}/assets", StaticFiles(directory=root / "assets"), name=f"{name}-assets")

    async def spa(path: str = "") -> Response:
        candidate = (root / path).resolve()
        if path and candidate.is_file() and root.resolve() in candidate.parents:
            return FileResponse(candidate)
        index = root / "index.html"
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse("<h1>前端尚未构建</h1><p>请运行 <code>make build</code>。</p>", status_code=503)

    app.add_api_route(f"/{name}", spa, include_in_schema=False)
    app.add_api_route(f"/{name}/{{path:path}}", spa, include_in_schema=False)


def create_app(settings: Settings | None = None,
               sessionmaker: async_sessionmaker[AsyncSession] | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if sessionmaker is not None:
            app.state.sessionmaker = sessionmaker
            yield
            return
        database_url = resolve_database_url(settings)
        engine = make_engine(database_url, settings.db_pool_size)
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.read_sessionmaker = make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
        async with engine.begin() as connection:
            await ensure_audit_partitions(connection)
        app.state.audit_writer = AuditWriter(app.state.sessionmaker)  # read requests' audit rows, batched
        app.state.audit_writer.start()
        # Uploads a stop interrupted are finished from where they were (they hold their file and cursor).
        background = [asyncio.create_task(resume_pending(app.state.sessionmaker)),
                      asyncio.create_task(run_schedule(app.state.sessionmaker)),  # 前置库 pulls
                      asyncio.create_task(run_expiry(app.state.sessionmaker)),  # referrals not accepted in time
                      asyncio.create_task(run_delivery(app.state.sessionmaker)),  # SMS/WeChat notification outbox
                      asyncio.create_task(run_contract_expiry(app.state.sessionmaker)),  # family-doctor contracts
                      asyncio.create_task(listen_for_changes(database_url))]  # keeps the caller cache honest
        # HL7 v2 over MLLP (JIZUO_MLLP_PORT): off when unset.
        mllp = (await start_mllp_server(app.state.sessionmaker, settings.mllp_host, settings.mllp_port)
                if settings.mllp_port else None)
        settle_garbage_collector()
        mark_serving()
        yield
        if mllp is not None:
            await mllp.stop()
        for task in background:
            task.cancel()
        await app.state.audit_writer.close()
        await engine.dispose()

    app = FastAPI(title="基座 Jizuo · 区域全民健康信息平台 API", version="0.1.0", lifespan=lifespan,
                  description="卫生健康数智基座：FHIR R4 数据中心、主索引、机构与人员注册、统一身份认证与审计。")
    if sessionmaker is not None:  # tests hand in their own, bound to a rolled-back transaction
        app.state.sessionmaker = sessionmaker
    app.add_middleware(RequestIdMiddleware)
    problems.install_problem_handlers(app)
    # The FHIR routes come first: a request matches routes in order, and FHIR reads are the most frequent
    # requests (behind 150 other routes the matching was a fifth of a read's CPU). Platform routes under /fhir
    # (bulk data, AuditEvent, Patient/$match, ServiceRequest/$recognition-check) precede the generic FHIR
    # router, which would claim their paths.
    for fhir_router in (fhir_access.bulk_router, audit_fhir.router, mpi_api.fhir_router, recognition_api.fhir_router,
                        fhir_access.router):
        app.include_router(fhir_router)
    for module in (overview, identity_api, registry_api, residents_api, audit_api, sso_api, mpi_api,
                   ingest_api, hl7v2_api, frontdb_api, quality_api, city_upload_api, standards_api,
                   recognition_api, referral_api, notifications_api, chronic_api, consult_api):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> RedirectResponse:
        return RedirectResponse("/ui/")

    _mount_spa(app, "ui", "console")
    _mount_spa(app, "h5", "resident")  # 居民健康 H5 (frontend/resident)
    return app
