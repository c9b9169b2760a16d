"""The review queue: which strategies, taxonomy proposals and scenario variants wait for a
reviewer, filtered and sorted, with their support, impact and claims, and the queue's size."""

from dataclasses import dataclass, field
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Avg, Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from oversight.models import ReviewClaim, ReviewDecision
from practice.models import (
    Attempt,
    CompetencyEstimate,
    PracticeScenario,
    ScenarioStatus,
    Strategy,
    StrategyEvidence,
)
from taxonomy.models import Skill, TaxonomyProposal

# Competency assumed for a skill no agent has an estimate on yet.
UNKNOWN_COMPETENCY = 0.5
QUEUE_SHOWN = 500
SORTS = ("oldest", "newest", "impact")
# A proposed scenario stands for itself: it counts as one supporting item in the queue.
SCENARIO_SUPPORT = 1
# The page of each kind of queue item, and the field that names it on a claim or decision.
REVIEW_PAGES = {
    "strategy": "oversight:strategy-review",
    "proposal": "oversight:proposal-review",
    "scenario": "oversight:scenario-review",
}
ITEM_FIELDS = {"strategy": "strategy", "proposal": "taxonomy_proposal", "scenario": "scenario"}


def min_support():
    """Supporting attempts a proposed strategy needs before it enters the queue."""
    return getattr(settings, "ETUDE_MIN_SUPPORT", 1)


def queued_strategies():
    return Strategy.objects.filter(
        status=Strategy.Status.PROPOSED, support_count__gte=min_support()
    )


def open_proposals():
    return TaxonomyProposal.objects.filter(status=TaxonomyProposal.Status.PROPOSED)


def proposed_scenarios():
    return PracticeScenario.objects.filter(status=ScenarioStatus.PROPOSED)


def queue_stats():
    """Size of the whole queue and when its oldest item arrived."""
    counts = [
        queryset.aggregate(size=Count("id"), oldest=Min("created_at"))
        for queryset in (queued_strategies(), open_proposals(), proposed_scenarios())
    ]
    oldest = [count["oldest"] for count in counts if count["oldest"]]
    return {
        "size": sum(count["size"] for count in counts),
        "oldest": min(oldest) if oldest else None,
    }


@dataclass(frozen=True)
class QueueFilters:
    skill: str = ""  # a skill key: its subtree
    agent: str = ""  # an agent name: items its attempts support (or it proposed)
    older_than: timedelta | None = None
    min_support: int | None = None
    conflicts_only: bool = False
    kind: str = ""  # "", "strategy", "proposal" or "scenario"
    sort: str = "oldest"  # one of SORTS


@dataclass
class QueueItem:
    """One row of the queue: a proposed strategy, an open taxonomy proposal or a proposed
    practice scenario."""

    kind: str  # "strategy", "proposal" or "scenario"
    pk: int
    revision: int
    skill_key: str
    title: str
    detail: str
    created_at: object
    support: int
    conflict: bool
    sensitive: bool
    agents: list = field(default_factory=list)
    competency: float | None = None
    claim: ReviewClaim | None = None
    approved_by: list = field(default_factory=list)  # first approvals of a sensitive strategy

    @property
    def impact(self):
        """Support times how weak the skill is: 1 - its average competency (0.5 unknown)."""
        weakness = 1 - (UNKNOWN_COMPETENCY if self.competency is None else self.competency)
        return round(self.support * weakness, 3)

    @property
    def selection(self):
        """The bulk checkbox value: kind, id and the revision the reviewer sees."""
        return f"{self.kind}:{self.pk}:{self.revision}"

    @property
    def page(self):
        """The URL name of the item's review page."""
        return REVIEW_PAGES[self.kind]


