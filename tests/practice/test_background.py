"""A real Celery worker, on the real (filesystem) broker, does the work an attempt sets off:
competency is updated and the attempt reflected on, once, after the request has committed."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from etude_site.celery import app as celery_app
from practice.models import CompetencyEstimate, CompetencySnapshot, Reflection, Strategy
from practice.services.agents import issue_key
from tests.factories import AgentFactory, SkillFactory

ORDER_TASK = {
    "skill": "tools.orders",
    "success": False,
    "score": 0.0,
    "difficulty": 0.6,
    "task_input": "Please look up order #W2378156 for me.",
    "expected_actions": [{"name": "get_order_details", "arguments": {"order_id": "#W2378156"}}],
    "trace": {
        "format": "steps",
        "steps": [
            {
                "action": "get_order_details",
                "arguments": {"order_id": "#W9999999"},
                "actual": "Error: order not found",
                "ok": False,
            }
        ],
    },
}


@pytest.fixture
def worker(tmp_path):
    folders = {name: tmp_path / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    saved = {
        key: celery_app.conf[key]
        for key in ("broker_url", "broker_transport_options", "task_always_eager")
    }
    celery_app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(folders["queue"]),
            "data_folder_out": str(folders["queue"]),
            "processed_folder": str(folders["processed"]),
            "control_folder": str(folders["control"]),
        },
        task_always_eager=False,
    )
    _reset_connections()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield folders
    celery_app.conf.update(saved)
    _reset_connections()


def _reset_connections():
    """Drop pooled broker connections so the next message uses the broker configured now."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None


def wait_for(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_worker_reflects_and_updates_competency_after_commit(client, worker):
    SkillFactory(key="tools.orders")
    agent = AgentFactory(boundaries=["tools"])
    secret = issue_key(agent).secret

    response = client.post(
        "/api/v1/attempts/",
        ORDER_TASK,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    assert response.status_code == 201, response.content
    attempt_id = response.json()["id"]

    assert wait_for(
        lambda: Reflection.objects.filter(
            attempt_id=attempt_id, status=Reflection.Status.SUCCEEDED
        ).exists()
    ), "the worker never reflected on the attempt"
    assert wait_for(lambda: CompetencySnapshot.objects.filter(attempt_id=attempt_id).exists())

    reflection = Reflection.objects.get(attempt_id=attempt_id)
    assert reflection.fault_type == Reflection.FaultType.WRONG_ARGUMENT
    strategy = Strategy.objects.get(evidence__id=attempt_id)
    assert "#W2378156" in strategy.current_version.do_text
    competency = CompetencyEstimate.objects.get(agent=agent, skill__key="tools.orders")
    assert competency.attempts == 1 and competency.successes == 0
    assert competency.estimate < 0.5


@pytest.mark.django_db(transaction=True)
def test_redelivered_work_adds_nothing(client, worker):
    from practice import tasks

    SkillFactory(key="tools.orders")
    agent = AgentFactory(boundaries=["tools"])
    secret = issue_key(agent).secret
    response = client.post(
        "/api/v1/attempts/",
        ORDER_TASK,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    attempt_id = response.json()["id"]
    assert wait_for(lambda: Reflection.objects.filter(attempt_id=attempt_id).exists())

    # The same message delivered twice more, as a broker may do after a lost acknowledgement.
    tasks.process_new_attempts.delay([attempt_id])
    tasks.reflect_on_attempt.delay(attempt_id)
    queue = worker["queue"]
    assert wait_for(lambda: not any(queue.iterdir()), seconds=30)
    time.sleep(1)

    assert Reflection.objects.filter(attempt_id=attempt_id).count() == 1
    assert Strategy.objects.filter(evidence__id=attempt_id).count() == 1
    assert (
        CompetencySnapshot.objects.filter(attempt_id=attempt_id, skill__key="tools.orders").count()
        == 1
    )
    assert CompetencyEstimate.objects.get(agent=agent, skill__key="tools.orders").attempts == 1
