"""What every agent API view shares: key authentication, JSON errors, size limits."""

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import (
    OpenApiResponse,
)
from rest_framework import permissions
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from practice import serializers
from practice.api_errors import PayloadTooLarge, Problems
from practice.authentication import AgentKeyAuthentication, AgentPrincipal

ERRORS = {
    400: OpenApiResponse(serializers.ErrorSerializer, description="Invalid request"),
    401: OpenApiResponse(serializers.ErrorSerializer, description="Missing or refused key"),
}
BODY_ERRORS = {
    **ERRORS,
    413: OpenApiResponse(serializers.ErrorSerializer, description="Request body too large"),
    415: OpenApiResponse(serializers.ErrorSerializer, description="Body is not JSON"),
}


class IsAgent(permissions.BasePermission):
    message = "An agent API key is required."

    def has_permission(self, request, view):
        return isinstance(request.user, AgentPrincipal)


class AgentJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json.loads gives up on deep nesting with RecursionError, not the ValueError
            # JSONParser turns into a 400.
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class AgentAPIView(APIView):
    authentication_classes = [AgentKeyAuthentication]
    permission_classes = [IsAgent]
    parser_classes = [AgentJSONParser]
    renderer_classes = [JSONRenderer]

    def initial(self, request, *args, **kwargs):
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge(
                f"The request body has {length} bytes; the limit is "
                f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            )
        super().initial(request, *args, **kwargs)

    @property
    def agent(self):
        return self.request.user.agent

    def json_body(self):
        if not self.request.body:
            raise Problems([("", "The request body is empty; send a JSON object.")])
        return self.request.data


class FirstRenderer(BaseContentNegotiation):
    """The view's one format whatever Accept asks for (the prompt is always Markdown, errors
    always JSON): an agent's HTTP client often sends its own default Accept header."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


@csrf_exempt  # agents send no CSRF token; this view changes nothing
def unknown_endpoint(request, *args, **kwargs):
    """Any other path under /api/v1/: a JSON 404, never an HTML page."""
    from django.http import JsonResponse

    return JsonResponse(
        {"detail": f"There is no API endpoint at {request.path}.", "errors": []}, status=404
    )