def review_queue(filters=QueueFilters(), *, now=None):
    """The queue's items matching `filters`, in the asked order (at most QUEUE_SHOWN)."""
    now = now or timezone.now()
    items = []
    if filters.kind in ("", "strategy"):
        items += _strategy_items(filters, now)
    if filters.kind in ("", "proposal") and not filters.conflicts_only:
        items += _proposal_items(filters, now)
    # No agent stands behind a scenario variant, and it contradicts nothing.
    if filters.kind in ("", "scenario") and not (filters.conflicts_only or filters.agent):
        items += _scenario_items(filters, now)
    _attach_competency(items)
    _attach_claims(items, now)
    if filters.sort == "impact":
        items.sort(key=lambda item: (-item.impact, item.created_at, item.kind, item.pk))
    elif filters.sort == "newest":
        items.sort(key=lambda item: (item.created_at, item.kind, item.pk), reverse=True)
    else:
        items.sort(key=lambda item: (item.created_at, item.kind, item.pk))
    return items[:QUEUE_SHOWN]


def neighbours(items, kind, pk):
    """The queue items before and after the given one (None at the ends or when absent)."""
    position = next(
        (index for index, item in enumerate(items) if (item.kind, item.pk) == (kind, pk)), None
    )
    if position is None:
        return None, (items[0] if items else None)
    previous = items[position - 1] if position > 0 else None
    following = items[position + 1] if position + 1 < len(items) else None
    return previous, following


def _strategy_items(filters, now):
    strategies = queued_strategies().select_related("skill", "current_version")
    if filters.skill:
        strategies = strategies.filter(
            Q(skill__key=filters.skill) | Q(skill__key__startswith=f"{filters.skill}.")
        )
    if filters.agent:
        strategies = strategies.filter(
            Exists(
                StrategyEvidence.objects.filter(
                    strategy=OuterRef("pk"), attempt__agent__name=filters.agent
                )
            )
        )
    if filters.older_than:
        strategies = strategies.filter(created_at__lte=now - filters.older_than)
    if filters.min_support:
        strategies = strategies.filter(support_count__gte=filters.min_support)
    if filters.conflicts_only:
        strategies = strategies.filter(conflicts_with__isnull=False)
    strategies = list(strategies.order_by("created_at")[:QUEUE_SHOWN])
    agents = {}
    for strategy_id, name in (
        StrategyEvidence.objects.filter(strategy__in=strategies)
        .values_list("strategy_id", "attempt__agent__name")
        .distinct()
    ):
        agents.setdefault(strategy_id, set()).add(name)
    approvals = _approvals(strategies)
    return [
        QueueItem(
            kind="strategy",
            pk=strategy.pk,
            revision=strategy.revision,
            skill_key=strategy.skill.key,
            title=strategy.current_version.when_text if strategy.current_version else "",
            detail=strategy.current_version.do_text if strategy.current_version else "",
            created_at=strategy.created_at,
            support=strategy.support_count,
            conflict=strategy.conflicts_with_id is not None,
            sensitive=strategy.skill.sensitive,
            agents=sorted(agents.get(strategy.pk, ())),
            approved_by=_first_approvers(strategy, approvals),
        )
        for strategy in strategies
    ]


def _approvals(strategies):
    """(strategy id, approved version, approver's username) of the sensitive strategies'
    first approvals, for the queue to say who still waits for a second reviewer."""
    sensitive = [strategy.pk for strategy in strategies if strategy.skill.sensitive]
    if not sensitive:
        return []
    return list(
        ReviewDecision.objects.filter(
            strategy_id__in=sensitive, action=ReviewDecision.Action.APPROVE
        ).values_list("strategy_id", "after", "actor__username")
    )


def _first_approvers(strategy, approvals):
    version = strategy.current_version.number if strategy.current_version else None
    return sorted(
        {
            username
            for strategy_id, after, username in approvals
            if strategy_id == strategy.pk and (after or {}).get("version") == version
        }
    )


