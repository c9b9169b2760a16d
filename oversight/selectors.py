"""Reads for the oversight pages: the home figures, the review queue, a review item's evidence
and neighbours, a scenario variant beside its original, a strategy's history, and the word diffs
shown on those pages."""

import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Avg, Count, Exists, Min, OuterRef, Q
from django.utils import timezone

from oversight.models import ReviewClaim, ReviewDecision
from practice.coach.similarity import is_conflict, similarity
from practice.models import (
    Attempt,
    CompetencyEstimate,
    MemoryReleaseEntry,
    PracticeScenario,
    Reflection,
    ScenarioStatus,
    Strategy,
    StrategyEvidence,
)
from taxonomy.models import Skill, TaxonomyProposal

# Competency assumed for a skill no agent has an estimate on yet.
UNKNOWN_COMPETENCY = 0.5
SIMILAR_THRESHOLD = 0.3
# Steps shown on each side of a decision point in a trace excerpt.
EXCERPT_CONTEXT = 2
EVIDENCE_SHOWN = 10
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


# --- The review queue ----------------------------------------------------------------------------


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


# --- A review item ---------------------------------------------------------------------------------


@dataclass
class ExcerptStep:
    step: object
    highlighted: bool
    gap_before: bool  # steps were left out between this one and the one before


@dataclass
class Evidence:
    attempt: Attempt
    reflection: Reflection | None
    decision_points: list
    excerpt: list


def strategy_evidence(strategy, limit=EVIDENCE_SHOWN):
    """The attempts supporting a strategy (newest first, at most `limit`), each with the trace
    excerpt around its decision points highlighted and the coach's reflection."""
    links = (
        StrategyEvidence.objects.filter(strategy=strategy)
        .select_related("attempt__agent", "attempt__skill", "reflection")
        .order_by("-attempt__created_at", "-pk")[:limit]
    )
    evidence = []
    for link in links:
        reflection = link.reflection or (
            link.attempt.reflections.filter(status=Reflection.Status.SUCCEEDED)
            .order_by("-created_at")
            .first()
        )
        points = list(reflection.decision_points or []) if reflection else []
        evidence.append(
            Evidence(
                attempt=link.attempt,
                reflection=reflection,
                decision_points=points,
                excerpt=trace_excerpt(list(link.attempt.steps.order_by("position")), points),
            )
        )
    return evidence


def trace_excerpt(steps, decision_points, context=EXCERPT_CONTEXT):
    """The steps around the decision points (or around failed steps when the reflection names
    none), the decision steps highlighted; the first steps when nothing stands out."""
    marked = {
        point.get("position") for point in decision_points if point.get("position") is not None
    }
    if not marked:
        marked = {step.position for step in steps if step.ok is False}
    if not marked:
        return [ExcerptStep(step, False, False) for step in steps[: 2 * context + 1]]
    positions = [step.position for step in steps]
    shown = set()
    for index, position in enumerate(positions):
        if position in marked:
            shown.update(range(max(0, index - context), min(len(steps), index + context + 1)))
    excerpt = []
    previous = None
    for index in sorted(shown):
        step = steps[index]
        gap = index > 0 if previous is None else index != previous + 1
        excerpt.append(ExcerptStep(step, step.position in marked, gap))
        previous = index
    return excerpt


@dataclass
class RelatedStrategy:
    strategy: Strategy
    similarity: float
    contradicts: bool


def related_live_strategies(strategy, threshold=SIMILAR_THRESHOLD):
    """Live strategies of the same skill, its ancestors and descendants that are similar to this
    one (similarity >= threshold) or that it contradicts; most similar first."""
    version = strategy.current_version
    if version is None:
        return []
    key = strategy.skill.key
    parts = key.split(".")
    ancestors = [".".join(parts[:n]) for n in range(1, len(parts))]
    candidates = (
        Strategy.objects.filter(status=Strategy.Status.LIVE, current_version__isnull=False)
        .filter(
            Q(skill__key=key) | Q(skill__key__startswith=f"{key}.") | Q(skill__key__in=ancestors)
        )
        .exclude(pk=strategy.pk)
        .select_related("skill", "current_version")
    )
    text = {"when": version.when_text, "do": version.do_text}
    related = []
    for live in candidates:
        other = {"when": live.current_version.when_text, "do": live.current_version.do_text}
        score = similarity(other, text)
        contradicts = live.pk == strategy.conflicts_with_id or is_conflict(other, text)
        if score >= threshold or contradicts:
            related.append(RelatedStrategy(live, round(score, 2), contradicts))
    if strategy.conflicts_with_id and not any(
        item.strategy.pk == strategy.conflicts_with_id for item in related
    ):
        contradicted = strategy.conflicts_with
        if contradicted.current_version is not None:
            other = {
                "when": contradicted.current_version.when_text,
                "do": contradicted.current_version.do_text,
            }
            related.append(RelatedStrategy(contradicted, round(similarity(other, text), 2), True))
    related.sort(key=lambda item: (not item.contradicts, -item.similarity, item.strategy.pk))
    return related


