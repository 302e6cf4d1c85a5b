"""OpenID Connect provider endpoints (/.well-known/openid-configuration, /oidc/*) and the client registry
admin API (/api/v1/sso/clients). Protocol errors answer in OAuth's own formats, not problem JSON."""

from __future__ import annotations

from collections.abc import Collection
from typing import Annotated, Any

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from fastapi import APIRouter, Path, Request, Response, status
from fastapi.responses import JSONResponse

from jizuo.core.clock import utcnow
from jizuo.core.config import Settings, get_settings
from jizuo.core.errors import BadRequest
from jizuo.core.security import get_signing_keys
from jizuo.platform.request import ScopeDep, UnitDep
from jizuo.platform.sso import clients, pages, service, sessions
from jizuo.platform.sso.adapter import StarletteOAuth2Request, read_form, read_oauth2_request, to_response
from jizuo.platform.sso.models import OAuthClient
from jizuo.platform.sso.protocol import Client, EndUser
from jizuo.platform.sso.schemas import ClientCreate, ClientCreated, ClientOut

router = APIRouter(tags=["单点登录 SSO"])

PRIVATE_FIELDS = ("username", "password", "csrf_token", "action")


async def _oauth2_request(request: Request, settings: Settings,
                          exclude: Collection[str] = PRIVATE_FIELDS) -> StarletteOAuth2Request:
    try:
        return await read_oauth2_request(request, settings.issuer, exclude=exclude)
    except InsecureTransportError as exc:
        raise BadRequest("统一身份认证必须通过 HTTPS 访问：请把 JIZUO_ISSUER 配置为 https 地址",
                         code="insecure_transport") from exc


def _secure(settings: Settings) -> bool:
    return settings.issuer.startswith("https://")


def _with_csrf(request: Request, settings: Settings) -> tuple[str, str | None]:
    """(form token, new cookie value or None when the browser's cookie can be kept)."""
    cookie = request.cookies.get(sessions.CSRF_COOKIE)
    if cookie:
        return sessions.form_token_for(settings, cookie), None
    cookie, token = sessions.new_csrf(settings)
    return token, cookie


def _set_csrf_cookie(response: Response, cookie: str | None, settings: Settings) -> Response:
    if cookie:
        response.set_cookie(sessions.CSRF_COOKIE, cookie, httponly=True, samesite="strict",
                            secure=_secure(settings), path=sessions.COOKIE_PATH)
    return response


def _csrf_ok(request: Request, form: dict[str, str], settings: Settings) -> bool:
    return sessions.csrf_ok(settings, request.cookies.get(sessions.CSRF_COOKIE), form.get("csrf_token"))


def _sign_in_page(request: Request, settings: Settings, client: Client | None, oreq: StarletteOAuth2Request,
                  *, error: str | None = None, username: str = "", status_code: int = 200) -> Response:
    token, cookie = _with_csrf(request, settings)
    page = pages.sign_in_page(client.name if client else "", oreq.payload.data, token, error=error,
                              username=username, status=status_code)
    return _set_csrf_cookie(page, cookie, settings)


def _render(request: Request, settings: Settings, step: service.AuthorizeStep, oreq: StarletteOAuth2Request,
            user: EndUser | None) -> Response:
    if step.kind == "respond" and step.response is not None:
        return to_response(step.response)
    if step.kind == "sign_in":
        return _sign_in_page(request, settings, step.client, oreq)
    if step.kind == "consent" and step.client is not None and user is not None:
        token, cookie = _with_csrf(request, settings)
        page = pages.consent_page(step.client.name, user.display_name, step.scopes, oreq.payload.data, token)
        return _set_csrf_cookie(page, cookie, settings)
    return pages.error_page(step.message or "登录请求无效")


# --- Discovery and keys ------------------------------------------------------------------------------

@router.get("/.well-known/openid-configuration", summary="OpenID Connect 发现文档")
async def openid_configuration() -> JSONResponse:
    return JSONResponse(service.discovery(get_settings()), headers={"Cache-Control": "public, max-age=300"})


@router.get("/oidc/jwks", summary="签名公钥（JWKS）")
async def jwks() -> JSONResponse:
    return JSONResponse(get_signing_keys().jwks(), headers={"Cache-Control": "public, max-age=300"})


# --- Authorization endpoint --------------------------------------------------------------------------

@router.get("/oidc/authorize", summary="授权端点（登录页）", response_class=Response)
async def authorize(request: Request, unit: UnitDep) -> Response:
    settings, keys = get_settings(), get_signing_keys()
    oreq = await _oauth2_request(request, settings)
    user = await sessions.user_from_cookie(unit.db, keys, request.cookies.get(sessions.SSO_COOKIE), utcnow())
    step = await service.authorize(unit.db, unit.trail, keys, settings, oreq, user)
    await unit.commit()
    return _render(request, settings, step, oreq, user)


