"""The coach interface: what a coach reads (an attempt view), what it answers (a coach result)
and the protocol every coach follows. Plain Python; no database, no Django."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

# The same values as practice.models.reflections.FaultAuthor / FaultType (a test keeps them equal).
FAULT_AUTHORS = ("none", "agent", "user", "environment")
FAULT_TYPES = (
    "none",
    "wrong_tool",
    "wrong_argument",
    "missing_action",
    "unrequested_action",
    "partial_goal",
    "other",
)


class CoachError(Exception):
    """A coach could not reflect on an attempt; the message says why."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class StepView:
    """One step of the performance trace as the coach reads it."""

    position: int
    action: str
    arguments: dict | None = None
    expected: str = ""
    actual: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class AttemptView:
    """An attempt as the coach reads it; `expected_actions` is the ground truth, a list of
    {"name", "arguments"}, or None when the attempt has none."""

    attempt_id: int | None
    skill_key: str
    success: bool
    score: float
    task_input: str = ""
    expected_actions: list[dict] | None = None
    steps: list[StepView] = field(default_factory=list)


@dataclass(frozen=True)
class DecisionPoint:
    """A step where the agent chose one thing and should have chosen another."""

    position: int | None
    chosen: str
    should_have_chosen: str
    why_it_mattered: str


@dataclass(frozen=True)
class CandidateStrategy:
    """A corrective strategy the coach proposes for one skill: when / do / because."""

    skill_key: str
    when: str
    do: str
    because: str


@dataclass(frozen=True)
class CoachResult:
    """What a coach made of one attempt."""

    performance_trace: list[dict]
    decision_points: list[DecisionPoint]
    fault_author: str
    fault_type: str
    causal_analysis: str
    strategies: list[CandidateStrategy]
    failure_mode: str | None = None
    raw_output: str = ""
    model: str = ""
    prompt_version: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int | None = None

    def __post_init__(self):
        if self.fault_author not in FAULT_AUTHORS:
            raise CoachError(f"unknown fault author {self.fault_author!r}")
        if self.fault_type not in FAULT_TYPES:
            raise CoachError(f"unknown fault type {self.fault_type!r}")

    def analysis(self):
        """The coach's findings as JSON-ready data, without the metadata of the run."""
        return {
            "performance_trace": self.performance_trace,
            "decision_points": [point.__dict__.copy() for point in self.decision_points],
            "fault_author": self.fault_author,
            "fault_type": self.fault_type,
            "causal_analysis": self.causal_analysis,
            "strategies": [strategy.__dict__.copy() for strategy in self.strategies],
            "failure_mode": self.failure_mode,
        }

    def analysis_json(self):
        """The findings as canonical JSON: the same findings always give the same text."""
        return json.dumps(self.analysis(), sort_keys=True, ensure_ascii=False)


@runtime_checkable
class Coach(Protocol):
    """Turns an attempt into a reflection. `name` and `version` identify the coach (one
    reflection per attempt and coach version); `reflect` raises CoachError when it cannot."""

    name: str
    version: str

    def reflect(self, view: AttemptView) -> CoachResult: ...
