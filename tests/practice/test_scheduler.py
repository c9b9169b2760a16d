"""The practice scheduler on crafted competency profiles: weak skills first, then due reviews,
then skills not yet confidently mastered (unknown ones included), at a difficulty in the target
band, within the daily budget and the agent's boundaries."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from practice import estimator, review
from practice.models import Attempt, CompetencyEstimate, PracticeAssignment, PracticeScenario
from practice.scheduler import plan_practice, schedule_practice
from practice.scheduler.planning import CONSOLIDATING_BASE, MASTERY_MARGIN, REVIEW_BASE, TARGET_BAND
from practice.services import PracticeError
from practice.services.assignments import claim_next_assignment
from taxonomy.models import Skill
from tests.factories import AgentFactory, AttemptFactory, SkillFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
WEAK, STRONG = -1.5, 4.0  # abilities (logits): about 0.2 and 0.98 on a medium task
MASTERY = estimator.mastery_ability(0.8)  # the ability at the default threshold


@pytest.fixture
def agent():
    SkillFactory(key="support", kind=Skill.Kind.CATEGORY)
    return AgentFactory(name="retail-agent", boundaries=["support"])


def profile(agent, key, *, mu, var=0.1, attempts=10, reviewed_days_ago=None, failed_days_ago=None):
    """A competency as the model would hold it, with a review made ``reviewed_days_ago``."""
    review_state, next_review_at = {}, None
    if reviewed_days_ago is not None:
        review_state, next_review_at = review.review(
            {}, success=True, score=1.0, at=NOW - timedelta(days=reviewed_days_ago)
        )
    return CompetencyEstimate.objects.create(
        agent=agent,
        skill=SkillFactory(key=key),
        model_state={"mu": mu, "var": var, "updated_at": NOW.isoformat()},
        attempts=attempts,
        successes=attempts // 2,
        review_state=review_state,
        next_review_at=next_review_at,
        last_failed_at=None if failed_days_ago is None else NOW - timedelta(days=failed_days_ago),
    )


def scenarios(key, *difficulties, status=PracticeScenario.Status.APPROVED):
    skill = SkillFactory(key=key)
    return [
        PracticeScenario.objects.create(
            skill=skill, difficulty=difficulty, prompt=f"{key} at {difficulty}", status=status
        )
        for difficulty in difficulties
    ]


def planned(agent, budget=10, now=NOW):
    return [(pick.skill.key, pick.reason) for pick in plan_practice(agent, now=now, budget=budget)]


def test_weak_skills_come_before_due_reviews_and_mastered_skills_wait(agent):
    for key in ("support.weak", "support.due", "support.long_due", "support.fresh"):
        scenarios(key, 0.5)
    profile(agent, "support.weak", mu=WEAK)
    profile(agent, "support.due", mu=STRONG, reviewed_days_ago=15)  # due 7 days ago
    profile(agent, "support.long_due", mu=STRONG, reviewed_days_ago=40)  # due 32 days ago
    profile(agent, "support.fresh", mu=STRONG, reviewed_days_ago=1)  # due in 7 days

    assert planned(agent) == [
        ("support.weak", "weak"),
        ("support.long_due", "review"),
        ("support.due", "review"),
    ]
    assert planned(agent, budget=1) == [("support.weak", "weak")]

    schedule_practice(agent, now=NOW)
    claimed = [claim_next_assignment(agent).scenario.skill.key for _ in range(3)]
    assert claimed == ["support.weak", "support.long_due", "support.due"]


def test_weak_skills_are_ordered_by_their_gap_to_mastery_and_recent_failures(agent):
    for key in (
        "support.far",
        "support.near",
        "support.near_failed",
        "support.near_failed_long_ago",
    ):
        scenarios(key, 0.3)
    profile(agent, "support.far", mu=-2.0)
    profile(agent, "support.near", mu=0.5)
    profile(agent, "support.near_failed", mu=0.5, failed_days_ago=1)
    profile(agent, "support.near_failed_long_ago", mu=0.5, failed_days_ago=10)

    keys = [key for key, _ in planned(agent)]

    assert keys[0] == "support.far"
    assert keys[1] == "support.near_failed"
    assert set(keys[2:]) == {"support.near", "support.near_failed_long_ago"}


def test_a_skill_below_mastery_but_not_confidently_so_still_gets_practice(agent):
    scenarios("support.unproven", 0.5)
    competency = profile(agent, "support.unproven", mu=1.0, var=1.0, attempts=4)
    state = estimator.decay(competency.model_state, NOW)
    assert estimator.classify(state, 0.8) == "learning"

    assert planned(agent) == [("support.unproven", "learning")]


def test_a_skill_just_over_the_threshold_is_consolidated_after_reviews(agent):
    for key in ("support.just_over", "support.well_over", "support.due"):
        scenarios(key, 0.5)
    just_over = profile(agent, "support.just_over", mu=MASTERY + 0.1, var=0.05)
    profile(agent, "support.well_over", mu=MASTERY + 1.5, var=0.05)
    profile(agent, "support.due", mu=STRONG, reviewed_days_ago=40)
    assert estimator.classify(estimator.decay(just_over.model_state, NOW), 0.8) != "weak"

    picks = plan_practice(agent, now=NOW, budget=5)

    assert [(pick.skill.key, pick.reason) for pick in picks] == [
        ("support.due", "review"),
        ("support.just_over", "consolidate"),
    ]
    consolidating = picks[1]
    assert CONSOLIDATING_BASE <= consolidating.priority < REVIEW_BASE
    assert consolidating.why.startswith("not yet confidently mastered")
    assert MASTERY_MARGIN > 0


def test_skills_likely_below_mastery_and_unknown_ones_come_before_reviews(agent):
    for key in ("support.known_a", "support.known_b", "support.weak", "support.due"):
        scenarios(key, 0.5)
    scenarios("support.unsure", 0.2, 0.5, 0.8)
    scenarios("support.unknown", 0.2, 0.5, 0.8)
    profile(agent, "support.known_a", mu=STRONG, reviewed_days_ago=1)
    profile(agent, "support.known_b", mu=STRONG, reviewed_days_ago=1)
    profile(agent, "support.weak", mu=WEAK)
    profile(agent, "support.due", mu=STRONG, reviewed_days_ago=40)
    # Below mastery by its mean, but not confidently (and its review is due as well).
    profile(agent, "support.unsure", mu=MASTERY - 0.3, var=0.3, reviewed_days_ago=40)

    picks = plan_practice(agent, now=NOW, budget=10)

    assert [(pick.skill.key, pick.reason) for pick in picks][:4] == [
        ("support.weak", "weak"),
        ("support.unknown", "learning"),
        ("support.unsure", "learning"),
        ("support.due", "review"),
    ]
    assert picks[1].why == "never attempted"
    assert picks[0].priority > picks[1].priority > REVIEW_BASE + 1 > picks[3].priority
    assert "support.known_a" not in [pick.skill.key for pick in picks]


def test_an_unknown_skill_is_read_at_the_agents_own_level(agent):
    scenarios("support.unknown", *[round(0.05 + 0.1 * step, 2) for step in range(10)])
    [alone] = plan_practice(agent, now=NOW, budget=1)
    for key in ("support.a", "support.b", "support.c"):
        scenarios(key, 0.5)
        profile(agent, key, mu=3.0, var=0.2, reviewed_days_ago=1)

    [among_strong_skills] = plan_practice(agent, now=NOW, budget=1)

    assert alone.skill.key == among_strong_skills.skill.key == "support.unknown"
    # The global prior is a coin flip on a medium task; this agent masters most of its skills.
    assert among_strong_skills.target_difficulty > alone.target_difficulty + 0.2
    assert among_strong_skills.scenario.difficulty > alone.scenario.difficulty


def test_recent_practice_interleaves_the_weak_skills(agent):
    for key in ("support.drilled", "support.waiting"):
        scenarios(key, 0.2, 0.4)
    drilled = profile(agent, "support.drilled", mu=WEAK)
    profile(agent, "support.waiting", mu=WEAK + 0.3)
    assert planned(agent, budget=1) == [("support.drilled", "weak")]
    for hours in (20, 44, 68):
        AttemptFactory(
            agent=agent,
            skill=drilled.skill,
            source=Attempt.Source.PRACTICE,
            created_at=NOW - timedelta(hours=hours),
        )

    assert planned(agent, budget=1) == [("support.waiting", "weak")]


def test_a_skill_never_attempted_is_practiced_from_its_easiest_scenario(agent):
    scenarios("support.new", 0.9, 0.2, 0.55)

    picks = plan_practice(agent, now=NOW, budget=1)

    assert [(pick.skill.key, pick.reason, pick.why) for pick in picks] == [
        ("support.new", "learning", "never attempted")
    ]
    assert picks[0].scenario.difficulty == 0.2


@pytest.mark.parametrize("mu", [0.0, 1.0, 2.0, 3.0])
def test_the_scenario_is_the_one_in_the_target_band_closest_to_the_target_difficulty(agent, mu):
    bank = scenarios("support.returns", *[round(0.05 + 0.1 * step, 2) for step in range(10)])
    # Reviewed long ago: a mastered skill comes back as a due review.
    state = profile(
        agent, "support.returns", mu=mu, var=0.3, attempts=40, reviewed_days_ago=60
    ).model_state
    target = estimator.difficulty_for(state)
    low, high = TARGET_BAND
    in_band = [
        scenario
        for scenario in bank
        if low <= estimator.predicted_success(state, scenario.difficulty) <= high
    ]

    [pick] = plan_practice(agent, now=NOW, budget=1)

    assert in_band, "the bank is dense enough to have a scenario in the band"
    assert pick.scenario == min(in_band, key=lambda scenario: abs(scenario.difficulty - target))
    assert low <= pick.predicted_success <= high
    assert pick.target_difficulty == pytest.approx(target)


def test_a_scenario_in_the_band_beats_a_closer_one_outside_it(agent):
    state = profile(agent, "support.returns", mu=1.0).model_state
    target = estimator.difficulty_for(state)  # about 0.43; the band spans about 0.31-0.53
    closer_but_too_hard, in_band = scenarios("support.returns", 0.54, 0.32)
    assert abs(closer_but_too_hard.difficulty - target) < abs(in_band.difficulty - target)
    assert estimator.predicted_success(state, closer_but_too_hard.difficulty) < TARGET_BAND[0]

    [pick] = plan_practice(agent, now=NOW, budget=1)

    assert pick.scenario == in_band


def test_the_difficulty_rises_as_the_agent_improves(agent):
    scenarios("support.returns", *[round(0.05 + 0.1 * step, 2) for step in range(10)])
    chosen = []
    for mu in (0.0, 1.0, 2.0, 3.0):
        CompetencyEstimate.objects.filter(agent=agent).delete()
        profile(agent, "support.returns", mu=mu, var=0.3, attempts=40, reviewed_days_ago=60)
        [pick] = plan_practice(agent, now=NOW, budget=1)
        chosen.append(pick.scenario.difficulty)

    assert chosen == sorted(chosen)
    assert chosen[0] < chosen[-1]


def test_without_a_scenario_in_the_band_the_closest_one_is_chosen(agent):
    scenarios("support.returns", 0.9, 0.5)
    profile(agent, "support.returns", mu=WEAK)

    [pick] = plan_practice(agent, now=NOW, budget=1)

    assert pick.scenario.difficulty == 0.5
    assert pick.predicted_success < TARGET_BAND[0]


def test_assignments_carry_the_target_difficulty_and_predicted_success(agent):
    scenarios("support.returns", 0.2, 0.5, 0.8)
    state = profile(agent, "support.returns", mu=0.5, var=0.2).model_state

    [schedule] = schedule_practice(agent, now=NOW)

    [assignment] = schedule.assignments[:1]
    assert assignment.status == PracticeAssignment.Status.QUEUED
    assert assignment.reason == PracticeAssignment.Reason.WEAK
    assert assignment.target_difficulty == pytest.approx(estimator.difficulty_for(state))
    assert assignment.predicted_success == pytest.approx(
        estimator.predicted_success(state, assignment.scenario.difficulty)
    )
    assert assignment.scheduled_at == NOW


def test_the_daily_budget_holds_across_runs_and_refills_the_next_day(agent, settings):
    settings.ETUDE_PRACTICE_BUDGET = 3
    scenarios("support.returns", 0.2, 0.4, 0.6)
    scenarios("support.refunds", 0.2, 0.4, 0.6)
    profile(agent, "support.returns", mu=WEAK)
    profile(agent, "support.refunds", mu=-0.5)

    first = schedule_practice(agent, now=NOW)[0].assignments
    done = first[0]
    done.attempt = AttemptFactory(agent=agent, skill=done.scenario.skill, scenario=done.scenario)
    done.status = PracticeAssignment.Status.COMPLETED
    done.save()
    second = schedule_practice(agent, now=NOW + timedelta(hours=3))[0].assignments
    next_day = schedule_practice(agent, now=NOW + timedelta(days=1))[0].assignments

    assert len(first) == 3
    # Every weak skill once, then another round on the weakest.
    assert [assignment.scenario.skill.key for assignment in first] == [
        "support.returns",
        "support.refunds",
        "support.returns",
    ]
    assert second == []
    assert len(next_day) == 3
    assert PracticeAssignment.objects.filter(agent=agent).count() == 6


def test_only_active_practiceable_skills_inside_the_boundaries_are_scheduled(agent):
    SkillFactory(key="billing", kind=Skill.Kind.CATEGORY)
    narrow = AgentFactory(name="returns-only", boundaries=["support.returns"])
    scenarios("support.returns", 0.3)
    SkillFactory(key="support.returns.wrong_items", kind=Skill.Kind.FAILURE_MODE)
    scenarios("support.returns.wrong_items", 0.3)
    scenarios("support.refunds", 0.3)
    scenarios("billing.invoices", 0.3)
    retired = SkillFactory(key="support.returns.retired_mode", active=False)
    scenarios(retired.key, 0.3)
    scenarios("support.returns.proposed_only", 0.3, status=PracticeScenario.Status.PROPOSED)
    grouping = SkillFactory(key="support.returns.grouping", kind=Skill.Kind.CATEGORY)
    scenarios(grouping.key, 0.3)

    assert sorted(key for key, _ in planned(narrow)) == [
        "support.returns",
        "support.returns.wrong_items",
    ]
    schedule_practice(narrow, now=NOW)
    assert set(
        PracticeAssignment.objects.filter(agent=narrow).values_list(
            "scenario__skill__key", flat=True
        )
    ) == {"support.returns", "support.returns.wrong_items"}
    assert "billing.invoices" not in [key for key, _ in planned(agent)]


def test_a_scenario_is_never_held_open_twice(agent):
    scenarios("support.returns", 0.3)
    profile(agent, "support.returns", mu=WEAK)

    first = schedule_practice(agent, now=NOW)[0].assignments
    later = schedule_practice(agent, now=NOW + timedelta(days=1))[0].assignments

    assert len(first) == 1
    assert later == []
    assert PracticeAssignment.objects.filter(agent=agent).count() == 1


def test_a_due_review_is_not_added_while_one_is_open(agent):
    scenarios("support.returns", 0.3, 0.6)
    profile(agent, "support.returns", mu=STRONG, reviewed_days_ago=20)

    first = schedule_practice(agent, now=NOW)[0].assignments
    later = schedule_practice(agent, now=NOW + timedelta(days=1))[0].assignments

    assert [assignment.reason for assignment in first] == ["review"]
    assert later == []


def test_every_active_agent_is_scheduled_and_deactivated_ones_are_not(agent):
    scenarios("support.returns", 0.3)
    asleep = AgentFactory(name="asleep", boundaries=["support"], active=False)

    schedules = schedule_practice(now=NOW)

    assert [schedule.agent.name for schedule in schedules] == ["retail-agent"]
    assert not PracticeAssignment.objects.filter(agent=asleep).exists()
    with pytest.raises(PracticeError, match="deactivated"):
        schedule_practice(asleep, now=NOW)


def test_the_command_reports_each_agent_and_a_summary(agent):
    scenarios("support.returns", 0.3)
    scenarios("support.refunds", 0.3)
    out = StringIO()

    call_command("schedule_practice", "--agent", "retail-agent", "-v", "2", stdout=out)

    text = out.getvalue()
    assert "retail-agent: 2 queued" in text
    assert "support.refunds" in text and "never attempted" in text
    assert "Queued 2 practice items for 1 agent." in text
    with pytest.raises(CommandError, match="No agent named 'nobody'"):
        call_command("schedule_practice", "--agent", "nobody", stdout=StringIO())
