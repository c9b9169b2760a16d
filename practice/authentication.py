"""Agent API keys for Django REST framework: `Authorization: Bearer <key>` or `Api-Key <key>`."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from practice.models import AgentKey
from practice.services.agents import KeyRefused, authenticate_key

SCHEMES = ("bearer", "api-key")
MALFORMED_HEADER = (
    "The Authorization header must be 'Bearer <key>' or 'Api-Key <key>' with an agent API key."
)
# Writing last_used_at on every request would make every pull a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


class AgentPrincipal:
    """What request.user is for an agent: authenticated, never staff, carries the agent."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, agent, key):
        self.agent = agent
        self.key = key

    def __str__(self):
        return f"agent:{self.agent.name}"


class AgentKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if isinstance(header, bytes):
            header = header.decode("latin-1")
        if not header.isascii():
            try:
                header.encode("latin-1")  # what a WSGI server can have decoded, nothing wider
            except UnicodeError:
                raise exceptions.AuthenticationFailed(MALFORMED_HEADER) from None
        header = header.strip()
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() not in SCHEMES:
            # This API has no other way in, so a foreign scheme is a mistake worth naming.
            raise exceptions.AuthenticationFailed(MALFORMED_HEADER)
        secret = secret.strip()
        if not secret:
            raise exceptions.AuthenticationFailed("The Authorization header has no key.")
        try:
            key = authenticate_key(secret)
        except KeyRefused as error:
            raise exceptions.AuthenticationFailed(str(error)) from None
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > (
            LAST_USED_RESOLUTION_SECONDS
        ):
            AgentKey.objects.filter(pk=key.pk).update(last_used_at=now)
            key.last_used_at = now  # the cached copy too, so the next requests skip the write
        return AgentPrincipal(key.agent, key), key

    def authenticate_header(self, request):
        return 'Bearer realm="etude"'


class AgentKeyScheme(OpenApiAuthenticationExtension):
    target_class = "practice.authentication.AgentKeyAuthentication"
    name = "agentKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An agent API key (etude_<prefix>_<secret>), sent as "
            "`Authorization: Bearer <key>` (or `Authorization: Api-Key <key>`).",
        }
