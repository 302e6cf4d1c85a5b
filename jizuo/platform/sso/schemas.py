"""Request and response models of the client registry (the admin API of the OpenID Connect provider)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

SCOPES = ("openid", "profile", "organization", "roles")
SCOPE_NAMES = {
    "openid": "确认您的身份（用户编号）",
    "profile": "姓名与用户名",
    "organization": "所属机构（编码与名称）",
    "roles": "角色",
}


def check_redirect_uri(uri: str) -> str:
    """Absolute http(s) URL without a fragment (RFC 6749 §3.1.2); compared later by exact string match."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"回调地址必须是完整的 http/https 地址：{uri}")
    if parts.fragment or "#" in uri:
        raise ValueError(f"回调地址不能包含 # 片段：{uri}")
    return uri


class ClientCreate(BaseModel):
    client_id: str = Field(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$",
                           description="应用标识 client_id（小写字母、数字、. _ -）")
    name: str = Field(min_length=1, max_length=100, description="应用名称（登录页上显示）")
    redirect_uris: list[str] = Field(min_length=1, max_length=20, description="登记的回调地址 redirect_uri")
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=20,
                                                 description="退出登录后允许跳转的地址")
    scopes: list[str] = Field(default_factory=lambda: list(SCOPES), description="允许申请的 scope")
    trusted: bool = Field(False, description="区内自建应用：无需用户授权确认")
    confidential: bool = Field(
        False, description="机密客户端（服务端应用，发放 client_secret）；否则为公共客户端，必须使用 PKCE")

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _uris(cls, value: list[str]) -> list[str]:
        return [check_redirect_uri(uri.strip()) for uri in value]

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SCOPES))
        if unknown:
            raise ValueError(f"不支持的 scope：{'、'.join(unknown)}")
        if "openid" not in value:
            raise ValueError("scope 必须包含 openid")
        return [s for s in SCOPES if s in value]


class ClientOut(BaseModel):
    client_id: str
    name: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    scopes: list[str]
    trusted: bool
    confidential: bool
    created_at: datetime | None = None


class ClientCreated(ClientOut):
    client_secret: str | None = Field(None, description="仅在创建时返回一次，请妥善保存")
