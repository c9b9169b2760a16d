"""The simulation: simulated agents with hidden skill levels, driven through the real service
layer, so that competency, reflection, the review queue and the scheduler can be seen working
(and measured) without a deployed agent.

- model: the hidden skill levels, how they rise with practice and strategies and fade
- traces: the tasks and the attempt payloads, with traces the offline coach can read
- catalog: the tables the traces are made of (tools, order numbers, faults per skill, replies)
- policies: how the day's practice is chosen (Etude's scheduler, or a baseline)
- config: what a run is asked (SimulationConfig, SimulationError) and what it reports
  (Outcome, DayReport, SimulationReport)
- backdating: moving the rows the simulation causes to their simulated moment
- approval: the auto-approval of the day's strategies and the release it publishes
- runner: the day-by-day run (Simulation, run_simulation), from which the names above can
  also be imported
"""

from oversight.simulation.policies import POLICIES
from oversight.simulation.runner import (
    AUTO_APPROVER,
    EXTERNAL_ID_PREFIX,
    Simulation,
    SimulationConfig,
    SimulationError,
    SimulationReport,
    auto_approval_enabled,
    run_simulation,
    simulated_history_exists,
)

__all__ = [
    "AUTO_APPROVER",
    "EXTERNAL_ID_PREFIX",
    "POLICIES",
    "Simulation",
    "SimulationConfig",
    "SimulationError",
    "SimulationReport",
    "auto_approval_enabled",
    "run_simulation",
    "simulated_history_exists",
]
