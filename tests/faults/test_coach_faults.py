"""The coach endpoint is slow, erroring or answering garbage: passing failures are retried with
back-off by the task, lasting ones leave a failed reflection operators can see and retry, and
the worker keeps taking the next attempts meanwhile."""

import time

import pytest

from practice import tasks
from practice.models import Reflection
from tests.faults.broker import broker, folder_options, in_process_worker, wait_for
from tests.faults.coach import ANSWER, NO_CLIENT_RETRY, agent_with_key, attempt_payload

MODEL = "fault-coach"


@pytest.fixture
def llm_coach(settings, openai_server):
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.ETUDE_COACH_MODEL = MODEL
    settings.ETUDE_COACH_TIMEOUT = 1
    settings.ETUDE_REFLECTION_RETRY_DELAY = 0
    settings.ETUDE_REFLECTION_RETRIES = 3
    return openai_server


def settled(attempt_id):
    found = Reflection.objects.filter(attempt_id=attempt_id).first()
    return found if found and found.status in {"succeeded", "failed"} else None


@pytest.mark.django_db(transaction=True)
def test_slow_erroring_and_garbage_coach_answers(client, tmp_path, llm_coach):
    _, secret = agent_with_key()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    started = time.monotonic()

    def post(number):
        response = client.post(
            "/api/v1/attempts/", attempt_payload(number), content_type="application/json", **headers
        )
        assert response.status_code == 201, response.content
        return response.json()["id"]

    with broker(options=folder_options(tmp_path / "broker")), in_process_worker():
        # Erroring: two 503s the client does not retry itself; the task retries with back-off.
        llm_coach.fail(503, "overloaded", headers=NO_CLIENT_RETRY)
        llm_coach.fail(503, "overloaded", headers=NO_CLIENT_RETRY)
        llm_coach.reply(ANSWER)
        erroring = post(1)
        assert wait_for(lambda: settled(erroring), seconds=30)

        # Slow: the first answer comes after the 1 s timeout; the client asks again.
        llm_coach.reply(ANSWER, delay=3)
        llm_coach.reply(ANSWER)
        slow = post(2)
        assert wait_for(lambda: settled(slow), seconds=30)

        # Garbage: a lasting failure, not retried by the task.
        llm_coach.reply("I am not JSON, sorry")
        garbage = post(3)
        assert wait_for(lambda: settled(garbage), seconds=30)

        # The queue keeps moving after the failure.
        llm_coach.reply(ANSWER)
        after = post(4)
        assert wait_for(lambda: settled(after), seconds=30)

        # Operators retry the failed one (the status page queues this task).
        llm_coach.reply(ANSWER)
        failed = Reflection.objects.get(attempt_id=garbage)
        assert failed.status == "failed" and failed.tries == 1
        assert "JSON" in failed.error
        tasks.retry_reflection.delay(failed.pk)
        assert wait_for(
            lambda: Reflection.objects.get(pk=failed.pk).status == "succeeded", seconds=30
        )

    reflections = {r.attempt_id: r for r in Reflection.objects.all()}
    print(
        f"coach faults: {len(reflections)} reflections, tries "
        f"{ {attempt: r.tries for attempt, r in sorted(reflections.items())} }, "
        f"{len(llm_coach.requests)} coach calls, {time.monotonic() - started:.1f} s"
    )
    assert len(reflections) == 4
    assert all(r.status == "succeeded" for r in reflections.values())
    assert reflections[erroring].tries == 3  # the first run and two task retries
    assert reflections[slow].tries == 1  # the client's own retry sufficed
    assert reflections[garbage].tries == 2  # failed once, retried by an operator
    assert reflections[after].tries == 1
    assert llm_coach.pending == 0
    assert len(llm_coach.requests) == 8


@pytest.mark.django_db(transaction=True)
def test_retries_stop_after_the_configured_number(client, llm_coach):
    _, secret = agent_with_key()
    for _ in range(4):
        llm_coach.fail(503, "down", headers=NO_CLIENT_RETRY)
    response = client.post(
        "/api/v1/attempts/",
        attempt_payload(1),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201
    reflection = Reflection.objects.get(attempt_id=response.json()["id"])
    assert reflection.status == "failed"
    assert "HTTP 503" in reflection.error
    assert reflection.tries == 4  # the first run and three retries, then it waits for operators
    assert len(llm_coach.requests) == 4


def test_retry_delays_grow_and_are_capped(settings):
    settings.ETUDE_REFLECTION_RETRY_DELAY = 30
    settings.ETUDE_REFLECTION_RETRY_MAX_DELAY = 100
    assert [tasks.retry_delay(n) for n in range(4)] == [30, 60, 100, 100]
    assert tasks.is_transient("the LLM endpoint answered HTTP 429 after 3 retries: slow down")
    assert tasks.is_transient(
        "the LLM endpoint did not answer within 60 s (timeout, after 3 retries)"
    )
    assert not tasks.is_transient("the LLM endpoint answered HTTP 400: bad request")
    assert not tasks.is_transient("the answer is not JSON: 'I am not JSON'")
