"""PortalError tree and the one handler that renders {"error": {"code", "message"}}."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class PortalError(Exception):
    status = 400
    code = "bad_request"
    message = "Bad request"

    def __init__(self, message: str | None = None, *, code: str | None = None, **details: Any) -> None:
        self.message = message or self.message
        if code:
            self.code = code
        self.details = details
        super().__init__(self.message)


class Unauthorized(PortalError):
    status, code, message = 401, "unauthorized", "Authentication required"


class Forbidden(PortalError):
    status, code, message = 403, "forbidden", "Not allowed"


class NotFound(PortalError):
    """Also used for "exists but is not yours", so ids of others leak nothing."""

    status, code, message = 404, "not_found", "Not found"


class Conflict(PortalError):
    status, code, message = 409, "conflict", "Conflict"


class Unprocessable(PortalError):
    status, code, message = 422, "validation_error", "Invalid input"


class UpstreamError(PortalError):
    """Stripe (or another upstream) failed; the request can be retried."""

    status, code, message = 502, "upstream_error", "The billing provider did not answer; try again"


def error_body(code: str, message: str, **details: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "Invalid input"


ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ErrorDetail": {
        "type": "object",
        "required": ["code", "message"],
        "properties": {
            "code": {"type": "string", "description": "Stable, machine-readable (not_signed_in, ...)"},
            "message": {"type": "string", "description": "For people; may change"},
            "details": {"type": "object", "additionalProperties": True},
        },
        "additionalProperties": False,
    },
    "ErrorResponse": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"$ref": "#/components/schemas/ErrorDetail"}},
        "additionalProperties": False,
    },
}
ERROR_RESPONSE = {
    "description": "Error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document say what the handlers below answer: every operation may fail with
    {"error": {"code", "message"}} (as `default`), and its 422 has that shape, not FastAPI's {"detail"}."""
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(ERROR_SCHEMAS)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if "422" in responses:
                responses["422"] = {**ERROR_RESPONSE, "description": "Validation Error"}
            responses.setdefault("default", ERROR_RESPONSE)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def install_error_schema(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    install_error_schema(app)

    @app.exception_handler(PortalError)
    async def _portal_error(_: Request, exc: PortalError) -> JSONResponse:
        headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else None
        return JSONResponse(
            error_body(exc.code, exc.message, **exc.details), status_code=exc.status, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body("validation_error", _validation_message(exc)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The observability middleware logs it first, with the request id, and says so in the scope.
        if not request.scope.get("portal.error_logged"):
            log.exception("unhandled_error", error_type=type(exc).__name__)
        return JSONResponse(error_body("internal_error", "Something went wrong on our side"), status_code=500)
