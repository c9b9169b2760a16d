"""A review item's page: a strategy's supporting attempts with their trace excerpts and the live
strategies near it, a taxonomy proposal's cited attempts, and a scenario variant beside its
original."""

import json
from dataclasses import dataclass

from django.db.models import Q

from oversight.selectors.diffs import word_diff
from practice.coach.similarity import is_conflict, similarity
from practice.models import Attempt, PracticeScenario, Reflection, Strategy, StrategyEvidence

SIMILAR_THRESHOLD = 0.3
# Steps shown on each side of a decision point in a trace excerpt.
EXCERPT_CONTEXT = 2
EVIDENCE_SHOWN = 10


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
