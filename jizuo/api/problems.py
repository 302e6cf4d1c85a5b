"""Every error leaves as RFC 9457 problem JSON with a Chinese `detail` — never a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from jizuo.core.errors import FieldError, JizuoError
from jizuo.fhir.errors import operation_outcome

log = logging.getLogger("jizuo.errors")
PROBLEM_JSON = "application/problem+json"

_VALIDATION_MESSAGES = {
    "missing": "必填项缺失",
    "json_invalid": "请求体不是合法的 JSON",
    "json_type": "请求体必须是 JSON 对象",
    "uuid_parsing": "不是合法的 UUID",
    "uuid_type": "不是合法的 UUID",
    "string_too_short": "长度过短",
    "string_too_long": "长度过长",
    "string_pattern_mismatch": "格式不正确",
    "string_type": "应为字符串",
    "int_parsing": "应为整数",
    "bool_parsing": "应为布尔值（true/false）",
    "datetime_parsing": "不是合法的日期时间（ISO 8601）",
    "datetime_from_date_parsing": "不是合法的日期时间（ISO 8601）",
    "date_from_datetime_parsing": "不是合法的日期（YYYY-MM-DD）",
    "enum": "取值不在允许范围内",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "extra_forbidden": "不允许的字段",
    "model_attributes_type": "请求体必须是 JSON 对象",
}

_HTTP_MESSAGES = {
    404: ("not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    401: ("unauthorized", "未登录或登录已过期"),
    403: ("forbidden", "无权访问"),
}


def problem_response(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def error_response(request: Request, error: JizuoError, headers: dict[str, str] | None = None) -> JSONResponse:
    """Under /fhir an error is an OperationOutcome; everywhere else RFC 9457 problem JSON."""
    if request.url.path == "/fhir" or request.url.path.startswith("/fhir/"):
        return JSONResponse(operation_outcome(error), status_code=error.status, media_type="application/fhir+json",
                            headers=headers)
    return problem_response(error.problem(request.url.path), error.status, headers)


def _field_errors(exc: RequestValidationError) -> list[FieldError]:
    errors = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "form")]
        kind = str(error.get("type", ""))
        message = _VALIDATION_MESSAGES.get(kind)
        if kind == "value_error":  # our validators speak Chinese already
            message = str(error.get("msg", "")).removeprefix("Value error, ")
        errors.append(FieldError(".".join(location) or "body", message or f"取值无效：{error.get('msg')}"))
    return errors


async def _jizuo_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JizuoError)
    log.info("request failed: %s %s -> %s %s", request.method, request.url.path, exc.status, exc.code)
    return error_response(request, exc, exc.headers or None)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    summary = "；".join(f"{e.field}：{e.message}" for e in errors[:3])
    error = JizuoError(detail=f"请求参数有误：{summary}", code="validation_failed", status=422,
                       title="Unprocessable Content", errors=errors)
    log.info("validation failed: %s %s", request.method, request.url.path)
    return error_response(request, error)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, detail = _HTTP_MESSAGES.get(exc.status_code, ("http_error", str(exc.detail)))
    error = JizuoError(detail=detail, code=code, status=exc.status_code, title=str(exc.detail))
    return error_response(request, error, dict(exc.headers or {}) or None)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    error = JizuoError(detail="服务器内部错误，已记录，请稍后重试或联系管理员", code="internal_error", status=500,
                       title="Internal Server Error")
    return error_response(request, error)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(JizuoError, _jizuo_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