@router.post("/oidc/authorize", summary="登录表单提交 / 授权确认", response_class=Response)
async def authorize_submit(request: Request, unit: UnitDep) -> Response:
    settings, keys = get_settings(), get_signing_keys()
    form = dict(await read_form(request))
    oreq = await _oauth2_request(request, settings)
    if not _csrf_ok(request, form, settings):
        return pages.error_page("页面已过期或请求来源无法验证，请返回应用重新登录。")
    action = form.get("action", "login")
    if action in ("allow", "deny"):
        user = await sessions.user_from_cookie(unit.db, keys, request.cookies.get(sessions.SSO_COOKIE), utcnow())
        step = await service.authorize(unit.db, unit.trail, keys, settings, oreq, user,
                                       decision="allow" if action == "allow" else "deny")
        await unit.commit()
        return _render(request, settings, step, oreq, user)

    step = await service.authorize(unit.db, unit.trail, keys, settings, oreq, None)
    if step.kind != "sign_in":  # the request itself is invalid: do not even look at the password
        await unit.commit()
        return _render(request, settings, step, oreq, None)
    username = form.get("username", "").strip()
    session_id, error = await service.sign_in(unit.db, unit.trail, keys, settings, username=username,
                                              password=form.get("password", ""),
                                              user_agent=request.headers.get("user-agent"))
    await unit.commit()  # failure counts and lockouts must stick even though we answer with an error
    user = await sessions.end_user_of_session(unit.db, session_id, utcnow()) if session_id else None
    if user is None:
        detail = error.detail if error else "登录失败，请重试"
        return _sign_in_page(request, settings, step.client, oreq, error=detail, username=username,
                             status_code=error.status if error else 401)
    step = await service.authorize(unit.db, unit.trail, keys, settings, oreq, user, just_signed_in=True)
    await unit.commit()
    response = _render(request, settings, step, oreq, user)
    response.set_cookie(sessions.SSO_COOKIE, sessions.session_cookie(keys, settings, user), httponly=True,
                        samesite="lax", secure=_secure(settings), path=sessions.COOKIE_PATH,
                        max_age=settings.refresh_token_days * 86400)
    return response


# --- Token and userinfo ------------------------------------------------------------------------------

@router.post("/oidc/token", summary="令牌端点（authorization_code / refresh_token）")
async def token(request: Request, unit: UnitDep) -> Response:
    settings = get_settings()
    oreq = await _oauth2_request(request, settings, exclude=())
    result = await service.exchange_token(unit.db, unit.trail, get_signing_keys(), settings, oreq)
    await unit.commit()
    return to_response(result)


async def _userinfo(request: Request, unit: UnitDep) -> JSONResponse:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    bearer = credentials.strip() if scheme.lower() == "bearer" else None
    try:
        claims = await service.userinfo(unit.db, get_signing_keys(), bearer)
    except service.BearerError as exc:
        challenge = f'Bearer error="{exc.error}", error_description="{exc.description}"'
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status_code=exc.status,
                            headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"})
    return JSONResponse(claims, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/oidc/userinfo", summary="用户信息端点")
async def userinfo(request: Request, unit: UnitDep) -> JSONResponse:
    return await _userinfo(request, unit)


@router.post("/oidc/userinfo", summary="用户信息端点（POST）")
async def userinfo_post(request: Request, unit: UnitDep) -> JSONResponse:
    return await _userinfo(request, unit)


# --- End session ---------------------------------------------------------------------------------------

async def _logout(request: Request, unit: UnitDep, *, confirmed: bool) -> Response:
    settings, keys = get_settings(), get_signing_keys()
    oreq = await _oauth2_request(request, settings)
    user = await sessions.user_from_cookie(unit.db, keys, request.cookies.get(sessions.SSO_COOKIE), utcnow())
    step = await service.end_session(unit.db, unit.trail, keys, settings, oreq, user, confirmed=confirmed)
    await unit.commit()
    if step.kind == "error":
        return pages.error_page(step.message)
    if step.kind == "confirm" and user is not None:
        token, cookie = _with_csrf(request, settings)
        page = pages.logout_confirm_page(step.client.name if step.client else None, user.display_name,
                                         oreq.payload.data, token)
        return _set_csrf_cookie(page, cookie, settings)
    response = to_response(step.response) if step.response is not None else pages.logged_out_page()
    response.delete_cookie(sessions.SSO_COOKIE, path=sessions.COOKIE_PATH, httponly=True, samesite="lax",
                           secure=_secure(settings))
    return response


@router.get("/oidc/logout", summary="退出登录（RP-Initiated Logout）", response_class=Response)
async def logout(request: Request, unit: UnitDep) -> Response:
    return await _logout(request, unit, confirmed=False)


@router.post("/oidc/logout", summary="确认退出登录", response_class=Response)
async def logout_confirmed(request: Request, unit: UnitDep) -> Response:
    if not _csrf_ok(request, dict(await read_form(request)), get_settings()):
        return pages.error_page("页面已过期或请求来源无法验证，请重新操作。")
    return await _logout(request, unit, confirmed=True)


# --- Client registry (district admins) ---------------------------------------------------------------

ClientIdPath = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]


def _client_out(row: OAuthClient, **extra: Any) -> dict[str, Any]:
    return dict(client_id=row.client_id, name=row.name, redirect_uris=row.redirect_uris,
                post_logout_redirect_uris=row.post_logout_redirect_uris or [], scopes=row.scopes,
                trusted=row.trusted, confidential=row.client_secret_hash is not None,
                created_at=row.created_at, **extra)


@router.get("/api/v1/sso/clients", response_model=list[ClientOut], summary="单点登录接入应用列表")
async def list_clients(scope: ScopeDep, unit: UnitDep) -> list[ClientOut]:
    rows = await clients.list_clients(unit.db, unit.trail, scope)
    return [ClientOut(**_client_out(row)) for row in rows]


@router.post("/api/v1/sso/clients", response_model=ClientCreated, status_code=status.HTTP_201_CREATED,
             summary="登记接入应用（机密客户端的 client_secret 仅返回一次）")
async def create_client(body: ClientCreate, scope: ScopeDep, unit: UnitDep) -> ClientCreated:
    registered = await clients.create_client(unit.db, unit.trail, scope, body)
    await unit.commit()
    await unit.db.refresh(registered.client)
    return ClientCreated(**_client_out(registered.client, client_secret=registered.client_secret))


@router.delete("/api/v1/sso/clients/{client_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="删除接入应用")
async def delete_client(client_id: ClientIdPath, scope: ScopeDep, unit: UnitDep) -> Response:
    await clients.delete_client(unit.db, unit.trail, scope, client_id)
    await unit.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
