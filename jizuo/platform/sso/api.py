"""OpenID Connect provider for the district's applications (filled in by the SSO work)."""

from fastapi import APIRouter

router = APIRouter(tags=["单点登录 SSO"])
