"""The agent API end to end through Django's test client: keys, attempts, memory, feedback,
practice, proposals, competency, and the schema and docs pages."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.staticfiles import finders
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from practice.models import (
    AgentKey,
    Attempt,
    CompetencyEstimate,
    PracticeAssignment,
    PracticeScenario,
    Strategy,
    StrategyFeedback,
    TraceStep,
)
from practice.services.agents import issue_key, revoke_key
from practice.services.strategies import change_status, propose_strategy, publish_release
from taxonomy.models import Skill, TaxonomyProposal
from tests.factories import AgentFactory, AttemptFactory, SkillFactory

pytestmark = pytest.mark.django_db

API = "/api/v1"
TREE = (
    "support.intent.ambiguity.dates",
    "support.intent.routing",
    "support.billing",
    "sales.pricing",
)

# Every operation of the API, as (method, path).
OPERATIONS = [
    ("post", "/attempts/"),
    ("post", "/attempts/bulk/"),
    ("get", "/memory/?skill=support"),
    ("get", "/memory/prompt/?skill=support"),
    ("post", "/strategies/1/feedback/"),
    ("get", "/practice/next/"),
    ("post", "/taxonomy/proposals/"),
    ("get", "/competency/"),
]


def client_for(secret, scheme="Bearer"):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{scheme} {secret}")
    return client


@pytest.fixture
def tree():
    for key in TREE:
        SkillFactory(key=key)


@pytest.fixture
def agent(tree):
    return AgentFactory(name="support-bot", boundaries=["support"])


@pytest.fixture
def api(agent):
    return client_for(issue_key(agent).secret)


@pytest.fixture
def other_agent(tree):
    return AgentFactory(name="sales-bot", boundaries=["sales"])


def steps_attempt(**fields):
    return {
        "skill": "support.intent",
        "success": False,
        "score": 0.25,
        "trace": {
            "format": "steps",
            "steps": [
                {
                    "action": "lookup_order",
                    "expected": "the order",
                    "actual": "no such order",
                    "ok": False,
                    "note": "used the email as the order id",
                }
            ],
        },
        **fields,
    }


CHAT_MESSAGES = [
    {"role": "system", "content": "You are a retail support agent."},
    {"role": "user", "content": "Where is my order A1?"},
    {
        "role": "assistant",
        "content": "Let me look it up.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_order", "arguments": '{"order_id": "A1"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'},
    {"role": "assistant", "content": "Your order A1 has shipped."},
]


def errors_of(response):
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert body["detail"]
    return {problem["path"]: problem["message"] for problem in body["errors"]}


def live_strategy(skill_key, when, do, because="it worked before"):
    strategy = propose_strategy(
        skill=SkillFactory(key=skill_key), when=when, do=do, because=because
    )
    return change_status(strategy, Strategy.Status.LIVE)


# --- Authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_operation_needs_a_key(method, path):
    response = getattr(APIClient(), method)(f"{API}{path}", {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "credentials were not provided" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_operation_refuses_an_unknown_key(method, path):
    client = client_for("etude_0123456789ab_not-a-real-secret")
    response = getattr(client, method)(f"{API}{path}", {}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key is not valid."


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer", "has no key"),
        ("Bearer    ", "has no key"),
        ("Bearer nonsense", "malformed"),
        ("Basic dXNlcjpwYXNz", "Bearer <key>"),
        ("Token etude_0123456789ab_x", "Bearer <key>"),
    ],
)
def test_malformed_authorization_is_refused_saying_why(header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(f"{API}/competency/")
    assert response.status_code == 401
    assert message in response.json()["detail"]
    assert response["WWW-Authenticate"] == 'Bearer realm="etude"'


def test_revoked_key_is_refused(agent):
    issued = issue_key(agent)
    revoke_key(issued.key, reason="leaked")
    response = client_for(issued.secret).get(f"{API}/competency/")
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has been revoked."


def test_expired_key_is_refused(agent):
    issued = issue_key(agent, expires_at=timezone.now() + timedelta(days=1))
    AgentKey.objects.filter(pk=issued.key.pk).update(expires_at=timezone.now() - timedelta(1))
    response = client_for(issued.secret).get(f"{API}/competency/")
    assert response.status_code == 401
    assert response.json()["detail"] == "The API key has expired."


def test_deactivated_agent_is_refused(agent):
    issued = issue_key(agent)
    agent.active = False
    agent.save()
    response = client_for(issued.secret).get(f"{API}/competency/")
    assert response.status_code == 401
    assert "deactivated" in response.json()["detail"]


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Api-Key", "api-key"])
def test_both_schemes_are_accepted(agent, scheme):
    issued = issue_key(agent)
    response = client_for(issued.secret, scheme=scheme).get(f"{API}/competency/")
    assert response.status_code == 200
    issued.key.refresh_from_db()
    assert issued.key.last_used_at is not None


# --- Attempts ---------------------------------------------------------------------------------------


def test_attempt_with_steps_trace_is_stored(api, agent):
    response = api.post(f"{API}/attempts/", steps_attempt(difficulty=0.4), format="json")
    assert response.status_code == 201
    body = response.json()
    attempt = Attempt.objects.get()
    assert body == {
        "id": attempt.pk,
        "created": True,
        "external_id": None,
        "skill": "support.intent",
        "source": "live",
        "success": False,
        "score": 0.25,
        "out_of_bounds": False,
        "steps": 1,
        "scenario": None,
    }
    assert attempt.agent == agent
    assert attempt.difficulty == 0.4
    step = TraceStep.objects.get()
    assert (step.action, step.expected, step.actual, step.ok, step.note) == (
        "lookup_order",
        "the order",
        "no such order",
        False,
        "used the email as the order id",
    )


def test_openai_chat_trace_is_normalized_and_messages_kept(api):
    payload = steps_attempt(trace={"format": "openai-chat", "messages": CHAT_MESSAGES})
    response = api.post(f"{API}/attempts/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["steps"] == 2
    attempt = Attempt.objects.get()
    assert attempt.trace_format == "openai-chat"
    assert attempt.trace_messages == CHAT_MESSAGES
    assert attempt.task_input == "Where is my order A1?"
    call, reply = attempt.steps.order_by("position")
    assert (call.action, call.arguments, call.actual) == (
        "get_order",
        {"order_id": "A1"},
        '{"status": "shipped"}',
    )
    assert (reply.action, reply.actual) == ("respond", "Your order A1 has shipped.")


def test_retried_external_id_returns_the_stored_attempt(api):
    payload = steps_attempt(external_id="run-7")
    first = api.post(f"{API}/attempts/", payload, format="json")
    again = api.post(f"{API}/attempts/", payload, format="json")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["created"] is False
    assert again.json()["steps"] == 1
    assert Attempt.objects.count() == 1
    assert TraceStep.objects.count() == 1


def test_bulk_attempts_are_stored_together_and_replays_named(api):
    api.post(f"{API}/attempts/", steps_attempt(external_id="old"), format="json")
    attempts = [steps_attempt(external_id="old"), steps_attempt(), steps_attempt(success=True)]
    response = api.post(f"{API}/attempts/bulk/", {"attempts": attempts}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["created"], body["replayed"]) == (2, 1)
    assert [item["created"] for item in body["attempts"]] == [False, True, True]
    assert Attempt.objects.count() == 3


def test_bulk_with_one_bad_attempt_stores_nothing_and_names_it(api):
    attempts = [steps_attempt(), steps_attempt(), steps_attempt(score=1.5)]
    response = api.post(f"{API}/attempts/bulk/", {"attempts": attempts}, format="json")
    assert response.status_code == 400
    assert errors_of(response) == {"attempts[2].score": "must be a number between 0 and 1"}
    assert Attempt.objects.count() == 0
    assert TraceStep.objects.count() == 0


def test_bulk_lists_every_problem_and_unknown_skills(api):
    attempts = [steps_attempt(skill="support.nowhere"), steps_attempt(), steps_attempt(skill=3)]
    response = api.post(f"{API}/attempts/bulk/", {"attempts": attempts}, format="json")
    assert response.status_code == 400
    problems = errors_of(response)
    assert set(problems) == {"attempts[2].skill"}
    # Shape problems come first; a request whose shape is right is then checked against the data.
    attempts[2] = steps_attempt()
    response = api.post(f"{API}/attempts/bulk/", {"attempts": attempts}, format="json")
    assert errors_of(response) == {"attempts[0].skill": "unknown skill support.nowhere"}
    assert Attempt.objects.count() == 0


def test_bulk_over_500_attempts_is_refused(api):
    response = api.post(
        f"{API}/attempts/bulk/", {"attempts": [steps_attempt()] * 501}, format="json"
    )
    assert response.status_code == 400
    assert "at most 500" in errors_of(response)["attempts"]
    assert Attempt.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "attempts"),
        ({"attempts": [], "extra": 1}, "extra"),
        ({"attempts": "many"}, "attempts"),
        ([], ""),
    ],
)
def test_bulk_body_must_be_an_object_with_attempts(api, body, path):
    response = api.post(f"{API}/attempts/bulk/", body, format="json")
    assert response.status_code == 400
    assert path in errors_of(response)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"colour": "red"}, "colour"),
        ({"success": "yes"}, "success"),
        ({"score": "0.5"}, "score"),
        ({"score": 1.5}, "score"),
        ({"score": -0.1}, "score"),
        ({"difficulty": 2}, "difficulty"),
        ({"source": "rumour"}, "source"),
        ({"used_strategies": ["one"]}, "used_strategies[0]"),
        ({"scenario": "first"}, "scenario"),
        ({"skill": "Support Intent"}, "skill"),
        ({"trace": {"format": "steps", "steps": []}}, "trace.steps"),
        ({"trace": {"format": "csv"}}, "trace.format"),
        (
            {"trace": {"format": "steps", "steps": [{"action": "a", "ok": "no"}]}},
            "trace.steps[0].ok",
        ),
        (
            {"trace": {"format": "openai-chat", "messages": [{"role": "tool", "content": "x"}]}},
            "trace.messages[0].tool_call_id",
        ),
        ({"expected_actions": [{"arguments": {}}]}, "expected_actions[0].name"),
    ],
)
def test_invalid_attempt_names_the_problem_and_stores_nothing(api, change, path):
    response = api.post(f"{API}/attempts/", steps_attempt(**change), format="json")
    assert response.status_code == 400
    assert path in errors_of(response)
    assert Attempt.objects.count() == 0


def test_missing_fields_are_named(api):
    response = api.post(f"{API}/attempts/", {"skill": "support.intent"}, format="json")
    assert response.status_code == 400
    assert {"success", "score", "trace"} <= set(errors_of(response))


def test_empty_body_is_refused_with_a_json_message(api):
    response = api.post(f"{API}/attempts/", data=b"", content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "empty" in response.json()["detail"] + str(response.json()["errors"])


def test_non_json_body_is_refused_with_a_json_message(api):
    response = api.post(f"{API}/attempts/", data=b"{not json", content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "JSON parse error" in response.json()["detail"]


def test_other_media_type_is_refused_with_a_json_message(api):
    response = api.post(f"{API}/attempts/", data=b"skill=x", content_type="text/plain")
    assert response.status_code == 415
    assert "text/plain" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/attempts/", "/attempts/bulk/", "/taxonomy/proposals/"])
def test_deeply_nested_body_is_refused_not_crashed(api, path):
    response = api.post(f"{API}{path}", data=b"[" * 50_000, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_body_over_the_limit_is_refused_with_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    payload = steps_attempt(task_input="x" * 4000)
    response = api.post(f"{API}/attempts/", payload, format="json")
    assert response.status_code == 413
    assert "2048" in response.json()["detail"]
    assert Attempt.objects.count() == 0


def test_another_agents_scenario_is_refused(api, other_agent):
    scenario = PracticeScenario.objects.create(
        skill=Skill.objects.get(key="support.intent"), difficulty=0.3, prompt="Route the call."
    )
    PracticeAssignment.objects.create(agent=other_agent, scenario=scenario, reason="weak")
    payload = steps_attempt(source="practice", scenario=scenario.pk)
    response = api.post(f"{API}/attempts/", payload, format="json")
    assert response.status_code == 400
    assert "not assigned to this agent" in errors_of(response)["scenario"]
    assert Attempt.objects.count() == 0
    assert PracticeAssignment.objects.get().status == "queued"


def test_attempt_outside_the_boundaries_is_stored_flagged(api):
    response = api.post(f"{API}/attempts/", steps_attempt(skill="sales.pricing"), format="json")
    assert response.status_code == 201
    assert response.json()["out_of_bounds"] is True
    assert Attempt.objects.get().out_of_bounds is True


def test_used_strategies_move_the_counters_by_outcome(api):
    strategy = live_strategy(
        "support.intent", "the order id is missing", "ask for the order id before searching"
    )
    version = strategy.current_version_id
    api.post(f"{API}/attempts/", steps_attempt(used_strategies=[version]), format="json")
    api.post(
        f"{API}/attempts/",
        steps_attempt(success=True, score=1, used_strategies=[version]),
        format="json",
    )
    response = api.post(f"{API}/attempts/", steps_attempt(used_strategies=[10**6]), format="json")
    assert "used_strategies[0]" in errors_of(response)
    strategy.refresh_from_db()
    assert (strategy.use_count, strategy.helpful_count, strategy.harmful_count) == (2, 1, 1)


# --- Memory -----------------------------------------------------------------------------------------


@pytest.fixture
def strategies(agent):
    """Live strategies around support.intent.ambiguity, published as release 1."""
    made = {
        "root": live_strategy("support", "a customer is upset", "acknowledge the problem first"),
        "parent": live_strategy(
            "support.intent", "the request could mean two things", "ask which one is meant"
        ),
        "general": live_strategy(
            "support.intent.ambiguity", "a request names no item", "list the candidate items"
        ),
        "refund": live_strategy(
            "support.intent.ambiguity",
            "a customer asks about a refund for an order",
            "confirm the order id and the refund amount before acting",
        ),
        "dates": live_strategy(
            "support.intent.ambiguity.dates", "a date is relative", "restate the absolute date"
        ),
        "sibling": live_strategy(
            "support.intent.routing", "the caller asks for a person", "transfer to a human"
        ),
        "outside": live_strategy("sales.pricing", "a discount is asked", "quote the list price"),
    }
    # The general strategy has the better record, so it leads when no context says otherwise.
    Strategy.objects.filter(pk=made["general"].pk).update(helpful_count=5, use_count=5)
    publish_release()
    return made


def pull(api, path="/memory/", **params):
    return api.get(f"{API}{path}", params)


def test_memory_pull_answers_the_release_and_strategies(api, strategies):
    response = pull(api, skill="support.intent.ambiguity")
    assert response.status_code == 200
    body = response.json()
    assert body["release"] == 1
    assert body["skill"] == "support.intent.ambiguity"
    by_id = {item["id"]: item for item in body["strategies"]}
    general = strategies["general"]
    assert by_id[general.pk] == {
        "id": general.pk,
        "version": 1,
        "version_id": general.current_version_id,
        "skill": "support.intent.ambiguity",
        "when": "a request names no item",
        "do": "list the candidate items",
        "because": "it worked before",
        "relevance": 0.0,
        "effectiveness": pytest.approx(6 / 7),
        "helpful": 5,
        "harmful": 0,
        "uses": 5,
    }
    assert response["ETag"]


def test_memory_includes_ancestors_and_descendants_not_siblings(api, strategies):
    body = pull(api, skill="support.intent.ambiguity").json()
    returned = {item["id"] for item in body["strategies"]}
    expected = {strategies[name].pk for name in ("root", "parent", "general", "refund", "dates")}
    assert returned == expected


def test_memory_leaves_out_ancestors_outside_the_boundaries(tree, strategies):
    narrow = AgentFactory(name="narrow", boundaries=["support.intent.ambiguity"])
    body = pull(client_for(issue_key(narrow).secret), skill="support.intent.ambiguity").json()
    returned = {item["id"] for item in body["strategies"]}
    assert returned == {strategies[name].pk for name in ("general", "refund", "dates")}


def test_memory_outside_the_boundaries_is_forbidden(api, strategies):
    response = pull(api, skill="sales.pricing")
    assert response.status_code == 403
    assert "sales.pricing" in response.json()["detail"]
    assert "ETag" not in response


def test_memory_for_an_unknown_skill_is_not_found(api, strategies):
    response = pull(api, skill="support.nowhere")
    assert response.status_code == 404
    assert "support.nowhere" in response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({}, "skill"),
        ({"skill": "Not A Key"}, "skill"),
        ({"skill": "support", "limit": 0}, "limit"),
        ({"skill": "support", "limit": "many"}, "limit"),
        ({"skill": "support", "release": -1}, "release"),
        ({"skill": "support", "colour": "red"}, "colour"),
    ],
)
def test_memory_query_problems_are_named(api, strategies, params, path):
    response = pull(api, **params)
    assert response.status_code == 400
    assert path in errors_of(response)


def test_memory_ranks_by_context_then_effectiveness(api, strategies):
    plain = pull(api, skill="support.intent.ambiguity").json()["strategies"]
    assert plain[0]["id"] == strategies["general"].pk
    ranked = pull(
        api, skill="support.intent.ambiguity", context="The customer wants a refund for order 12"
    ).json()["strategies"]
    assert ranked[0]["id"] == strategies["refund"].pk
    assert ranked[0]["relevance"] > 0
    assert ranked[1]["relevance"] < ranked[0]["relevance"]


def test_memory_limit(api, strategies):
    body = pull(api, skill="support.intent.ambiguity", limit=2).json()
    assert len(body["strategies"]) == 2


def test_memory_when_no_release_exists(api):
    body = pull(api, skill="support").json()
    assert body == {"release": None, "skill": "support", "strategies": []}


@pytest.mark.parametrize("cache_seconds", [0, 2])
def test_memory_etag_gives_304_without_touching_strategy_tables(
    api, strategies, settings, cache_seconds
):
    settings.ETUDE_API_CACHE_SECONDS = cache_seconds
    first = pull(api, skill="support.intent.ambiguity", context="refund")
    etag = first["ETag"]
    with CaptureQueriesContext(connection) as queries:
        again = api.get(
            f"{API}/memory/",
            {"skill": "support.intent.ambiguity", "context": "refund"},
            HTTP_IF_NONE_MATCH=etag,
        )
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    statements = " ".join(query["sql"] for query in queries.captured_queries).lower()
    # Without the per-process copies the key, boundaries and release pointer are read; with
    # them (the default) an unchanged pull reads nothing at all.
    assert bool(queries.captured_queries) == (cache_seconds == 0)
    for table in ("practice_strategy", "practice_strategyversion", "practice_memoryreleaseentry"):
        assert table not in statements


def test_memory_etag_depends_on_the_query(api, strategies):
    one = pull(api, skill="support.intent.ambiguity")["ETag"]
    other = pull(api, skill="support.intent")["ETag"]
    prompt = pull(api, "/memory/prompt/", skill="support.intent.ambiguity")["ETag"]
    assert len({one, other, prompt}) == 3
    response = api.get(f"{API}/memory/", {"skill": "support.intent"}, HTTP_IF_NONE_MATCH=one)
    assert response.status_code == 200


def test_new_release_changes_the_etag(api, strategies):
    etag = pull(api, skill="support.intent.ambiguity")["ETag"]
    live_strategy("support.intent.ambiguity.dates", "a weekday is named", "give the date too")
    publish_release()
    response = api.get(
        f"{API}/memory/", {"skill": "support.intent.ambiguity"}, HTTP_IF_NONE_MATCH=etag
    )
    assert response.status_code == 200
    assert response["ETag"] != etag
    assert response.json()["release"] == 2
    assert len(response.json()["strategies"]) == 6


def test_boundary_change_changes_the_etag(api, agent, strategies):
    etag = pull(api, skill="support.intent.ambiguity")["ETag"]
    AgentFactory(name=agent.name, boundaries=["sales"])
    response = api.get(
        f"{API}/memory/", {"skill": "support.intent.ambiguity"}, HTTP_IF_NONE_MATCH=etag
    )
    assert response.status_code == 200


def test_release_pins_an_earlier_release(api, strategies):
    later = live_strategy("support.intent.ambiguity", "a weekday is named", "give the date too")
    publish_release()
    current = {
        item["id"] for item in pull(api, skill="support.intent.ambiguity").json()["strategies"]
    }
    pinned = pull(api, skill="support.intent.ambiguity", release=1).json()
    assert later.pk in current
    assert pinned["release"] == 1
    assert later.pk not in {item["id"] for item in pinned["strategies"]}
    assert len(pinned["strategies"]) == 5


def test_unknown_release_is_not_found(api, strategies):
    response = pull(api, skill="support", release=99)
    assert response.status_code == 404
    assert "99" in response.json()["detail"]


def test_memory_prompt_is_markdown(api, strategies):
    response = pull(api, "/memory/prompt/", skill="support.intent.ambiguity", context="refund")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith("## Practice memory for support.intent.ambiguity (release 1)")
    assert "**When** a customer asks about a refund for an order" in text
    assert "list the candidate items" in text
    assert "transfer to a human" not in text
    assert text.index("refund amount") < text.index("list the candidate items")
    assert response["ETag"]


def test_memory_prompt_honours_accept_markdown_and_errors_stay_json(api, strategies):
    response = api.get(f"{API}/memory/prompt/", {"skill": "support"}, HTTP_ACCEPT="text/markdown")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    refused = api.get(
        f"{API}/memory/prompt/", {"skill": "sales.pricing"}, HTTP_ACCEPT="text/markdown"
    )
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/json"
    assert "sales.pricing" in refused.json()["detail"]


def test_memory_prompt_etag_gives_304(api, strategies):
    etag = pull(api, "/memory/prompt/", skill="support")["ETag"]
    response = api.get(f"{API}/memory/prompt/", {"skill": "support"}, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304


def test_memory_is_not_served_from_a_rolled_back_release(api, agent):
    """A release published in a transaction that rolled back may leave its id to the next one
    (SQLite reuses ids); what was read from it must not be served for the new release."""
    live_strategy("support", "a customer is upset", "acknowledge the problem first")
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_release()
        assert len(pull(api, skill="support").json()["strategies"]) == 1
        raise RuntimeError("roll back")
    live_strategy("support", "a customer is angry", "stay calm and apologize")
    publish_release()
    body = pull(api, skill="support").json()
    assert {item["when"] for item in body["strategies"]} == {
        "a customer is upset",
        "a customer is angry",
    }


# --- Feedback ---------------------------------------------------------------------------------------


@pytest.fixture
def strategy(agent):
    strategy = live_strategy("support.intent", "the order id is missing", "ask for it first")
    publish_release()
    return strategy


def feedback(api, strategy_id, **body):
    return api.post(f"{API}/strategies/{strategy_id}/feedback/", body, format="json")


def test_feedback_counts_helpful_and_harmful(api, strategy):
    helpful = feedback(api, strategy.pk, verdict="helpful")
    harmful = feedback(api, strategy.pk, verdict="harmful")
    assert helpful.status_code == 201
    assert helpful.json() == {
        "strategy": strategy.pk,
        "verdict": "helpful",
        "attempt": None,
        "recorded": True,
        "helpful": 1,
        "harmful": 0,
    }
    assert harmful.status_code == 201
    assert (harmful.json()["helpful"], harmful.json()["harmful"]) == (1, 1)
    strategy.refresh_from_db()
    assert (strategy.helpful_count, strategy.harmful_count) == (1, 1)


def test_feedback_for_the_same_attempt_counts_once(api, agent, strategy):
    attempt = AttemptFactory(agent=agent, skill=strategy.skill)
    first = feedback(api, strategy.pk, verdict="helpful", attempt=attempt.pk)
    again = feedback(api, strategy.pk, verdict="helpful", attempt=attempt.pk)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["recorded"] is False
    assert again.json()["helpful"] == 1
    assert StrategyFeedback.objects.count() == 1


def test_opposite_feedback_for_the_same_attempt_conflicts(api, agent, strategy):
    attempt = AttemptFactory(agent=agent, skill=strategy.skill)
    feedback(api, strategy.pk, verdict="helpful", attempt=attempt.pk)
    response = feedback(api, strategy.pk, verdict="harmful", attempt=attempt.pk)
    assert response.status_code == 409
    assert "helpful" in response.json()["detail"]
    strategy.refresh_from_db()
    assert (strategy.helpful_count, strategy.harmful_count) == (1, 0)


def test_feedback_with_another_agents_attempt_is_refused(api, other_agent, strategy):
    attempt = AttemptFactory(agent=other_agent, skill=strategy.skill)
    response = feedback(api, strategy.pk, verdict="helpful", attempt=attempt.pk)
    assert response.status_code == 400
    assert str(attempt.pk) in response.json()["detail"]
    assert StrategyFeedback.objects.count() == 0


def test_feedback_for_an_unknown_or_unreleased_strategy_is_not_found(api, strategy):
    assert feedback(api, 10**6, verdict="helpful").status_code == 404
    proposed = propose_strategy(
        skill=strategy.skill, when="a refund is asked", do="check the policy", because="rules"
    )
    response = feedback(api, proposed.pk, verdict="helpful")
    assert response.status_code == 404
    assert str(proposed.pk) in response.json()["detail"]


def test_feedback_for_a_strategy_outside_the_boundaries_is_refused(api, strategy):
    outside = live_strategy("sales.pricing", "a discount is asked", "quote the list price")
    response = feedback(api, outside.pk, verdict="helpful")
    assert response.status_code == 400
    assert "outside" in response.json()["detail"]
    assert StrategyFeedback.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"verdict": "great"}, "verdict"),
        ({}, "verdict"),
        ({"verdict": "helpful", "attempt": "x"}, "attempt"),
        ({"verdict": "helpful", "attempt": "5"}, "attempt"),
        ({"verdict": "helpful", "attempt": 5.0}, "attempt"),
        ({"verdict": "helpful", "attempt": True}, "attempt"),
        ({"verdict": "helpful", "attempt": 2**64}, "attempt"),
        ({"verdict": "helpful", "why": "x"}, "why"),
    ],
)
def test_feedback_problems_are_named(api, strategy, body, path):
    response = feedback(api, strategy.pk, **body)
    assert response.status_code == 400
    assert path in errors_of(response)


# --- Practice ---------------------------------------------------------------------------------------


def assign(agent, skill_key, *, priority=0.0, prompt="Route the call."):
    scenario = PracticeScenario.objects.create(
        skill=Skill.objects.get(key=skill_key), difficulty=0.4, prompt=prompt
    )
    return PracticeAssignment.objects.create(
        agent=agent, scenario=scenario, reason="weak", priority=priority
    )


def test_practice_next_is_204_when_nothing_is_due(api, agent):
    assert api.get(f"{API}/practice/next/").status_code == 204
    later = assign(agent, "support.intent")
    later.scheduled_at = timezone.now() + timedelta(days=1)
    later.save()
    response = api.get(f"{API}/practice/next/")
    assert response.status_code == 204
    assert response.content == b""


def test_practice_next_claims_in_priority_order(api, agent, other_agent):
    low = assign(agent, "support.intent", priority=1, prompt="Low")
    high = assign(agent, "support.billing", priority=5, prompt="High")
    assign(other_agent, "sales.pricing", priority=9, prompt="Not yours")

    first = api.get(f"{API}/practice/next/")
    assert first.status_code == 200
    body = first.json()
    assert body["assignment"] == high.pk
    assert body["scenario"] == {
        "id": high.scenario_id,
        "skill": "support.billing",
        "difficulty": 0.4,
        "prompt": "High",
        "origin": "operator",
    }
    assert body["reason"] == "weak"
    assert str(high.scenario_id) in body["instructions"]
    high.refresh_from_db()
    assert high.status == "claimed" and high.claimed_at is not None

    assert api.get(f"{API}/practice/next/").json()["assignment"] == low.pk
    assert api.get(f"{API}/practice/next/").status_code == 204


def test_attempt_on_a_claimed_scenario_completes_it(api, agent):
    assignment = assign(agent, "support.intent")
    api.get(f"{API}/practice/next/")
    payload = steps_attempt(source="practice", scenario=assignment.scenario_id)
    response = api.post(f"{API}/attempts/", payload, format="json")
    assert response.status_code == 201
    assert response.json()["scenario"] == assignment.scenario_id
    assignment.refresh_from_db()
    assert assignment.status == "completed"
    assert assignment.attempt_id == response.json()["id"]
    again = api.post(f"{API}/attempts/", payload, format="json")
    assert again.status_code == 400
    assert "scenario" in errors_of(again)


# --- Taxonomy proposals ------------------------------------------------------------------------------


def proposal(**fields):
    return {
        "parent": "support.intent",
        "key": "support.intent.sarcasm",
        "name": "Sarcasm",
        "description": "The customer says the opposite of what they mean.",
        "rationale": "Three failures read sarcasm literally.",
        "kind": "failure_mode",
        **fields,
    }


def test_proposal_enters_the_queue_without_changing_the_taxonomy(api, agent):
    evidence = AttemptFactory(agent=agent, skill=Skill.objects.get(key="support.intent"))
    skills_before = Skill.objects.count()
    response = api.post(
        f"{API}/taxonomy/proposals/", proposal(evidence=[evidence.pk]), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    stored = TaxonomyProposal.objects.get()
    assert body["id"] == stored.pk
    assert (body["parent"], body["key"], body["kind"], body["status"], body["evidence"]) == (
        "support.intent",
        "support.intent.sarcasm",
        "failure_mode",
        "proposed",
        [evidence.pk],
    )
    assert stored.proposer_type == "agent" and stored.proposer_name == agent.name
    assert Skill.objects.count() == skills_before
    assert not Skill.objects.filter(key="support.intent.sarcasm").exists()


def test_proposal_under_a_parent_outside_the_boundaries_is_forbidden(api):
    response = api.post(
        f"{API}/taxonomy/proposals/",
        proposal(parent="sales.pricing", key="sales.pricing.haggling"),
        format="json",
    )
    assert response.status_code == 403
    assert "sales.pricing" in response.json()["detail"]
    assert TaxonomyProposal.objects.count() == 0


def test_proposal_with_another_agents_evidence_is_refused(api, other_agent):
    foreign = AttemptFactory(agent=other_agent, skill=Skill.objects.get(key="sales.pricing"))
    response = api.post(
        f"{API}/taxonomy/proposals/", proposal(evidence=[foreign.pk]), format="json"
    )
    assert response.status_code == 400
    assert str(foreign.pk) in response.json()["detail"]
    assert TaxonomyProposal.objects.count() == 0


def test_duplicate_open_proposal_is_refused(api):
    api.post(f"{API}/taxonomy/proposals/", proposal(), format="json")
    response = api.post(f"{API}/taxonomy/proposals/", proposal(), format="json")
    assert response.status_code == 400
    assert "already waiting for review" in response.json()["detail"]
    assert TaxonomyProposal.objects.count() == 1


@pytest.mark.parametrize(
    "key", ["support.intent.sarcasm.deep", "support.billing.sarcasm", "support.intent"]
)
def test_proposal_key_must_be_new_and_one_level_below_the_parent(api, key):
    response = api.post(f"{API}/taxonomy/proposals/", proposal(key=key), format="json")
    assert response.status_code == 400
    assert key in response.json()["detail"]
    assert TaxonomyProposal.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"parent": "Support"}, "parent"),
        ({"kind": "category"}, "kind"),
        ({"evidence": ["x"]}, "evidence[0]"),
        ({"evidence": [2**70]}, "evidence[0]"),
        ({"evidence": "1"}, "evidence"),
        ({"name": 7}, "name"),
        ({"rationale": ["why"]}, "rationale"),
        ({"key": 0}, "key"),
        ({"name": ""}, "name"),
        ({"votes": 3}, "votes"),
    ],
)
def test_proposal_problems_are_named(api, change, path):
    response = api.post(f"{API}/taxonomy/proposals/", proposal(**change), format="json")
    assert response.status_code == 400
    assert path in errors_of(response)


def test_proposal_for_an_unknown_parent_is_refused(api):
    response = api.post(
        f"{API}/taxonomy/proposals/",
        proposal(parent="support.nowhere", key="support.nowhere.x"),
        format="json",
    )
    assert response.status_code in {400, 404}
    assert "support.nowhere" in response.json()["detail"]


# --- Competency -------------------------------------------------------------------------------------


def test_competency_lists_only_the_agents_own_estimates(api, agent, other_agent):
    CompetencyEstimate.objects.create(
        agent=agent,
        skill=Skill.objects.get(key="support.intent"),
        estimate=0.7,
        uncertainty=0.1,
        attempts=4,
        successes=3,
    )
    CompetencyEstimate.objects.create(
        agent=other_agent, skill=Skill.objects.get(key="sales.pricing"), estimate=0.2
    )
    response = api.get(f"{API}/competency/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "skill": "support.intent",
            "estimate": 0.7,
            "uncertainty": 0.1,
            "attempts": 4,
            "successes": 3,
            "rolled_up": False,
            "last_attempt_at": None,
            "next_review_at": None,
        }
    ]


# --- Schema and docs --------------------------------------------------------------------------------


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_valid_openapi_3_with_the_key_scheme(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    scheme = schema["components"]["securitySchemes"]["agentKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "Api-Key <key>" in scheme["description"]
    operations = [
        operation for methods in schema["paths"].values() for operation in methods.values()
    ]
    assert len(operations) == len(OPERATIONS)
    assert all(operation["security"] == [{"agentKey": []}] for operation in operations)


def test_schema_documents_every_answer(schema):
    memory = schema["paths"]["/api/v1/memory/"]["get"]["responses"]
    assert {"200", "304", "400", "401", "403", "404"} <= set(memory)
    assert (
        "text/markdown"
        in schema["paths"]["/api/v1/memory/prompt/"]["get"]["responses"]["200"]["content"]
    )
    assert "204" in schema["paths"]["/api/v1/practice/next/"]["get"]["responses"]
    attempts = schema["paths"]["/api/v1/attempts/"]["post"]["responses"]
    assert {"200", "201", "400", "401", "413", "415"} <= set(attempts)
    feedback_answers = schema["paths"]["/api/v1/strategies/{strategy_id}/feedback/"]["post"]
    assert {"404", "409"} <= set(feedback_answers["responses"])
    trace = schema["components"]["schemas"]["Trace"]
    assert trace["discriminator"]["mapping"] == {
        "steps": "#/components/schemas/StepsTrace",
        "openai-chat": "#/components/schemas/ChatTrace",
    }


def test_docs_page_uses_only_local_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"', html)
    assert sources
    assert not [source for source in sources if source.startswith(("http:", "https:", "//"))]
    assert "cdn" not in html.lower()
    for source in sources:
        assert source.startswith("/static/")
        assert finders.find(source.removeprefix("/static/")), source


@pytest.mark.django_db
def test_unknown_api_path_answers_json_404(client):
    response = client.get("/api/v1/strategies/null,null/feedback/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "no API endpoint" in response.json()["detail"]


@pytest.mark.django_db
def test_unknown_api_path_answers_json_404_to_a_post_too():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/strategies/null,null/feedback/", {}, content_type="application/json"
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
