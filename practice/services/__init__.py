"""Every write in the practice app, as plain functions. Split by subject:

- agents: agents, boundaries and API keys
- attempts, imports: recording attempts (the API, files); feedback on used strategies
- reflection, proposals: the coach's reflections and what they propose
- strategies: strategy versions and memory releases
- competency: estimates per agent and skill, rolled up the taxonomy
- scenarios: scenario banks (files, replays of failed attempts, LLM-written variants)
- assignments: agents claiming their queued practice
"""

from practice.services.errors import PracticeError

__all__ = ["PracticeError"]
