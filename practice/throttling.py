"""Request rate limit per agent for the agent API.

Every request made with an agent's keys counts against one budget per agent (all its keys
together), ETUDE_AGENT_RATE_LIMIT ("6000/minute" by default; "N/second|minute|hour|day").
Past it the API answers 429 with Retry-After. The counts live in Django's default cache: with
the local-memory cache each web process counts on its own, so N processes allow N times the
rate; set ETUDE_CACHE_URL to a Redis URL to share one count between processes and hosts.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from practice.authentication import AgentPrincipal


class AgentRateThrottle(SimpleRateThrottle):
    scope = "agent"

    def get_rate(self):
        # Read at request time (not class creation) so a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        if not isinstance(request.user, AgentPrincipal):
            return None  # not an agent: nothing to count (the request is refused anyway)
        return self.cache_format % {"scope": self.scope, "ident": request.user.agent.pk}
