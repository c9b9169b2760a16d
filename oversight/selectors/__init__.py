"""Reads for the oversight pages, by subject:

- queue: what waits for review (strategies, taxonomy proposals, scenario variants), filtered and
  sorted, with support, impact and claims; the queue's size and age for the home figures
- items: what a review item's page shows: a strategy's evidence with trace excerpts and the live
  strategies near it, a proposal's cited attempts, a scenario variant beside its original
- history: a strategy's versions, the releases that carried them and the decisions on it
- diffs: the inline word diffs those pages (and the release pages) show

Every name is importable from `oversight.selectors` itself, as the pages and tests use it."""

from oversight.selectors.diffs import TOKEN, Segment, text_changed, word_diff
from oversight.selectors.history import FIELDS, VersionView, strategy_history
from oversight.selectors.items import (
    EVIDENCE_SHOWN,
    EXCERPT_CONTEXT,
    SIMILAR_THRESHOLD,
    Evidence,
    ExcerptStep,
    ExpectedActionView,
    RelatedStrategy,
    ScenarioComparison,
    expected_action_views,
    expected_actions_text,
    proposal_evidence,
    related_live_strategies,
    scenario_comparison,
    strategy_evidence,
    trace_excerpt,
)
from oversight.selectors.queue import (
    ITEM_FIELDS,
    QUEUE_SHOWN,
    REVIEW_PAGES,
    SCENARIO_SUPPORT,
    SORTS,
    UNKNOWN_COMPETENCY,
    QueueFilters,
    QueueItem,
    min_support,
    neighbours,
    open_proposals,
    proposed_scenarios,
    queue_stats,
    queued_strategies,
    review_queue,
    scenario_origin,
    skill_competency,
    skill_keys,
)

__all__ = [
    # queue
    "ITEM_FIELDS",
    "QUEUE_SHOWN",
    "REVIEW_PAGES",
    "SCENARIO_SUPPORT",
    "SORTS",
    "UNKNOWN_COMPETENCY",
    "QueueFilters",
    "QueueItem",
    "min_support",
    "neighbours",
    "open_proposals",
    "proposed_scenarios",
    "queue_stats",
    "queued_strategies",
    "review_queue",
    "scenario_origin",
    "skill_competency",
    "skill_keys",
    # items
    "EVIDENCE_SHOWN",
    "EXCERPT_CONTEXT",
    "SIMILAR_THRESHOLD",
    "Evidence",
    "ExcerptStep",
    "ExpectedActionView",
    "RelatedStrategy",
    "ScenarioComparison",
    "expected_action_views",
    "expected_actions_text",
    "proposal_evidence",
    "related_live_strategies",
    "scenario_comparison",
    "strategy_evidence",
    "trace_excerpt",
    # history
    "FIELDS",
    "VersionView",
    "strategy_history",
    # diffs
    "TOKEN",
    "Segment",
    "text_changed",
    "word_diff",
]
