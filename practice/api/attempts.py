"""POST /attempts/ and /attempts/bulk/: agents report task attempts with their traces."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import status
from rest_framework.response import Response

from practice import serializers
from practice.api.base import BODY_ERRORS, AgentAPIView
from practice.api_errors import Problems
from practice.services.attempts import AttemptInputError, record_attempt, record_attempts


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
