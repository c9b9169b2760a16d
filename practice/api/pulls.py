"""GET /memory/ and /memory/prompt/: agents pull the approved strategies for a task; the
API's busiest requests, answered before REST framework's handling when well-formed.
"""

import re
from types import SimpleNamespace
from urllib.parse import parse_qsl

import orjson
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import get_conditional_response
from django.utils.decorators import method_decorator
from django.views.decorators.http import condition
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
)
from rest_framework import exceptions, status

from practice import memory, serializers
from practice.api.base import ERRORS, AgentAPIView, FirstRenderer
from practice.api_errors import Refused
from practice.authentication import AgentKeyAuthentication, AgentPrincipal
from taxonomy.models import KEY_PATTERN

MEMORY_PARAMETERS = [
    OpenApiParameter(
        "skill",
        {"type": "string", "pattern": KEY_PATTERN, "maxLength": 200},
        required=True,
        description="Dotted skill key",
        examples=[OpenApiExample("Skill", value="support.intent")],
    ),
    OpenApiParameter(
        "context",
        {"type": "string", "maxLength": 4000},
        description="The task at hand, for ranking",
        examples=[OpenApiExample("Task", value="The customer asks where order A1 is.")],
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        description="At most this many strategies",
    ),
    OpenApiParameter(
        "release",
        {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
        description="Pin an earlier release number",
    ),
]


def _memory_etag(request, *args, **kwargs):
    """Runs before the view, so a matching If-None-Match is answered without the pull."""
    if not isinstance(request.user, AgentPrincipal):
        return None
    return _pull_etag(request.user, request.path, _query_params(request))


def _query_params(request):
    # Straight from an ASCII query string (what HTTP clients send): building request.GET
    # costs as much as the rest of a 304.
    text = request.META.get("QUERY_STRING", "")
    if not text.isascii():
        return request.GET.dict()
    return dict(parse_qsl(text, keep_blank_values=True))


def _pull_etag(principal, path, params):
    query = "&".join(
        f"{name}={params.get(name, '')}" for name in ("skill", "context", "limit", "release")
    )
    return memory.pull_etag(
        principal.agent, pinned_release=params.get("release"), query=f"{path}?{query}"
    )


MEMORY_QUERY_NAMES = {"skill", "context", "limit", "release"}
PLAIN_SKILL = re.compile(KEY_PATTERN)
PLAIN_NUMBER = re.compile(r"[0-9]{1,10}")
PLAIN_TEXT = re.compile(r"[^\x00\ud800-\udfff]*")


def _plain_memory_query(query):
    """A pull's parameters when they are the usual well-formed ones, else None."""
    skill, context = query.get("skill", ""), query.get("context", "").strip()
    limit, release = query.get("limit", "10"), query.get("release")
    if (
        query.keys() <= MEMORY_QUERY_NAMES
        and len(skill) <= 200
        and PLAIN_SKILL.fullmatch(skill)
        and len(context) <= 4000
        and PLAIN_TEXT.fullmatch(context)
        and PLAIN_NUMBER.fullmatch(limit)
        and 1 <= int(limit) <= 100
        and (release is None or (PLAIN_NUMBER.fullmatch(release) and 1 <= int(release) < 2**31))
    ):
        plain = {"skill": skill, "context": context, "limit": int(limit)}
        if release is not None:
            plain["release"] = int(release)
        return plain
    return None


def _memory_query(query):
    """A pull's validated parameters; MemoryQuerySerializer's messages say what is wrong."""
    plain = _plain_memory_query(query)
    if plain is not None:
        return plain
    checked = serializers.MemoryQuerySerializer(data=query)
    checked.is_valid(raise_exception=True)
    return checked.validated_data


class MemoryView(AgentAPIView):
    as_prompt = False
    # JSON whatever Accept says: negotiating costs a pull more than rendering does.
    content_negotiation_class = FirstRenderer

    def dispatch(self, request, *args, **kwargs):
        # Pulls are most of an agent's traffic and nearly all are well-formed: answer those
        # before REST framework wraps, negotiates and parses the request, with the same key
        # check, rate limit, ETag and answer as get() below. Everything else (a refused key, a
        # bad query, a skill out of bounds) takes that full path, which says what is wrong.
        return self._direct_answer(request) or super().dispatch(request, *args, **kwargs)

    def _direct_answer(self, request):
        if request.method != "GET":
            return None
        try:
            authenticated = AgentKeyAuthentication().authenticate(request)
        except exceptions.AuthenticationFailed:
            return None
        if authenticated is None:
            return None
        caller = SimpleNamespace(user=authenticated[0])
        params = _query_params(request)
        etag = f'"{_pull_etag(caller.user, request.path, params)}"'  # hex: nothing to escape
        answer = _not_modified(request, etag)
        if answer is None:
            query = _plain_memory_query(params)
            if query is None:
                return None
            try:
                answer = self._answer(caller.user.agent, query)
            except memory.PullRefused:
                return None
        # Counted only once the answer is known: a request that goes on to get() counts there.
        if not all(throttle.allow_request(caller, self) for throttle in self.get_throttles()):
            return None
        answer["ETag"] = etag
        return answer

    @extend_schema(
        operation_id="pull_memory",
        parameters=MEMORY_PARAMETERS,
        responses={
            200: serializers.MemoryOutSerializer,
            304: None,
            403: serializers.ErrorSerializer,
            404: serializers.ErrorSerializer,
            **ERRORS,
        },
        summary="Pull the approved strategies for a skill, ranked for the task",
    )
    @method_decorator(condition(etag_func=_memory_etag))
    def get(self, request):
        query = _memory_query(request.GET.dict())
        try:
            return self._answer(self.agent, query)
        except memory.OutsideBoundaries as error:
            raise Refused(str(error), status.HTTP_403_FORBIDDEN, "out_of_bounds") from None
        except (memory.UnknownSkill, memory.UnknownRelease) as error:
            raise Refused(str(error), status.HTTP_404_NOT_FOUND, "not_found") from None

    def _answer(self, agent, query):
        selection = memory.select(
            agent,
            query["skill"],
            context=query.get("context", ""),
            limit=query["limit"],
            release_number=query.get("release"),
        )
        if self.as_prompt:
            return HttpResponse(
                memory.as_prompt(selection), content_type="text/markdown; charset=utf-8"
            )
        represent = serializers.MemoryStrategySerializer.represent
        return HttpResponse(
            orjson.dumps(
                {
                    "release": selection.release.number if selection.release else None,
                    "skill": selection.skill_key,
                    "strategies": [represent(item) for item in selection.strategies],
                }
            ),
            content_type="application/json",
        )


def _not_modified(request, etag):
    """A 304 when If-None-Match holds this ETag, else None."""
    if "HTTP_IF_NONE_MATCH" not in request.META:
        return None
    if request.META["HTTP_IF_NONE_MATCH"] == etag:  # what an agent sends back, mostly
        return HttpResponseNotModified()
    answer = get_conditional_response(request, etag=etag)
    if answer is None or answer.status_code != status.HTTP_304_NOT_MODIFIED:
        return None
    return answer


class MemoryPromptView(MemoryView):
    as_prompt = True

    @extend_schema(
        operation_id="pull_memory_prompt",
        parameters=MEMORY_PARAMETERS,
        responses={
            (200, "text/markdown"): OpenApiTypes.STR,
            304: None,
            403: serializers.ErrorSerializer,
            404: serializers.ErrorSerializer,
            **ERRORS,
        },
        summary="The same selection as a Markdown block for a system prompt",
    )
    def get(self, request):
        return super().get(request)
