"""Agents telling Etude whether a strategy helped."""

from django.db import IntegrityError, transaction
from django.db.models import F

from practice.models import Attempt, Strategy, StrategyFeedback
from practice.services.agents import is_within_boundaries
from practice.services.errors import PracticeError


class FeedbackConflict(PracticeError):
    """Feedback for this attempt and strategy was already given with the other verdict."""


def give_feedback(agent, strategy, verdict, *, attempt_id=None):
    """Record helpful/harmful feedback and count it; the same feedback twice counts once."""
    if verdict not in StrategyFeedback.Verdict.values:
        raise PracticeError(f"verdict must be one of {', '.join(StrategyFeedback.Verdict.values)}.")
    if not is_within_boundaries(agent, strategy.skill):
        raise PracticeError(f"Strategy {strategy.pk} is outside this agent's boundaries.")
    attempt = None
    if attempt_id is not None:
        attempt = Attempt.objects.filter(pk=attempt_id, agent=agent).first()
        if attempt is None:
            raise PracticeError(f"Attempt {attempt_id} is not one of this agent's attempts.")
        earlier = StrategyFeedback.objects.filter(strategy=strategy, attempt=attempt).first()
        if earlier is not None:
            if earlier.verdict != verdict:
                raise FeedbackConflict(
                    f"Attempt {attempt_id} already marked strategy {strategy.pk} as "
                    f"{earlier.verdict}."
                )
            return earlier, False
    counter = "helpful_count" if verdict == StrategyFeedback.Verdict.HELPFUL else "harmful_count"
    try:
        with transaction.atomic():
            feedback = StrategyFeedback.objects.create(
                strategy=strategy, agent=agent, attempt=attempt, verdict=verdict
            )
            Strategy.objects.filter(pk=strategy.pk).update(**{counter: F(counter) + 1})
    except IntegrityError:
        # A concurrent request recorded the same feedback first.
        return StrategyFeedback.objects.get(strategy=strategy, attempt=attempt), False
    return feedback, True
