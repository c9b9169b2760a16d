"""/healthz checks the database and the broker; /status/ shows operators the queue, the workers
and the failed reflections, which they can retry."""

import time

import pytest
from django.db import OperationalError, connection
from django.urls import include, path

from etude_site.urls import urlpatterns as site_urlpatterns
from oversight import status_views
from practice import tasks
from practice.coach.select import get_coach
from practice.models import Reflection
from tests.factories import AttemptFactory, TraceStepFactory, operator, reviewer
from tests.faults.broker import (
    broker,
    folder_options,
    free_port,
    in_process_worker,
    message_files,
)

# Until etude_site/urls.py mounts them, the tests mount /healthz and /status/ themselves.
urlpatterns = [
    path("healthz", status_views.healthz, name="healthz"),
    path("status/", include("oversight.status_urls")),
    *site_urlpatterns,
]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]


# --- /healthz -----------------------------------------------------------------------------------


def test_healthz_is_ok_when_the_database_and_the_broker_answer(client, tmp_path):
    with broker(options=folder_options(tmp_path / "broker")):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_names_an_unwritable_broker_folder(client, tmp_path):
    options = folder_options(tmp_path / "broker")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    # A folder below a plain file cannot be written, even by root.
    options["data_folder_out"] = str(blocker / "queue")
    with broker(options=options):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["failed"] == ["broker"]
    assert body["database"] == "ok"
    assert str(blocker) not in response.content.decode()


def test_healthz_answers_503_quickly_when_the_redis_broker_is_down(client):
    started = time.monotonic()
    with broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/healthz")
    elapsed = time.monotonic() - started
    print(f"healthz with Redis down answered in {elapsed:.2f} s")
    assert response.status_code == 503
    assert response.json()["failed"] == ["broker"]
    assert elapsed < 10


def test_healthz_names_a_failing_database(client, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    with broker(options=folder_options(tmp_path / "broker")):
        monkeypatch.setattr(connection, "cursor", refuse)
        response = client.get("/healthz")
        monkeypatch.undo()
    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "database": "unavailable (OperationalError)",
        "broker": "ok",
        "failed": ["database"],
    }


# --- /status/ ------------------------------------------------------------------------------------


def failed_reflection(error="the LLM endpoint answered HTTP 400: bad request"):
    attempt = AttemptFactory(skill__key="tools.orders")
    TraceStepFactory(attempt=attempt, action="get_order_details", ok=False, actual="not found")
    coach = get_coach()
    return Reflection.objects.create(
        attempt=attempt,
        coach_name=coach.name,
        coach_version=coach.version,
        status=Reflection.Status.FAILED,
        error=error,
        tries=1,
    )


def test_the_status_page_needs_sign_in_and_the_operator_role(client):
    response = client.get("/status/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")

    client.force_login(reviewer())
    assert client.get("/status/").status_code == 403


def test_the_status_page_counts_waiting_messages_and_lists_failed_reflections(client, tmp_path):
    reflection = failed_reflection()
    options = folder_options(tmp_path / "broker")
    client.force_login(operator())
    with broker(options=options):
        tasks.sweep_unreflected_attempts.delay()
        tasks.schedule_practice_for_all.delay()
        assert len(message_files(options)) == 2
        response = client.get("/status/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-figure="queue-depth">2<' in page
    assert 'data-figure="workers">0<' in page
    assert 'data-figure="failed">1<' in page
    assert f'id="failed-reflection-{reflection.pk}"' in page
    assert "answered HTTP 400" in page
    assert f"/status/reflections/{reflection.pk}/retry/" in page


@pytest.mark.django_db(transaction=True)
def test_the_status_page_names_the_workers_that_answer_a_ping(client, tmp_path):
    client.force_login(operator())
    with broker(options=folder_options(tmp_path / "broker")), in_process_worker(hostname="w1@t"):
        response = client.get("/status/")
    page = response.content.decode()
    assert 'data-figure="workers">1<' in page
    assert "w1@t" in page


def test_the_status_page_says_when_the_broker_is_down(client):
    client.force_login(operator())
    with broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get("/status/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Queue depth: the broker is unavailable" in page
    assert "Workers: the broker is unavailable" in page


def test_an_operator_retries_a_failed_reflection_from_the_status_page(client):
    reflection = failed_reflection()
    client.force_login(operator())
    response = client.post(f"/status/reflections/{reflection.pk}/retry/", follow=True)
    assert response.status_code == 200
    assert f"A retry of reflection #{reflection.pk} is queued." in response.content.decode()
    # Tasks run inline in the tests: the retry has run with the offline coach.
    reflection.refresh_from_db()
    assert reflection.status == Reflection.Status.SUCCEEDED
    assert reflection.tries == 2
    assert f'id="failed-reflection-{reflection.pk}"' not in response.content.decode()

    again = client.post(f"/status/reflections/{reflection.pk}/retry/", follow=True)
    assert "is succeeded now; nothing to retry" in again.content.decode()


def test_a_retry_while_the_broker_is_down_says_so_and_changes_nothing(client):
    reflection = failed_reflection()
    client.force_login(operator())
    with broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.post(f"/status/reflections/{reflection.pk}/retry/", follow=True)
    assert "could not be queued: the broker is unavailable" in response.content.decode()
    reflection.refresh_from_db()
    assert reflection.status == Reflection.Status.FAILED


def test_only_operators_retry_and_only_by_post(client):
    reflection = failed_reflection()
    client.force_login(reviewer())
    assert client.post(f"/status/reflections/{reflection.pk}/retry/").status_code == 403
    client.force_login(operator())
    assert client.get(f"/status/reflections/{reflection.pk}/retry/").status_code == 405
    reflection.refresh_from_db()
    assert reflection.status == Reflection.Status.FAILED
