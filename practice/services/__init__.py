"""Every write in the practice app, as plain functions. Split by subject:

- agents: agents, boundaries and API keys
- attempts, imports: recording attempts (the API, files); feedback on used strategies
- reflection: the coach's reflections (running the coach, storing what it found, the sweep)
- candidates, discovery: what reflections propose: strategies, and failure modes for the taxonomy
- proposals: agents proposing new skills for the taxonomy
- strategies: strategy versions and memory releases
- competency: estimates per agent and skill, rolled up the taxonomy
- scenarios: scenario banks (files, replays of failed attempts, LLM-written variants)
- assignments: agents claiming their queued practice
"""

from practice.services.errors import PracticeError

__all__ = ["PracticeError"]
