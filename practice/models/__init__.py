"""Agents, their attempts and traces, reflections, strategies, memory releases, competency
and practice scenarios."""

from practice.models.agents import (
    Agent,
    AgentBoundary,
    AgentKey,
    AgentKeyQuerySet,
)
from practice.models.attempts import (
    Attempt,
    AttemptSource,
    TraceFormat,
    TraceStep,
)
from practice.models.base import ImmutableRecordError
from practice.models.competency import (
    CompetencyEstimate,
    CompetencySnapshot,
)
from practice.models.reflections import (
    FaultAuthor,
    FaultType,
    Reflection,
    ReflectionStatus,
)
from practice.models.scenarios import (
    AssignmentReason,
    AssignmentStatus,
    PracticeAssignment,
    PracticeScenario,
    ScenarioOrigin,
    ScenarioStatus,
)
from practice.models.strategies import (
    CurrentRelease,
    FeedbackVerdict,
    MemoryRelease,
    MemoryReleaseEntry,
    Strategy,
    StrategyEvidence,
    StrategyFeedback,
    StrategyOrigin,
    StrategyStatus,
    StrategyUse,
    StrategyVersion,
    VersionSource,
)

__all__ = [
    "ImmutableRecordError",
    "Agent",
    "AgentBoundary",
    "AgentKeyQuerySet",
    "AgentKey",
    "AttemptSource",
    "TraceFormat",
    "Attempt",
    "TraceStep",
    "ReflectionStatus",
    "FaultAuthor",
    "FaultType",
    "Reflection",
    "StrategyStatus",
    "StrategyOrigin",
    "Strategy",
    "VersionSource",
    "StrategyVersion",
    "StrategyEvidence",
    "StrategyUse",
    "FeedbackVerdict",
    "StrategyFeedback",
    "MemoryRelease",
    "MemoryReleaseEntry",
    "CurrentRelease",
    "CompetencyEstimate",
    "CompetencySnapshot",
    "ScenarioOrigin",
    "ScenarioStatus",
    "PracticeScenario",
    "AssignmentStatus",
    "AssignmentReason",
    "PracticeAssignment",
]
