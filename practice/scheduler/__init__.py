"""The practice scheduler: which scenarios each agent practices next, and why.

- planning: the rules (weak skills first, then due reviews, at a difficulty in the target band)
- queue: writing the picks as practice assignments, within the daily budget
"""

from practice.scheduler.planning import Pick, plan_practice
from practice.scheduler.queue import AgentSchedule, schedule_practice

__all__ = ["AgentSchedule", "Pick", "plan_practice", "schedule_practice"]
