"""Schemathesis runs every operation of the agent API, as described by the project's own
OpenAPI schema, with a valid agent key: no answer may be a 5xx, every answer must have a
documented status code and match its documented body, and a request that breaks the schema
(a wrong type, a value out of range) must be refused.

The schema is generated in-process and the requests go straight to Django's WSGI handler
inside the test's transaction. Hypothesis is derandomized, so every run sends the same cases."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from practice.models import CompetencyEstimate, PracticeAssignment, PracticeScenario, Strategy
from practice.services.agents import issue_key
from practice.services.strategies import change_status, propose_strategy, publish_release
from taxonomy.models import Skill
from tests.factories import AgentFactory, AttemptFactory, SkillFactory

MAX_EXAMPLES = 50

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()
schema.config.seed = 20251125


@pytest.fixture
def agent_key(settings):
    """An agent inside `support` with a live strategy in a release, a practice scenario to
    claim, an attempt and a competency estimate; the key that opens the API for it. The skill
    keys match the examples in the schema, so those reach the success paths."""
    settings.ALLOWED_HOSTS = ["localhost"]
    for key in ("support.intent.ambiguity", "support.billing", "sales.pricing"):
        SkillFactory(key=key)
    agent = AgentFactory(name="fuzzed", boundaries=["support"])
    strategy = propose_strategy(
        skill=Skill.objects.get(key="support.intent"),
        when="the request could mean two things",
        do="ask which one is meant",
        because="guessing sends the customer the wrong answer",
    )
    change_status(strategy, Strategy.Status.LIVE)
    publish_release()
    scenario = PracticeScenario.objects.create(
        skill=Skill.objects.get(key="support.billing"), difficulty=0.5, prompt="Explain a fee."
    )
    PracticeAssignment.objects.create(agent=agent, scenario=scenario, reason="weak")
    attempt = AttemptFactory(agent=agent, skill=Skill.objects.get(key="support.intent"))
    CompetencyEstimate.objects.create(
        agent=agent,
        skill=attempt.skill,
        estimate=0.4,
        attempts=1,
        last_attempt_at=attempt.created_at,
    )
    return issue_key(agent).secret


@pytest.fixture
def wsgi_requests_share_the_test_transaction():
    """Requests sent straight to the WSGI handler would close the test's database connection
    at their start and end; Django's own test client switches this off the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_answers_as_documented(case, agent_key, wsgi_requests_share_the_test_transaction):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {agent_key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