def proposal_evidence(proposal, limit=EVIDENCE_SHOWN):
    """The attempts a taxonomy proposal cites, newest first, with their agents and skills."""
    return list(
        Attempt.objects.filter(pk__in=proposal.evidence)
        .select_related("agent", "skill")
        .order_by("-created_at")[:limit]
    )


@dataclass
class ExpectedActionView:
    name: str
    arguments: str  # as JSON text, empty when there are none


@dataclass
class ScenarioComparison:
    """A proposed scenario beside the one it is a variant of (None when it is no variant)."""

    original: PracticeScenario | None
    prompt_diff: list  # segments from the original's prompt to the variant's
    original_actions: list | None  # ExpectedActionView rows; None: no ground truth
    variant_actions: list | None


def scenario_comparison(scenario):
    """The variant and its original side by side: the prompt as a word diff, the expected
    actions of both."""
    original = scenario.variant_of
    return ScenarioComparison(
        original=original,
        prompt_diff=word_diff(original.prompt, scenario.prompt) if original else [],
        original_actions=expected_action_views(original.expected_actions) if original else None,
        variant_actions=expected_action_views(scenario.expected_actions),
    )


def expected_action_views(actions):
    """Stored expected actions as rows to show; whatever does not look like an action is shown
    as its JSON, so a malformed ground truth is seen rather than hidden."""
    if actions is None:
        return None
    if not isinstance(actions, list):
        return [ExpectedActionView(_json_text(actions), "")]
    views = []
    for action in actions:
        if isinstance(action, dict) and isinstance(action.get("name"), str):
            arguments = action.get("arguments")
            views.append(
                ExpectedActionView(action["name"], _json_text(arguments) if arguments else "")
            )
        else:
            views.append(ExpectedActionView(_json_text(action), ""))
    return views


def expected_actions_text(actions):
    """Expected actions as the JSON text a reviewer edits (empty: none)."""
    return "" if actions is None else json.dumps(actions, indent=2, ensure_ascii=False)


def _json_text(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# --- History ----------------------------------------------------------------------------------------


@dataclass
class VersionView:
    version: object
    changes: dict  # field label -> diff segments against the version before (empty: first)
    releases: list  # numbers of the memory releases that contain it
    current: bool


FIELDS = (("when", "when_text"), ("do", "do_text"), ("because", "because_text"))


def strategy_history(strategy):
    """Every version of a strategy (newest first) with its diff against the one before, the
    releases that carried it, and every decision on the strategy (newest first)."""
    versions = list(strategy.versions.select_related("created_by").order_by("number"))
    released = {}
    for version_id, number in MemoryReleaseEntry.objects.filter(
        strategy_version__strategy=strategy
    ).values_list("strategy_version_id", "release__number"):
        released.setdefault(version_id, []).append(number)
    views = []
    previous = None
    for version in versions:
        changes = {}
        if previous is not None:
            changes = {
                label: word_diff(getattr(previous, name), getattr(version, name))
                for label, name in FIELDS
            }
        views.append(
            VersionView(
                version=version,
                changes=changes,
                releases=sorted(released.get(version.pk, [])),
                current=version.pk == strategy.current_version_id,
            )
        )
        previous = version
    decisions = (
        ReviewDecision.objects.filter(strategy=strategy)
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )
    return {"versions": list(reversed(views)), "decisions": list(decisions)}


# --- Diffs ---------------------------------------------------------------------------------------

TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


@dataclass(frozen=True)
class Segment:
    op: str  # "equal", "insert" or "delete"
    text: str


def word_diff(old, new):
    """An inline word diff of two texts: segments to show as they are, inserted or deleted."""
    before, after = TOKEN.findall(old or ""), TOKEN.findall(new or "")
    segments = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            segments.append(Segment("equal", "".join(before[i1:i2])))
            continue
        if op in ("delete", "replace"):
            segments.append(Segment("delete", "".join(before[i1:i2])))
        if op in ("insert", "replace"):
            segments.append(Segment("insert", "".join(after[j1:j2])))
    return segments


def text_changed(segments):
    return any(segment.op != "equal" for segment in segments)
