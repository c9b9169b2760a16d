"""One error shape for the whole agent API:

{"detail": "what went wrong", "errors": [{"path": "attempts[2].score", "message": "..."}]}
"""

import logging

import psycopg
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)
# Seconds a client waits before retrying a request the database could not serve.
DATABASE_RETRY_AFTER = 2
# Django's wrappers, and psycopg's own for what runs on the driver directly (COPY).
DATABASE_UNAVAILABLE = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class DatabaseUnavailable(exceptions.APIException):
    """The database connection failed mid-request; the transaction was rolled back."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "The database is unavailable for a moment; nothing from this request was stored. "
        "Send the same request again (attempts with an external_id are stored once)."
    )
    default_code = "database_unavailable"


class Problems(exceptions.APIException):
    """A 400 listing every problem with its JSON path."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, problems, detail="The request is invalid; nothing was stored."):
        super().__init__(detail)
        self.problems = [{"path": path, "message": message} for path, message in problems]


class Refused(exceptions.APIException):
    """A well-formed request the rules do not allow, with the status that fits."""

    def __init__(self, detail, status_code=status.HTTP_400_BAD_REQUEST, code="refused"):
        super().__init__(detail, code)
        self.status_code = status_code


def flatten(detail, path=""):
    """DRF's nested error structure as (JSON path, message) pairs."""
    if isinstance(detail, dict):
        pairs = []
        for name, inner in detail.items():
            if name == "non_field_errors":
                child = path
            elif isinstance(name, int):
                # A ListField reports its items' errors under their index.
                child = f"{path}[{name}]"
            elif path:
                child = f"{path}.{name}"
            else:
                child = str(name)
            pairs.extend(flatten(inner, child))
        return pairs
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [(path, str(item)) for item in detail]
        pairs = []
        for index, inner in enumerate(detail):
            if inner:
                pairs.extend(flatten(inner, f"{path}[{index}]"))
        return pairs
    return [(path, str(detail))]


def api_exception_handler(error, context):
    if isinstance(error, RequestDataTooBig):
        error = PayloadTooLarge(str(error) or PayloadTooLarge.default_detail)
    if isinstance(error, DATABASE_UNAVAILABLE):
        # Lost connection, server restart, failover: the request's transaction is gone, so
        # nothing was half-written and the client can safely send it again.
        logger.warning("Database unavailable during %s: %r", _where(context), error)
        error = DatabaseUnavailable()
    response = exception_handler(error, context)
    if response is None:
        return None
    if isinstance(error, Problems):
        body = {"detail": str(error.detail), "errors": error.problems}
    elif isinstance(error, exceptions.ValidationError):
        problems = flatten(error.detail)
        body = {
            "detail": "The request is invalid; nothing was stored.",
            "errors": [{"path": path, "message": message} for path, message in problems],
        }
    else:
        detail = error.detail if isinstance(error, exceptions.APIException) else str(error)
        body = {"detail": str(detail), "errors": []}
    headers = _kept_headers(response)
    if isinstance(error, DatabaseUnavailable):
        headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return Response(body, status=response.status_code, headers=headers)


def _where(context):
    request = context.get("request")
    return f"{request.method} {request.path}" if request is not None else "a request"


def _kept_headers(response):
    return {
        name: value
        for name, value in response.items()
        if name in {"WWW-Authenticate", "Retry-After", "Allow"}
    }
