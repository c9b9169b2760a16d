"""The admin for the practice app. Importing this package registers every model; split by subject:

- agents: agents, boundaries and keys (governed, changed through practice.services.agents)
- attempts: attempts, trace steps and reflections (read-only)
- strategies: strategies, versions, evidence, uses, feedback and memory releases (read-only)
- competency: competency estimates and snapshots (read-only)
- scenarios: practice scenarios and assignments (editable)
- common: small display helpers shared by the others

Governed changes go through practice.services so they are audited; records the API, the coach
or the services write are shown read-only.
"""

from practice.admin.agents import (
    AgentAdmin,
    AgentBoundaryAdmin,
    AgentBoundaryInline,
    AgentForm,
    AgentKeyAddForm,
    AgentKeyAdmin,
    UsableKeyFilter,
)
from practice.admin.attempts import (
    AttemptAdmin,
    ReflectionAdmin,
    TraceStepAdmin,
    TraceStepInline,
)
from practice.admin.common import excerpt
from practice.admin.competency import (
    CompetencyEstimateAdmin,
    CompetencySnapshotAdmin,
)
from practice.admin.scenarios import (
    PracticeAssignmentAdmin,
    PracticeScenarioAdmin,
)
from practice.admin.strategies import (
    CurrentReleaseAdmin,
    MemoryReleaseAdmin,
    MemoryReleaseEntryAdmin,
    MemoryReleaseEntryInline,
    StrategyAdmin,
    StrategyEvidenceAdmin,
    StrategyEvidenceInline,
    StrategyFeedbackAdmin,
    StrategyUseAdmin,
    StrategyVersionAdmin,
    StrategyVersionInline,
)

__all__ = [
    "excerpt",
    "AgentBoundaryInline",
    "AgentForm",
    "AgentAdmin",
    "AgentBoundaryAdmin",
    "AgentKeyAddForm",
    "UsableKeyFilter",
    "AgentKeyAdmin",
    "TraceStepInline",
    "AttemptAdmin",
    "TraceStepAdmin",
    "ReflectionAdmin",
    "StrategyVersionInline",
    "StrategyEvidenceInline",
    "StrategyAdmin",
    "StrategyVersionAdmin",
    "StrategyEvidenceAdmin",
    "StrategyUseAdmin",
    "StrategyFeedbackAdmin",
    "MemoryReleaseEntryInline",
    "MemoryReleaseAdmin",
    "MemoryReleaseEntryAdmin",
    "CurrentReleaseAdmin",
    "CompetencyEstimateAdmin",
    "CompetencySnapshotAdmin",
    "PracticeScenarioAdmin",
    "PracticeAssignmentAdmin",
]
