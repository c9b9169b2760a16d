"""Spaced review of skills, scheduled with FSRS (the ``fsrs`` package).

Each agent and skill has one FSRS card; every attempt on the skill is a review of it. An
attempt's outcome becomes a rating:

- failure -> Again (the card relearns and comes back in minutes);
- success with a score below 0.7 -> Hard;
- success with a score below 0.95, or with no score -> Good;
- success with a score of 0.95 or more -> Easy.

The scheduler aims at 95% retention: a skill is due when the chance that it is still recalled
falls to 95%, the share of mastered skills Etude means to keep. It never fuzzes intervals (the
same history always gives the same due time), and uses one short learning step, so a skill
returns within minutes after a failure and leaves learning after its first success. The review state is the card's own
dict (``Card.to_dict()``), ready for a JSON field; an empty dict is a skill never reviewed.
Nothing here touches the database.
"""

from datetime import UTC, timedelta

from fsrs import Card, Rating, Scheduler

DESIRED_RETENTION = 0.95
LEARNING_STEPS = (timedelta(minutes=10),)
RELEARNING_STEPS = (timedelta(minutes=10),)
# Tools, prompts and tasks change under an agent, so even a well-kept skill is checked twice a
# year.
MAXIMUM_INTERVAL_DAYS = 180
HARD_BELOW = 0.7
EASY_FROM = 0.95

_scheduler = Scheduler(
    desired_retention=DESIRED_RETENTION,
    learning_steps=LEARNING_STEPS,
    relearning_steps=RELEARNING_STEPS,
    maximum_interval=MAXIMUM_INTERVAL_DAYS,
    enable_fuzzing=False,
)


def rating_for(*, success, score=None):
    """The FSRS rating an attempt's outcome counts as (see the module docstring)."""
    if not success:
        return Rating.Again
    if score is None:
        return Rating.Good
    if score < HARD_BELOW:
        return Rating.Hard
    if score < EASY_FROM:
        return Rating.Good
    return Rating.Easy


def review(review_state, *, success, score, at):
    """The review state after an attempt at ``at``, and when the skill is next due."""
    at = _utc(at)
    card = _card(review_state, at)
    card, _ = _scheduler.review_card(card, rating_for(success=success, score=score), at)
    return card.to_dict(), card.due


def due_at(review_state):
    """When the skill is next due, or None if it was never reviewed."""
    if not review_state:
        return None
    return Card.from_dict(review_state).due


def retrievability(review_state, now):
    """FSRS's chance that the skill is still recalled at ``now``; 0 if it was never reviewed."""
    if not review_state:
        return 0.0
    return _scheduler.get_card_retrievability(Card.from_dict(review_state), _utc(now))


def is_due(review_state, now):
    """Whether the skill should be reviewed at ``now``; a skill never reviewed always is."""
    due = due_at(review_state)
    return due is None or _utc(now) >= due


def _card(review_state, at):
    if not review_state:
        # A card id from the first review's time keeps the state reproducible (fsrs would use
        # the wall clock).
        return Card(card_id=int(at.timestamp() * 1000), due=at)
    return Card.from_dict(review_state)


def _utc(at):
    # fsrs accepts only datetime.timezone.utc itself, not another UTC tzinfo (zoneinfo, pytz).
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("review times must be timezone-aware")
    return at.astimezone(UTC)
