"""The rest of an agent's loop: feedback on strategies, practice claims, taxonomy
proposals and its own competency.
"""

from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
)
from rest_framework import status
from rest_framework.response import Response

from practice import serializers
from practice.api.base import BODY_ERRORS, ERRORS, AgentAPIView
from practice.api_errors import Refused
from practice.models import CompetencyEstimate, Strategy
from practice.services import PracticeError
from practice.services.assignments import claim_next_assignment
from practice.services.feedback import FeedbackConflict, give_feedback
from practice.services.proposals import OutOfBoundaries, propose_skill_for_agent


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