def _proposal_items(filters, now):
    proposals = open_proposals().select_related("parent")
    if filters.skill:
        proposals = proposals.filter(key__startswith=f"{filters.skill}.")
    if filters.older_than:
        proposals = proposals.filter(created_at__lte=now - filters.older_than)
    proposals = list(proposals.order_by("created_at")[:QUEUE_SHOWN])
    attempt_ids = {attempt_id for proposal in proposals for attempt_id in proposal.evidence}
    agent_of = dict(
        Attempt.objects.filter(pk__in=attempt_ids).values_list("pk", "agent__name")
        if attempt_ids
        else []
    )
    items = []
    for proposal in proposals:
        agents = {agent_of[pk] for pk in proposal.evidence if pk in agent_of}
        if proposal.proposer_type == TaxonomyProposal.ProposerType.AGENT:
            agents.add(proposal.proposer_name)
        support = len(proposal.evidence)
        if filters.agent and filters.agent not in agents:
            continue
        if filters.min_support and support < filters.min_support:
            continue
        items.append(
            QueueItem(
                kind="proposal",
                pk=proposal.pk,
                revision=proposal.revision,
                skill_key=proposal.parent.key,
                title=f"New {proposal.get_kind_display().lower()}: {proposal.key}",
                detail=proposal.rationale,
                created_at=proposal.created_at,
                support=support,
                conflict=False,
                sensitive=proposal.parent.sensitive,
                agents=sorted(agents),
            )
        )
    return items


def _scenario_items(filters, now):
    if filters.min_support and filters.min_support > SCENARIO_SUPPORT:
        return []
    scenarios = proposed_scenarios().select_related("skill", "variant_of")
    if filters.skill:
        scenarios = scenarios.filter(
            Q(skill__key=filters.skill) | Q(skill__key__startswith=f"{filters.skill}.")
        )
    if filters.older_than:
        scenarios = scenarios.filter(created_at__lte=now - filters.older_than)
    return [
        QueueItem(
            kind="scenario",
            pk=scenario.pk,
            revision=scenario.revision,
            skill_key=scenario.skill.key,
            title=" ".join(scenario.prompt.split()),
            detail=scenario_origin(scenario),
            created_at=scenario.created_at,
            support=SCENARIO_SUPPORT,
            conflict=False,
            sensitive=scenario.skill.sensitive,
        )
        for scenario in scenarios.order_by("created_at")[:QUEUE_SHOWN]
    ]


def scenario_origin(scenario):
    """Where a scenario comes from and how hard it is: 'variant of refunds-basic at difficulty
    0.70 (was 0.30)'."""
    original = scenario.variant_of
    if original is None:
        return f"{scenario.get_origin_display()} at difficulty {scenario.difficulty:.2f}"
    name = original.key or f"#{original.pk}"
    return (
        f"variant of {name} at difficulty {scenario.difficulty:.2f} (was {original.difficulty:.2f})"
    )


def _attach_competency(items):
    averages = skill_competency({item.skill_key for item in items})
    for item in items:
        item.competency = averages.get(item.skill_key)


def skill_keys():
    """Every skill key, for the queue's skill filter."""
    return list(Skill.objects.order_by("key").values_list("key", flat=True))


def skill_competency(keys):
    """Average competency estimate per skill key across agents (keys without one are absent)."""
    return {
        row["skill__key"]: row["average"]
        for row in CompetencyEstimate.objects.filter(skill__key__in=keys)
        .values("skill__key")
        .annotate(average=Avg("estimate"))
    }


def _attach_claims(items, now):
    claims = ReviewClaim.objects.filter(expires_at__gt=now).select_related("holder")
    on_items = reduce(
        or_,
        (
            Q(**{f"{name}_id__in": [item.pk for item in items if item.kind == kind]})
            for kind, name in ITEM_FIELDS.items()
        ),
    )
    by_item = {}
    for claim in claims.filter(on_items):
        for kind, name in ITEM_FIELDS.items():
            if getattr(claim, f"{name}_id") is not None:
                by_item[(kind, getattr(claim, f"{name}_id"))] = claim
    for item in items:
        item.claim = by_item.get((item.kind, item.pk))
