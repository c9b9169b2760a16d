# ruff: noqa: F811 (pytest fixtures imported from test_api are redefined as arguments)
"""The per-process copies behind the agent API (practice/caches.py): a change made in this
process is seen by the very next request, and the fast 304 answer keeps every check."""

import pytest

from practice import caches, memory
from practice.serializers import MemoryStrategySerializer
from practice.services.agents import issue_key, revoke_key, set_boundaries
from practice.services.feedback import give_feedback
from practice.services.strategies import publish_release
from tests.practice.test_api import (  # noqa: F401 (fixtures)
    API,
    agent,
    api,
    client_for,
    live_strategy,
    pull,
    strategies,
    tree,
)

pytestmark = pytest.mark.django_db
SKILL = "support.intent.ambiguity"


def test_a_key_revoked_here_is_refused_at_once_though_it_was_copied(agent):
    issued = issue_key(agent)
    client = client_for(issued.secret)
    assert client.get(f"{API}/competency/").status_code == 200
    revoke_key(issued.key, reason="leaked")
    answer = client.get(f"{API}/competency/")
    assert answer.status_code == 401
    assert answer.json()["detail"] == "The API key has been revoked."


def test_a_revoked_key_gets_no_304_either(agent, strategies):
    issued = issue_key(agent)
    client = client_for(issued.secret)
    etag = pull(client, skill=SKILL)["ETag"]
    assert client.get(f"{API}/memory/", {"skill": SKILL}, HTTP_IF_NONE_MATCH=etag).status_code == (
        304
    )
    revoke_key(issued.key)
    answer = client.get(f"{API}/memory/", {"skill": SKILL}, HTTP_IF_NONE_MATCH=etag)
    assert answer.status_code == 401
    assert "revoked" in answer.json()["detail"]


def test_changed_boundaries_apply_to_the_next_pull(api, agent, strategies):
    assert pull(api, skill=SKILL).status_code == 200
    set_boundaries(agent, ["sales"])
    answer = pull(api, skill=SKILL)
    assert answer.status_code == 403
    assert SKILL in answer.json()["detail"]


def test_a_new_release_changes_the_etag_and_the_answer(api, strategies):
    first = pull(api, skill=SKILL)
    added = live_strategy(SKILL, "the customer names two orders", "ask which order is meant")
    publish_release()
    again = api.get(f"{API}/memory/", {"skill": SKILL}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200
    assert again.json()["release"] == 2
    assert added.pk in {item["id"] for item in again.json()["strategies"]}


def test_counters_in_a_pull_lag_by_at_most_the_cache_lifetime(
    api, agent, strategies, settings, monkeypatch
):
    refund = strategies["refund"]

    def counts():
        by_id = {item["id"]: item for item in pull(api, skill=SKILL).json()["strategies"]}
        return by_id[refund.pk]["helpful"], by_id[refund.pk]["harmful"]

    assert counts() == (0, 0)
    give_feedback(agent, refund, verdict="harmful")
    assert counts() == (0, 0)  # the process's copy of the release's counters
    now = caches.time.monotonic()
    later = now + settings.ETUDE_MEMORY_COUNTERS_SECONDS
    monkeypatch.setattr(caches.time, "monotonic", lambda: later)
    assert counts() == (0, 1)


def test_304_answers_count_against_the_rate_limit(api, strategies, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"agent": "3/minute"},
    }
    etag = pull(api, skill=SKILL)["ETag"]
    answers = [
        api.get(f"{API}/memory/", {"skill": SKILL}, HTTP_IF_NONE_MATCH=etag).status_code
        for _ in range(3)
    ]
    assert answers == [304, 304, 429]


def test_without_copies_every_request_reads_the_database(agent, settings):
    settings.ETUDE_API_CACHE_SECONDS = 0
    issued = issue_key(agent)
    client = client_for(issued.secret)
    assert client.get(f"{API}/competency/").status_code == 200
    # Another process revoking leaves no trace in this one: only a fresh read sees it.
    type(issued.key).objects.filter(pk=issued.key.pk).update(revoked_at=issued.key.created_at)
    assert client.get(f"{API}/competency/").status_code == 401


def test_copies_expire_after_the_configured_seconds(agent, settings, monkeypatch):
    issued = issue_key(agent)
    client = client_for(issued.secret)
    assert client.get(f"{API}/competency/").status_code == 200
    type(issued.key).objects.filter(pk=issued.key.pk).update(revoked_at=issued.key.created_at)
    # Within the lifetime this process still holds the copy (another process's revocation lags).
    assert client.get(f"{API}/competency/").status_code == 200
    now = caches.time.monotonic()
    monkeypatch.setattr(caches.time, "monotonic", lambda: now + settings.ETUDE_API_CACHE_SECONDS)
    assert client.get(f"{API}/competency/").status_code == 401


def test_the_plain_representation_matches_the_serializer(agent, strategies):
    selection = memory.select(agent, SKILL, context="refund for an order")
    assert selection.strategies
    for item in selection.strategies:
        assert MemoryStrategySerializer.represent(item) == MemoryStrategySerializer(item).data
