"""The competency estimator: a Gaussian ability on the logit scale, updated per attempt."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from practice import estimator

START = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def state_after(outcomes, *, difficulty=0.5, start=START):
    """The state after attempts one minute apart, each ``(y, difficulty)`` or just ``y``."""
    state = estimator.initial_state(start)
    for minute, outcome in enumerate(outcomes, start=1):
        y, task_difficulty = outcome if isinstance(outcome, tuple) else (outcome, difficulty)
        at = start + timedelta(minutes=minute)
        state = estimator.update(state, y=y, difficulty=task_difficulty, at=at)
    return state


def estimate(state):
    return estimator.competency(state)[0]


def uncertainty(state):
    return estimator.competency(state)[1]


def test_the_prior_is_a_coin_flip_with_the_widest_uncertainty():
    assert estimator.competency(estimator.initial_state()) == pytest.approx((0.5, 0.5))
    assert estimator.competency({}) == pytest.approx((0.5, 0.5))


def test_a_success_raises_and_a_failure_lowers_the_estimate():
    prior = estimate(estimator.initial_state(START))

    assert estimate(state_after([1.0])) > prior
    assert estimate(state_after([0.0])) < prior


def test_one_step_is_the_documented_laplace_step():
    # From the prior, p = 0.5: var' = 1 / (1/4 + 1/4) = 2 and mu' = 0 + 2 * (y - 0.5).
    success = state_after([1.0])
    failure = state_after([0.25])

    assert (success["mu"], success["var"]) == pytest.approx((1.0, 2.0))
    assert (failure["mu"], failure["var"]) == pytest.approx((-0.5, 2.0))


def test_a_partial_score_moves_the_estimate_less_than_a_full_success():
    assert estimate(state_after([0.5])) < estimate(state_after([0.8])) < estimate(state_after([1]))


def test_more_evidence_shrinks_uncertainty():
    uncertainties = [uncertainty(state_after([1.0, 0.0] * n)) for n in range(5)]

    assert uncertainties == sorted(uncertainties, reverse=True)
    assert len(set(uncertainties)) == len(uncertainties)


def test_a_success_on_a_hard_task_raises_more_than_one_on_an_easy_task():
    hard = state_after([(1.0, 0.8)])
    easy = state_after([(1.0, 0.2)])

    assert estimate(hard) > estimate(easy) > 0.5


def test_a_failure_on_an_easy_task_lowers_more_than_one_on_a_hard_task():
    easy = state_after([(0.0, 0.2)])
    hard = state_after([(0.0, 0.8)])

    assert estimate(easy) < estimate(hard) < 0.5


def test_a_missing_difficulty_counts_as_a_medium_task():
    assert state_after([(1.0, None)]) == state_after([(1.0, 0.5)])


def test_observed_outcome_is_the_score_or_one_or_zero_without_it():
    assert estimator.observed_outcome(success=False, score=0.3) == 0.3
    assert estimator.observed_outcome(success=True, score=None) == 1.0
    assert estimator.observed_outcome(success=False, score=None) == 0.0


def test_outcomes_and_difficulties_outside_0_1_are_refused():
    state = estimator.initial_state(START)

    with pytest.raises(ValueError, match="y must lie"):
        estimator.update(state, y=1.5, difficulty=0.5, at=START)
    with pytest.raises(ValueError, match="difficulty must lie"):
        estimator.update(state, y=1.0, difficulty=-0.1, at=START)


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        estimator.update({}, y=1.0, difficulty=0.5, at=datetime(2025, 3, 1))


def test_decay_raises_uncertainty_and_drifts_back_toward_the_prior():
    practiced = state_after([1.0] * 8)
    month_later = estimator.decay(practiced, START + timedelta(days=30))

    assert uncertainty(month_later) > uncertainty(practiced)
    assert 0.5 < estimate(month_later) < estimate(practiced)
    assert month_later["var"] == pytest.approx(
        practiced["var"] + estimator.DRIFT_PER_DAY * 30, 1e-3
    )


def test_decay_halves_the_distance_to_the_prior_mean_each_half_life():
    practiced = state_after([1.0] * 8)
    later = datetime.fromisoformat(practiced["updated_at"]) + timedelta(
        days=estimator.RELAX_HALF_LIFE_DAYS
    )

    assert estimator.decay(practiced, later)["mu"] == pytest.approx(practiced["mu"] / 2)


def test_decay_is_capped_at_the_prior_variance():
    practiced = state_after([1.0] * 8)
    ten_years_later = estimator.decay(practiced, START + timedelta(days=3650))

    assert ten_years_later["var"] == estimator.PRIOR_VAR
    assert ten_years_later["mu"] == pytest.approx(estimator.PRIOR_MU, abs=1e-6)
    assert estimator.competency(ten_years_later) == pytest.approx((0.5, 0.5), abs=1e-6)


def test_decay_in_two_steps_equals_decay_in_one():
    practiced = state_after([1.0, 1.0, 0.0, 1.0])
    once = estimator.decay(practiced, START + timedelta(days=40))
    twice = estimator.decay(
        estimator.decay(practiced, START + timedelta(days=15)), START + timedelta(days=40)
    )

    assert twice["mu"] == pytest.approx(once["mu"])
    assert twice["var"] == pytest.approx(once["var"])
    assert twice["updated_at"] == once["updated_at"]


def test_an_attempt_older_than_the_state_is_counted_without_moving_the_clock():
    state = state_after([1.0, 1.0])
    late = estimator.update(state, y=0.0, difficulty=0.5, at=START - timedelta(days=2))

    assert late["updated_at"] == state["updated_at"]
    assert estimate(late) < estimate(state)


def test_predicted_success_falls_as_tasks_get_harder():
    state = state_after([1.0, 1.0, 0.0])
    predictions = [estimator.predicted_success(state, d / 10) for d in range(11)]

    assert predictions == sorted(predictions, reverse=True)
    assert predictions[0] > 0.8 and predictions[-1] < 0.5


def test_difficulty_for_gives_the_target_success():
    # The prior is so spread out that an 85% chance needs a task easier than the easiest.
    for state in [state_after([1.0, 0.0, 1.0]), state_after([1.0] * 3), state_after([1, 1, 0] * 3)]:
        for target in (0.7, 0.775, 0.85):
            difficulty = estimator.difficulty_for(state, target)
            assert 0.0 < difficulty < 1.0
            assert estimator.predicted_success(state, difficulty) == pytest.approx(target, abs=0.01)


def test_difficulty_for_rises_as_the_agent_improves():
    state = estimator.initial_state(START)
    difficulties = []
    for day in range(1, 8):
        at = START + timedelta(days=day)
        state = estimator.update(state, y=1.0, difficulty=estimator.difficulty_for(state), at=at)
        difficulties.append(estimator.difficulty_for(state))

    assert difficulties == sorted(difficulties)
    assert difficulties[-1] > difficulties[0] + 0.1


def test_difficulty_for_is_clipped_to_0_1():
    assert estimator.difficulty_for({"mu": 20.0, "var": 0.1, "updated_at": None}) == 1.0
    assert estimator.difficulty_for({"mu": -20.0, "var": 0.1, "updated_at": None}) == 0.0


@pytest.mark.parametrize(
    ("mu", "var", "expected"),
    [
        (-2.0, 0.1, "weak"),
        (3.0, 0.1, "mastered"),
        (1.4, 0.1, "learning"),
        (3.0, 4.0, "learning"),
        (0.5, 4.0, "learning"),
    ],
)
def test_classify_is_confident_only_when_the_interval_clears_the_threshold(mu, var, expected):
    state = {"mu": mu, "var": var, "updated_at": None}

    assert estimator.classify(state, threshold=0.8) == expected


def test_classify_with_a_wider_interval_is_more_cautious():
    state = {"mu": 1.8, "var": 0.1, "updated_at": None}

    assert estimator.classify(state, threshold=0.8, z=1.0) == "mastered"
    assert estimator.classify(state, threshold=0.8, z=3.0) == "learning"


def test_a_new_skill_is_neither_weak_nor_mastered():
    assert estimator.classify(estimator.initial_state(), threshold=0.8) == "learning"


def test_roll_up_of_equal_children_equals_a_child():
    child = state_after([1.0, 0.0, 1.0, 1.0])

    parent = estimator.roll_up([(child, 1.0), (dict(child), 2.0), (dict(child), 0.5)])

    assert parent["mu"] == pytest.approx(child["mu"])
    assert parent["var"] == pytest.approx(child["var"])
    assert parent["updated_at"] == child["updated_at"]


def test_roll_up_leans_toward_the_better_known_child_and_keeps_their_disagreement():
    known_strong = {"mu": 2.0, "var": 0.1, "updated_at": START.isoformat()}
    barely_tried = {"mu": -1.0, "var": 3.0, "updated_at": (START + timedelta(days=1)).isoformat()}

    parent = estimator.roll_up([(known_strong, 1.0), (barely_tried, 1.0)])

    assert 1.5 < parent["mu"] < 2.0
    assert parent["var"] > known_strong["var"]
    assert parent["updated_at"] == barely_tried["updated_at"]


def test_roll_up_of_no_children_is_the_prior():
    assert estimator.roll_up([]) == estimator.initial_state()


def test_the_state_holds_no_history():
    state = estimator.initial_state(START)
    for n in range(1000):
        at = START + timedelta(hours=n)
        state = estimator.update(state, y=float(n % 3 != 0), difficulty=(n % 10) / 10, at=at)

    assert set(state) == {"mu", "var", "updated_at"}
    assert json.loads(json.dumps(state)) == state
    assert estimator.MIN_VAR <= state["var"] < 0.5
    assert 0.5 < estimate(state) < 1.0


def test_the_agent_prior_is_the_mean_of_its_skills_and_their_spread():
    states = [{"mu": mu, "var": 0.2, "updated_at": None} for mu in (0.5, 2.0, 3.5)]

    mu, var = estimator.agent_prior(states)

    assert mu == pytest.approx(2.0)
    assert var == pytest.approx(1.5 + 0.2)


def test_the_agent_prior_needs_a_few_skills_and_stays_within_bounds():
    two = [{"mu": 2.0, "var": 0.1, "updated_at": None}] * 2
    alike = [{"mu": 2.0, "var": 0.01, "updated_at": None}] * 5
    scattered = [{"mu": mu, "var": 1.0, "updated_at": None} for mu in (-6.0, 0.0, 6.0)]

    assert estimator.agent_prior(two) == (estimator.PRIOR_MU, estimator.PRIOR_VAR)
    assert estimator.agent_prior([{}, {}, {}, *two]) == (estimator.PRIOR_MU, estimator.PRIOR_VAR)
    assert estimator.agent_prior(alike) == pytest.approx((2.0, estimator.AGENT_PRIOR_MIN_VAR))
    assert estimator.agent_prior(scattered)[1] == estimator.PRIOR_VAR


def test_with_the_global_prior_a_state_is_unchanged():
    state = state_after([1.0, 1.0, 0.0])

    swapped = estimator.with_prior(state, estimator.PRIOR_MU, estimator.PRIOR_VAR)

    assert swapped["mu"] == pytest.approx(state["mu"])
    assert swapped["var"] == pytest.approx(state["var"])
    assert swapped["updated_at"] == state["updated_at"]


def test_without_evidence_a_state_reads_as_the_new_prior():
    assert estimator.with_prior({}, 2.0, 0.8) == {"mu": 2.0, "var": 0.8, "updated_at": None}
    long_forgotten = estimator.decay(state_after([1.0] * 5), START + timedelta(days=3650))
    assert estimator.with_prior(long_forgotten, 2.0, 0.8)["mu"] == pytest.approx(2.0)


def test_the_agents_prior_pulls_a_little_evidence_more_than_a_lot():
    strong_agent = (2.5, 1.0)
    one_failure = state_after([0.0])
    many = state_after([0.0, 1.0] * 20)

    moved_little = estimator.with_prior(one_failure, *strong_agent)
    moved_much = estimator.with_prior(many, *strong_agent)

    assert moved_little["mu"] - one_failure["mu"] > moved_much["mu"] - many["mu"] > 0
    # Evidence and prior add precision: the result is surer than either.
    assert moved_little["var"] < min(one_failure["var"], strong_agent[1])


def test_the_mastery_ability_is_where_a_medium_task_succeeds_at_the_threshold():
    ability = estimator.mastery_ability(0.8)

    assert estimator.predicted_success({"mu": ability, "var": 1e-12}, 0.5) == pytest.approx(0.8)
    assert estimator.mastery_ability(0.8, 0.3) == pytest.approx(ability + 0.3)
    with pytest.raises(ValueError):
        estimator.mastery_ability(1.0)


def test_below_probability_is_a_half_at_the_mastery_ability_and_follows_the_evidence():
    at_mastery = {"mu": estimator.mastery_ability(0.8), "var": 0.5, "updated_at": None}
    far_below = {"mu": -2.0, "var": 0.1, "updated_at": None}
    far_above = {"mu": 4.0, "var": 0.1, "updated_at": None}

    assert estimator.below_probability(at_mastery, 0.8) == pytest.approx(0.5)
    assert estimator.below_probability(far_below, 0.8) > 0.99
    assert estimator.below_probability(far_above, 0.8) < 0.01
    # A margin above the threshold is harder to clear.
    assert estimator.below_probability(at_mastery, 0.8, 0.3) > 0.5


def test_expected_shortfall_grows_with_the_gap_and_with_uncertainty():
    def shortfall(mu, var):
        return estimator.expected_shortfall({"mu": mu, "var": var, "updated_at": None}, 0.8)

    mastery = estimator.mastery_ability(0.8)

    assert shortfall(mastery - 2.0, 1e-6) == pytest.approx(2.0, abs=1e-3)
    assert shortfall(mastery + 2.0, 1e-6) == pytest.approx(0.0, abs=1e-3)
    assert shortfall(mastery - 1.0, 0.1) > shortfall(mastery - 0.5, 0.1)
    # Unknown is not the same as surely fine: a wide state may well be short.
    assert shortfall(mastery + 0.5, 2.0) > shortfall(mastery + 0.5, 0.1)
