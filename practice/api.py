"""The agent API (/api/v1/): thin views over the practice services."""

import re
from types import SimpleNamespace
from urllib.parse import parse_qsl

import orjson
from django.conf import settings
from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import get_conditional_response
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import condition
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import exceptions, permissions, status
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from practice import memory, serializers
from practice.api_errors import PayloadTooLarge, Problems, Refused
from practice.authentication import AgentKeyAuthentication, AgentPrincipal
from practice.models import CompetencyEstimate, Strategy
from practice.services import PracticeError
from practice.services.assignments import claim_next_assignment
from practice.services.attempts import AttemptInputError, record_attempt, record_attempts
from practice.services.feedback import FeedbackConflict, give_feedback
from practice.services.proposals import OutOfBoundaries, propose_skill_for_agent
from taxonomy.models import KEY_PATTERN

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


def _attempt_out(attempt, created):
    return {
        "id": attempt.pk,
        "created": created,
        "external_id": attempt.external_id,
        "skill": attempt.skill.key,
        "source": attempt.source,
        "success": attempt.success,
        "score": attempt.score,
        "out_of_bounds": attempt.out_of_bounds,
        "steps": attempt.step_count,
        "scenario": attempt.scenario_id,
    }


class AttemptsView(AgentAPIView):
    @extend_schema(
        operation_id="report_attempt",
        request=serializers.AttemptInSerializer,
        responses={
            201: serializers.AttemptOutSerializer,
            200: OpenApiResponse(
                serializers.AttemptOutSerializer, description="Already stored (same external_id)"
            ),
            **BODY_ERRORS,
        },
        summary="Report one task attempt with its trace",
        examples=[
            OpenApiExample(
                "Steps trace", value=serializers.STEPS_ATTEMPT_EXAMPLE, request_only=True
            ),
            OpenApiExample(
                "OpenAI chat trace", value=serializers.CHAT_ATTEMPT_EXAMPLE, request_only=True
            ),
        ],
    )
    def post(self, request):
        payload = self.json_body()
        try:
            attempt, created = record_attempt(self.agent, payload)
        except AttemptInputError as error:
            raise Problems(error.problems) from None
        return Response(
            _attempt_out(attempt, created),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class BulkAttemptsView(AgentAPIView):
    @extend_schema(
        operation_id="report_attempts_bulk",
        request=serializers.BulkAttemptsInSerializer,
        responses={
            201: serializers.BulkAttemptsOutSerializer,
            200: serializers.BulkAttemptsOutSerializer,
            **BODY_ERRORS,
        },
        summary="Report up to 500 attempts at once (all or nothing)",
        examples=[
            OpenApiExample(
                "Two attempts",
                value={
                    "attempts": [
                        serializers.STEPS_ATTEMPT_EXAMPLE,
                        serializers.CHAT_ATTEMPT_EXAMPLE,
                    ]
                },
                request_only=True,
            )
        ],
    )
    def post(self, request):
        body = self.json_body()
        if not isinstance(body, dict):
            raise Problems([("", "must be an object with one field, attempts: a list")])
        problems = [
            (name, "unknown field; expected only attempts") for name in body if name != "attempts"
        ]
        if "attempts" not in body:
            problems.append(("attempts", "is required"))
        if problems:
            raise Problems(problems)
        try:
            result = record_attempts(self.agent, body["attempts"])
        except AttemptInputError as error:
            raise Problems(error.problems) from None
        created = sum(1 for _, was_created in result.items if was_created)
        return Response(
            {
                "created": created,
                "replayed": len(result.items) - created,
                "attempts": [_attempt_out(attempt, made) for attempt, made in result.items],
            },
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


# --- Memory ----------------------------------------------------------------------------------------

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


class FirstRenderer(BaseContentNegotiation):
    """The view's one format whatever Accept asks for (the prompt is always Markdown, errors
    always JSON): an agent's HTTP client often sends its own default Accept header."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


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


# --- Feedback, practice, proposals, competency ----------------------------------------------------


class FeedbackView(AgentAPIView):
    @extend_schema(
        operation_id="give_feedback",
        request=serializers.FeedbackInSerializer,
        responses={
            201: serializers.FeedbackOutSerializer,
            200: serializers.FeedbackOutSerializer,
            404: serializers.ErrorSerializer,
            409: serializers.ErrorSerializer,
            **BODY_ERRORS,
        },
        summary="Say whether a strategy helped",
        examples=[
            OpenApiExample("Helpful", value={"verdict": "helpful"}, request_only=True),
            OpenApiExample(
                "Harmful in an attempt",
                value={"verdict": "harmful", "attempt": 1},
                request_only=True,
            ),
        ],
    )
    def post(self, request, strategy_id):
        body = serializers.FeedbackInSerializer(data=self.json_body())
        body.is_valid(raise_exception=True)
        strategy = Strategy.objects.select_related("skill").filter(pk=strategy_id).first()
        if strategy is None or strategy.status not in {
            Strategy.Status.LIVE,
            Strategy.Status.RETIRED,
        }:
            raise Refused(
                f"No live strategy {strategy_id}.", status.HTTP_404_NOT_FOUND, "not_found"
            )
        try:
            feedback, recorded = give_feedback(
                self.agent,
                strategy,
                body.validated_data["verdict"],
                attempt_id=body.validated_data.get("attempt"),
            )
        except FeedbackConflict as error:
            raise Refused(str(error), status.HTTP_409_CONFLICT, "conflict") from None
        except PracticeError as error:
            raise Refused(str(error)) from None
        strategy.refresh_from_db(fields=["helpful_count", "harmful_count"])
        return Response(
            {
                "strategy": strategy.pk,
                "verdict": feedback.verdict,
                "attempt": feedback.attempt_id,
                "recorded": recorded,
                "helpful": strategy.helpful_count,
                "harmful": strategy.harmful_count,
            },
            status=status.HTTP_201_CREATED if recorded else status.HTTP_200_OK,
        )


class PracticeNextView(AgentAPIView):
    @extend_schema(
        operation_id="claim_practice",
        request=None,
        responses={200: serializers.PracticeAssignmentOutSerializer, 204: None, **ERRORS},
        summary="Claim the next practice scenario due for this agent",
    )
    def get(self, request):
        assignment = claim_next_assignment(self.agent)
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(serializers.PracticeAssignmentOutSerializer(assignment).data)


class ProposalsView(AgentAPIView):
    @extend_schema(
        operation_id="propose_skill",
        request=serializers.ProposalInSerializer,
        responses={
            201: serializers.ProposalOutSerializer,
            403: serializers.ErrorSerializer,
            **BODY_ERRORS,
        },
        summary="Propose a new sub-skill or failure mode for review",
        examples=[
            OpenApiExample("Failure mode", value=serializers.PROPOSAL_EXAMPLE, request_only=True)
        ],
    )
    def post(self, request):
        body = serializers.ProposalInSerializer(data=self.json_body())
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            proposal = propose_skill_for_agent(
                self.agent,
                parent_key=data["parent"],
                key=data["key"],
                name=data["name"],
                description=data.get("description", ""),
                rationale=data["rationale"],
                kind=data["kind"],
                evidence=data["evidence"],
            )
        except OutOfBoundaries as error:
            raise Refused(str(error), status.HTTP_403_FORBIDDEN, "out_of_bounds") from None
        except PracticeError as error:
            raise Refused(str(error)) from None
        return Response(
            serializers.ProposalOutSerializer(proposal).data, status=status.HTTP_201_CREATED
        )


class CompetencyView(AgentAPIView):
    @extend_schema(
        operation_id="own_competency",
        responses={200: serializers.CompetencyOutSerializer(many=True), **ERRORS},
        summary="This agent's competency per skill",
    )
    def get(self, request):
        estimates = CompetencyEstimate.objects.filter(agent=self.agent).select_related("skill")
        return Response(
            serializers.CompetencyOutSerializer(estimates.order_by("skill__key"), many=True).data
        )


@csrf_exempt  # agents send no CSRF token; this view changes nothing
def unknown_endpoint(request, *args, **kwargs):
    """Any other path under /api/v1/: a JSON 404, never an HTML page."""
    from django.http import JsonResponse

    return JsonResponse(
        {"detail": f"There is no API endpoint at {request.path}.", "errors": []}, status=404
    )
