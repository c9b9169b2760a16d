"""Short-lived per-process copies of what every agent request reads: its key, its agent's
boundaries, the current release pointer, the skill keys and the counters a pull shows.

A memory pull must cost about as much as a bare view, so these never go to the database more
than once per ETUDE_API_CACHE_SECONDS (2 s by default; 0 turns the caches off) in each web
process. A change made in this process (a save or delete of a key, agent, boundary, skill or
release pointer) empties them at once; other processes see it within that many seconds, which
is how long a revoked key or a new release can lag there. The counters a pull shows (helpful,
harmful, uses) change with every attempt and lag by up to ETUDE_MEMORY_COUNTERS_SECONDS (30 s)
in every process.
"""

import threading
import time

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

MAX_ENTRIES = 10_000
_MISSING = object()


class TimedCache:
    """A dict whose entries expire after the configured seconds; safe across threads (a race
    costs at most one extra read of the database)."""

    def __init__(self, lifetime_setting="ETUDE_API_CACHE_SECONDS"):
        self.lifetime_setting = lifetime_setting
        self._entries = {}
        self._lock = threading.Lock()

    def get(self, key, load):
        """The cached value for key, or load() stored for the next callers."""
        lifetime = getattr(settings, self.lifetime_setting)
        if not lifetime:
            return load()
        now = time.monotonic()
        entry = self._entries.get(key, _MISSING)
        if entry is not _MISSING and entry[0] > now:
            return entry[1]
        value = load()
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (now + lifetime, value)
        return value

    def clear(self):
        with self._lock:
            self._entries.clear()


keys = TimedCache()  # key prefix -> AgentKey with its agent (or None)
boundaries = TimedCache()  # agent id -> tuple of boundary skill keys
releases = TimedCache()  # "current" -> MemoryRelease or None
skills = TimedCache()  # "all" -> frozenset of skill keys
# release id -> (helpful, harmful, uses) by strategy id; reading a large release's counters
# takes tens of milliseconds, so they are kept longer (ETUDE_MEMORY_COUNTERS_SECONDS).
counters = TimedCache("ETUDE_MEMORY_COUNTERS_SECONDS")

ALL = (keys, boundaries, releases, skills, counters)


def clear_all():
    for cache in ALL:
        cache.clear()


def _on_change(sender, **kwargs):
    clear_all()
    # A read between the change and its commit could have copied the old state again.
    transaction.on_commit(clear_all, robust=True)


def connect():
    """Empty the caches whenever a model they copy changes in this process."""
    from practice.models import Agent, AgentBoundary, AgentKey, CurrentRelease, MemoryRelease
    from taxonomy.models import Skill

    for model in (Agent, AgentBoundary, AgentKey, CurrentRelease, MemoryRelease, Skill):
        for signal in (post_save, post_delete):
            signal.connect(_on_change, sender=model, dispatch_uid=f"caches-{model.__name__}")
