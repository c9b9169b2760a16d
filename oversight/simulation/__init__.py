"""The simulation: simulated agents with hidden skill levels, driven through the real service
layer, so that competency, reflection, the review queue and the scheduler can be seen working
(and measured) without a deployed agent.

- model: the hidden skill levels, how they rise with practice and strategies and fade
- traces: the tasks and the attempt payloads, with traces the offline coach can read
- catalog: the tables the traces are made of (tools, order numbers, faults per skill, replies)
- policies: how the day's practice is chosen (Etude's scheduler, or a baseline)
- runner: the day-by-day run and the auto-approval
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
