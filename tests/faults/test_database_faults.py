"""The database connection drops in the middle of a request: the agent gets a JSON 503 it can
retry, nothing of the request is stored, and the retry stores the attempts once."""

import time

import pytest
from django.db import OperationalError, connection

from practice.models import Attempt, TraceStep
from practice.services.agents import issue_key
from tests.factories import AgentFactory, SkillFactory

BATCH = {
    "attempts": [
        {
            "external_id": f"run-{number}",
            "skill": "tools.orders",
            "success": False,
            "score": 0.1,
            "trace": {
                "format": "steps",
                "steps": [{"action": "get_order_details", "ok": False, "actual": "not found"}],
            },
        }
        for number in range(3)
    ]
}


def drop_connection_after(table):
    """An execute wrapper that loses the database connection right after the request's first
    write to `table`, so the request has written part of its work when the connection goes.
    On PostgreSQL the real connection is closed under Django's feet (the next statement fails
    as on a dropped connection); SQLite has no connection to lose, so the next statement raises
    the error a lost connection gives."""
    state = {"dropped": 0}

    def wrapper(execute, sql, params, many, context):
        if state["dropped"] == 1:
            state["dropped"] += 1
            raise OperationalError("server closed the connection unexpectedly")
        result = execute(sql, params, many, context)
        if state["dropped"] == 0 and f'INSERT INTO "{table}"' in sql:
            state["dropped"] = 1
            if connection.vendor == "postgresql":
                connection.connection.close()
                state["dropped"] = 2
        return result

    return wrapper, state


@pytest.mark.django_db(transaction=True)
def test_a_dropped_connection_answers_503_and_stores_nothing(client):
    SkillFactory(key="tools.orders")
    agent = AgentFactory(boundaries=["tools"])
    secret = issue_key(agent).secret
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    wrapper, state = drop_connection_after("practice_attempt")
    started = time.monotonic()
    with connection.execute_wrapper(wrapper):
        response = client.post(
            "/api/v1/attempts/bulk/", BATCH, content_type="application/json", **headers
        )
    print(
        f"dropped connection: HTTP {response.status_code} in "
        f"{(time.monotonic() - started) * 1000:.0f} ms on {connection.vendor}"
    )
    assert state["dropped"] == 2, "the request never wrote attempts"
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    assert "nothing from this request was stored" in response.json()["detail"]

    connection.close()  # what Django does with an unusable connection at the end of a request
    assert Attempt.objects.count() == 0
    assert TraceStep.objects.count() == 0

    retried = client.post(
        "/api/v1/attempts/bulk/", BATCH, content_type="application/json", **headers
    )
    assert retried.status_code == 201, retried.content
    assert retried.json()["created"] == 3
    again = client.post("/api/v1/attempts/bulk/", BATCH, content_type="application/json", **headers)
    assert again.json()["replayed"] == 3
    assert Attempt.objects.count() == 3
    assert TraceStep.objects.count() == 3
