"""authlib ↔ Starlette glue, modelled on authlib's Flask integration (`integrations/flask_oauth2/`).

authlib's `AuthorizationServer` is framework-agnostic: an integration supplies `create_oauth2_request`
(the framework's request → `OAuth2Request`) and `handle_response` ((status, body, headers) → the
framework's response). Starlette reads the body asynchronously, so the request is read first
(`read_oauth2_request`) into a plain `OAuth2Request`; authlib then works on it synchronously (also safely
in a worker thread). `handle_response` returns a framework-free `ProtocolResponse`, which `to_response`
turns into a Starlette response at the edge — so the service layer never imports Starlette.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Payload, OAuth2Request
from starlette.requests import Request
from starlette.responses import Response

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class PlainPayload(OAuth2Payload):
    """Query and form parameters, form winning (Flask's `request.values` lets the query win, but our
    own forms post to a bare URL, so the two never overlap in practice)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        self._data: dict[str, str] = {}
        for key, value in pairs:
            self._datalist[key].append(value)
            self._data.setdefault(key, value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class StarletteOAuth2Request(OAuth2Request):
    def __init__(self, method: str, uri: str, headers: Mapping[str, str],
                 query: list[tuple[str, str]], form: list[tuple[str, str]]) -> None:
        super().__init__(method=method, uri=uri, headers=headers)
        self._args = dict(reversed(query))  # first value wins, like a MultiDict's get
        self._form = dict(reversed(form))
        self.payload = PlainPayload([*form, *query])

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


async def read_form(request: Request) -> list[tuple[str, str]]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or content_type not in FORM_TYPES:
        return []
    form = await request.form()
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


async def read_oauth2_request(request: Request, public_base: str, *,
                              exclude: Collection[str] = ()) -> StarletteOAuth2Request:
    """The request as authlib sees it. The URI is rebuilt on the provider's public base (the issuer):
    authlib refuses plain-http URIs that are not loopback, and behind a TLS-terminating proxy the URI
    the app sees is not what the browser used. Fields in `exclude` (password, CSRF token) stay out."""
    form = [(k, v) for k, v in await read_form(request) if k not in exclude]
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in exclude]
    uri = public_base.rstrip("/") + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = {k.title(): v for k, v in request.headers.items()}
    return StarletteOAuth2Request(request.method, uri, headers, query, form)


@dataclass(frozen=True)
class ProtocolResponse:
    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)


class StarletteAuthorizationServer(AuthorizationServer):
    """The framework half of an authorization server; subclasses add the grants and data access."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        raise TypeError("read the request with read_oauth2_request() first (Starlette bodies are async)")

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("no JSON endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> ProtocolResponse:
        return ProtocolResponse(status, body, list(headers or []))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's Flask integration sends blinker signals here; we audit in the service instead."""


def to_response(result: ProtocolResponse) -> Response:
    body = result.body
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False)
    return Response(content=body or b"", status_code=result.status, headers=dict(result.headers))
