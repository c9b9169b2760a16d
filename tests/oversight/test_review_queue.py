"""The reads behind the review pages: the queue, its filters and order, evidence excerpts,
related strategies, histories and diffs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from oversight import selectors
from oversight.selectors import QueueFilters
from oversight.services import review
from practice.models import CompetencyEstimate, Strategy, StrategyEvidence, TraceStep
from taxonomy.models import TaxonomyProposal
from tests.factories import AgentFactory, AttemptFactory, SkillFactory, reviewer
from tests.oversight.test_review_services import open_proposal, queued_strategy

pytestmark = pytest.mark.django_db


def keys(items):
    return [(item.kind, item.pk) for item in items]


def add_support(strategy, agent, count=1):
    for _ in range(count):
        StrategyEvidence.objects.create(
            strategy=strategy, attempt=AttemptFactory(agent=agent, skill=strategy.skill)
        )
    Strategy.objects.filter(pk=strategy.pk).update(
        support_count=StrategyEvidence.objects.filter(strategy=strategy).count()
    )
    strategy.refresh_from_db()
    return strategy


def age(item, days):
    type(item).objects.filter(pk=item.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_the_queue_holds_proposed_strategies_with_enough_support_and_open_proposals(settings):
    settings.ETUDE_MIN_SUPPORT = 2
    bot = AgentFactory(name="support-bot", boundaries=["support"])
    enough = add_support(queued_strategy(agent=bot), bot)
    too_little = queued_strategy(when="the customer is angry", do="say sorry first", agent=bot)
    live = add_support(queued_strategy(when="a b c", do="d e f", agent=bot), bot)
    review.accept(live, actor=reviewer(), revision=live.revision)
    proposal = open_proposal()
    decided = open_proposal("support.refunds.late_refund")
    review.reject_proposal(decided, actor=reviewer(), revision=1, reason_code="vague")

    items = selectors.review_queue()

    assert keys(items) == [("strategy", enough.pk), ("proposal", proposal.pk)]
    assert too_little.pk not in {item.pk for item in items if item.kind == "strategy"}
    assert selectors.queue_stats()["size"] == 2


def test_filters_by_skill_subtree_agent_age_support_conflict_and_kind():
    bot = AgentFactory(name="support-bot", boundaries=["support", "policy"])
    other = AgentFactory(name="returns-bot", boundaries=["support", "policy"])
    refunds = queued_strategy("support.refunds", agent=bot)
    policy = queued_strategy("policy.refunds", agent=other, when="x y", do="z w")
    old = queued_strategy("support.refunds_old", agent=bot, when="p q", do="r s")
    age(old, 10)
    add_support(policy, bot, count=2)
    Strategy.objects.filter(pk=refunds.pk).update(conflicts_with=old)
    proposal = open_proposal("support.refunds.partial_refund")

    def only(**filters):
        return keys(selectors.review_queue(QueueFilters(**filters)))

    assert only(skill="support.refunds") == [
        ("strategy", refunds.pk),
        ("proposal", proposal.pk),
    ]
    assert ("strategy", old.pk) not in only(skill="support.refunds")  # a sibling, not below
    assert only(agent="returns-bot") == [("strategy", policy.pk)]
    assert only(older_than=timedelta(days=7)) == [("strategy", old.pk)]
    assert only(min_support=3) == [("strategy", policy.pk)]
    assert only(conflicts_only=True) == [("strategy", refunds.pk)]
    assert only(kind="proposal") == [("proposal", proposal.pk)]


def test_sorts_by_age_and_by_expected_impact():
    bot = AgentFactory(name="support-bot", boundaries=["support"])
    strong = add_support(queued_strategy("support.strong", agent=bot), bot)  # support 2
    unknown = queued_strategy("support.unknown", agent=bot, when="a b", do="c d")  # support 1
    weak = queued_strategy("support.weak", agent=bot, when="e f", do="g h")  # support 1
    for skill, estimates in (("support.strong", [0.9, 0.9]), ("support.weak", [0.1, 0.3])):
        for index, estimate in enumerate(estimates):
            CompetencyEstimate.objects.create(
                agent=AgentFactory(name=f"{skill.replace('.', '-')}-{index}"),
                skill=SkillFactory(key=skill),
                estimate=estimate,
            )

    by_impact = selectors.review_queue(QueueFilters(sort="impact"))

    assert keys(by_impact) == [
        ("strategy", weak.pk),
        ("strategy", unknown.pk),
        ("strategy", strong.pk),
    ]
    assert [item.impact for item in by_impact] == [0.8, 0.5, 0.2]
    oldest_first = keys(selectors.review_queue(QueueFilters(sort="oldest")))
    assert oldest_first == [
        ("strategy", strong.pk),
        ("strategy", unknown.pk),
        ("strategy", weak.pk),
    ]
    assert keys(selectors.review_queue(QueueFilters(sort="newest"))) == oldest_first[::-1]


def test_queue_stats_give_size_and_oldest_arrival():
    assert selectors.queue_stats() == {"size": 0, "oldest": None}
    first = queued_strategy()
    proposal = open_proposal()
    age(proposal, 3)
    proposal.refresh_from_db()

    stats = selectors.queue_stats()

    assert stats["size"] == 2
    assert stats["oldest"] == proposal.created_at < first.created_at


def test_queue_items_show_claims_and_neighbours():
    rita = reviewer(username="rita")
    first = queued_strategy()
    second = queued_strategy(when="the customer is angry", do="say sorry first")
    review.claim_item(second, actor=rita)

    items = selectors.review_queue()

    assert items[1].claim.holder == rita and items[0].claim is None
    assert selectors.neighbours(items, "strategy", first.pk) == (None, items[1])
    assert selectors.neighbours(items, "strategy", second.pk) == (items[0], None)
    assert items[0].selection == f"strategy:{first.pk}:{first.revision}"


def test_the_trace_excerpt_highlights_the_decision_point_and_marks_gaps():
    strategy = queued_strategy()
    attempt = strategy.evidence.get()
    for position in range(5, 12):
        TraceStep.objects.create(attempt=attempt, position=position, action=f"step{position}")

    (evidence,) = selectors.strategy_evidence(strategy)

    shown = [(line.step.position, line.highlighted, line.gap_before) for line in evidence.excerpt]
    assert shown == [
        (1, False, False),
        (2, False, False),
        (3, True, False),
        (4, False, False),
        (5, False, False),
    ]
    assert evidence.reflection.causal_analysis.startswith("At step 3")

    steps = list(attempt.steps.order_by("position"))
    later = selectors.trace_excerpt(steps, [{"position": 9}], context=1)
    assert [(line.step.position, line.gap_before) for line in later] == [
        (8, True),
        (9, False),
        (10, False),
    ]


def test_related_live_strategies_are_similar_or_contradicted():
    rita = reviewer()
    similar = queued_strategy(
        when="the customer asks for a refund of a delivered order",
        do="check the order status before calling refund_order",
    )
    unrelated = queued_strategy(when="the customer writes in french", do="answer in french")
    for live in (similar, unrelated):
        review.accept(live, actor=rita, revision=live.revision)
    candidate = queued_strategy()

    related = selectors.related_live_strategies(candidate)

    assert [item.strategy.pk for item in related] == [similar.pk]
    assert related[0].similarity >= selectors.SIMILAR_THRESHOLD
    Strategy.objects.filter(pk=candidate.pk).update(conflicts_with=unrelated)
    candidate.refresh_from_db()
    contradicted = selectors.related_live_strategies(candidate)
    assert {item.strategy.pk: item.contradicts for item in contradicted}[unrelated.pk] is True


def test_word_diff_and_history_show_what_each_version_changed():
    segments = selectors.word_diff("look the order up first", "look the order up, then refund")
    old = "".join(s.text for s in segments if s.op != "insert")
    new = "".join(s.text for s in segments if s.op != "delete")
    assert (old, new) == ("look the order up first", "look the order up, then refund")
    assert segments[0] == selectors.Segment("equal", "look the order up")
    assert [s.text for s in segments if s.op == "delete"] == ["first"]
    assert not selectors.text_changed(selectors.word_diff("same", "same"))

    rita = reviewer(username="rita")
    strategy = queued_strategy()
    version = strategy.current_version
    review.edit_and_accept(
        strategy,
        actor=rita,
        revision=strategy.revision,
        when=version.when_text,
        do="look the order up, then refund",
        because=version.because_text,
    )

    strategy.refresh_from_db()
    history = selectors.strategy_history(strategy)

    newest, oldest = history["versions"]
    assert (newest.version.number, newest.current, newest.releases) == (2, True, [1])
    assert selectors.text_changed(newest.changes["do"])
    assert not selectors.text_changed(newest.changes["when"])
    assert oldest.changes == {} and oldest.releases == []
    assert [d.action for d in history["decisions"]] == ["edit_accept"]


def test_proposal_items_carry_agents_and_support_from_their_evidence():
    bot = AgentFactory(name="support-bot", boundaries=["support"])
    attempts = [AttemptFactory(agent=bot, skill=SkillFactory(key="support.refunds")) for _ in "ab"]
    proposal = open_proposal(evidence=[attempt.pk for attempt in attempts])

    (item,) = selectors.review_queue(QueueFilters(kind="proposal", agent="support-bot"))

    assert (item.pk, item.support, item.agents, item.skill_key) == (
        proposal.pk,
        2,
        ["support-bot"],
        "support.refunds",
    )
    assert TaxonomyProposal.objects.get().status == "proposed"
    assert selectors.review_queue(QueueFilters(kind="proposal", agent="nobody")) == []
