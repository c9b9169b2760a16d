"""Request rate limit per agent for the agent API.

Every request made with an agent's keys counts against one budget per agent (all its keys
together), ETUDE_AGENT_RATE_LIMIT ("6000/minute" by default; "N/second|minute|hour|day").
Past it the API answers 429 with Retry-After. With a shared cache (ETUDE_CACHE_URL, Redis) the
counts live there, one count between processes and hosts; without one (Django's local-memory
cache) each web process counts on its own, so N processes allow N times the rate, and the
counts are then kept in a plain dict of the process (LOCAL_WINDOWS), which is what the
local-memory cache would be, without its per-request pickling.
"""

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from practice.authentication import AgentPrincipal

# cache key -> (window opened at, requests in it), when the default cache is per process.
LOCAL_WINDOWS = {}


class AgentRateThrottle(SimpleRateThrottle):
    """A window per agent that opens with its first request and lasts the rate's period: one
    small value read and written per request (DRF's own throttle keeps and rewrites a log of
    every request's time, which costs more than a whole memory pull at thousands per minute).
    An agent can thus make up to twice the rate across the edge of two windows."""

    scope = "agent"

    def get_rate(self):
        # Read at request time (not class creation) so a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if not isinstance(request.user, AgentPrincipal):
            return None  # not an agent: nothing to count (the request is refused anyway)
        return self.cache_format % {"scope": self.scope, "ident": request.user.agent.pk}

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        key = self.get_cache_key(request, view)
        if self.rate is None or key is None:
            return True
        now = self.timer()
        shared = None if isinstance(caches["default"], LocMemCache) else caches["default"]
        opened, used = (shared.get(key) if shared else LOCAL_WINDOWS.get(key)) or (now, 0)
        if now - opened >= self.duration:
            opened, used = now, 0
        if used >= self.num_requests:
            self.wait_seconds = self.duration - (now - opened)
            return False
        if shared:
            shared.set(key, (opened, used + 1), self.duration)
        else:
            LOCAL_WINDOWS[key] = (opened, used + 1)
        return True

    def wait(self):
        return self.wait_seconds
