"""What a simulation run is asked to do (SimulationConfig) and what it reports: each simulated
attempt's Outcome, a DayReport per day and the SimulationReport over the whole run."""

from dataclasses import dataclass, field
from datetime import date, datetime

from oversight.simulation import model
from practice.services.errors import PracticeError


class SimulationError(PracticeError):
    """The simulation cannot run as asked."""


@dataclass(frozen=True)
class SimulationConfig:
    days: int = 21
    agents: int = 4  # new simulated agents
    seed: int = 1
    policy: str = "etude"
    auto_approve_share: float = 0.7
    live_tasks_per_day: int = 3
    # The starting level of a typical skill (logits; see oversight.simulation.model).
    aptitude: float = model.APTITUDE_MEAN
    # Existing agents (by name) driven too, with hidden levels of their own (the demo's agents).
    drive_agents: tuple = ()
    # Midnight (UTC) of the first simulated day; by default the days end yesterday.
    start: datetime | None = None
    # The oracle policy only: the standard deviation (logits) of a fixed error in its reading of
    # each hidden level, to see what an imperfect but unbiased-on-average estimate would cost.
    oracle_error: float = 0.0
    # The oracle policy only: how far above a skill's mastery level (logits) it practices to;
    # None for the scheduler's own margin (practice.scheduler.planning.MASTERY_MARGIN).
    oracle_margin: float | None = None


@dataclass(frozen=True)
class Outcome:
    """One simulated attempt, without database ids: what reproducibility is checked on."""

    day: int
    agent: str
    skill: str
    source: str
    difficulty: float
    success: bool
    strategies: int
    level: float  # the hidden level just before the attempt


@dataclass
class DayReport:
    number: int  # from 1
    date: date
    attempts: int = 0
    practice: int = 0
    successes: int = 0
    proposed: int = 0
    approved: int = 0
    release: int | None = None


@dataclass
class SimulationReport:
    agents: list = field(default_factory=list)  # names, created and driven
    created_agents: list = field(default_factory=list)
    days: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)

    @property
    def attempts(self):
        return len(self.outcomes)

    @property
    def approved(self):
        return sum(day.approved for day in self.days)

    @property
    def proposed(self):
        return sum(day.proposed for day in self.days)
