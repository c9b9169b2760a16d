"""One error shape for the whole agent API:

{"detail": "what went wrong", "errors": [{"path": "attempts[2].score", "message": "..."}]}
"""

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


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
    return Response(body, status=response.status_code, headers=_kept_headers(response))


def _kept_headers(response):
    return {
        name: value
        for name, value in response.items()
        if name in {"WWW-Authenticate", "Retry-After", "Allow"}
    }
