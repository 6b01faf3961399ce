"""Stripe-shaped errors: ``{"error": {"type", "code", "message", "param"}}`` with Stripe's statuses."""

from typing import Any


class StripeError(Exception):
    """An error the emulator answers with instead of a resource."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(message, param=param, code=code)


def missing(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", param=param, code="parameter_missing")


def unknown_param(param: str) -> StripeError:
    return StripeError(f"Received unknown parameter: {param}", param=param, code="parameter_unknown")


def not_found(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(f"No such {kind}: '{object_id}'", status=404, code="resource_missing", param=param)


def authentication(message: str) -> StripeError:
    return StripeError(message, status=401, type="authentication_error")


def idempotency(message: str) -> StripeError:
    return StripeError(message, status=400, type="idempotency_error")


def api_error(message: str) -> StripeError:
    return StripeError(message, status=500, type="api_error")
