"""Spaced review of skills with FSRS."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fsrs import Rating

from practice import review

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def review_on_time(outcomes, *, start=START):
    """Review at each due time; returns the final state and the interval each review set."""
    state, at, intervals = {}, start, []
    for success, score in outcomes:
        state, due = review.review(state, success=success, score=score, at=at)
        intervals.append(due - at)
        at = due
    return state, intervals


@pytest.mark.parametrize(
    ("success", "score", "rating"),
    [
        (False, 0.9, Rating.Again),
        (True, 0.5, Rating.Hard),
        (True, 0.8, Rating.Good),
        (True, None, Rating.Good),
        (True, 0.95, Rating.Easy),
    ],
)
def test_an_outcome_maps_to_a_rating(success, score, rating):
    assert review.rating_for(success=success, score=score) == rating


def test_intervals_grow_over_consecutive_successes():
    _, intervals = review_on_time([(True, 0.9)] * 5)

    assert intervals == sorted(intervals)
    assert len(set(intervals)) == len(intervals)
    assert intervals[0] >= timedelta(days=1)


def test_intervals_are_capped():
    _, intervals = review_on_time([(True, 1.0)] * 12)

    assert max(intervals) == timedelta(days=review.MAXIMUM_INTERVAL_DAYS)


def test_a_failure_shortens_the_next_interval():
    _, intervals = review_on_time([(True, 0.9)] * 3 + [(False, 0.2)])

    assert intervals[-1] < intervals[-2]
    assert intervals[-1] <= timedelta(hours=1)


def test_a_failure_after_a_long_streak_comes_back_to_shorter_intervals():
    _, streak = review_on_time([(True, 0.9)] * 4)
    _, lapsed = review_on_time([(True, 0.9)] * 4 + [(False, 0.0), (True, 0.9)])

    assert lapsed[-1] < streak[-1]


def test_a_better_score_gives_a_longer_interval():
    state, _ = review_on_time([(True, 0.9)] * 2)
    due_at = review.due_at(state)
    intervals = [
        review.review(state, success=True, score=score, at=due_at)[1] - due_at
        for score in (0.5, 0.9, 1.0)
    ]

    assert intervals == sorted(intervals)
    assert len(set(intervals)) == 3


def test_is_due_after_the_due_time_and_not_before():
    state, due = review.review({}, success=True, score=0.9, at=START)

    assert not review.is_due(state, due - timedelta(minutes=1))
    assert review.is_due(state, due)
    assert review.is_due(state, due + timedelta(days=3))


def test_a_skill_never_reviewed_is_due():
    assert review.is_due({}, START)
    assert review.due_at({}) is None


def test_the_schedule_is_deterministic():
    outcomes = [(True, 0.9), (True, 0.6), (False, 0.1), (True, 1.0), (True, 0.8)]

    assert review_on_time(outcomes) == review_on_time(outcomes)


def test_the_state_is_json_ready_and_round_trips():
    state, due = review.review({}, success=True, score=0.9, at=START)
    stored = json.loads(json.dumps(state))

    assert review.due_at(stored) == due
    assert review.review(stored, success=True, score=0.9, at=due) == review.review(
        state, success=True, score=0.9, at=due
    )


def test_times_in_other_zones_are_accepted_and_naive_times_refused():
    paris = START.astimezone(ZoneInfo("Europe/Paris"))

    assert review.review({}, success=True, score=0.9, at=paris) == review.review(
        {}, success=True, score=0.9, at=START
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        review.review({}, success=True, score=0.9, at=datetime(2025, 3, 1))


def test_retrievability_is_high_just_after_a_review_and_falls_with_time():
    state, due = review.review({}, success=True, score=1.0, at=START)

    fresh = review.retrievability(state, START + timedelta(hours=1))
    at_due = review.retrievability(state, due)
    long_after = review.retrievability(state, due + timedelta(days=60))

    assert fresh > at_due > long_after
    # Due means the chance of recall has fallen to the desired retention.
    assert at_due == pytest.approx(review.DESIRED_RETENTION, abs=0.01)
    assert review.retrievability({}, START) == 0.0
