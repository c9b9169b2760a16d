"""Every write in the practice app, as plain functions. Split by subject:

- agents: agents, boundaries and API keys
- strategies: strategy versions and memory releases
"""

from practice.services.errors import PracticeError

__all__ = ["PracticeError"]
