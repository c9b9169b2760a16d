"""A worker process is killed (SIGKILL) in the middle of a reflection, while the coach is still
answering. What really happens, and what this test asserts:

- The filesystem broker moves a message out of the queue when a worker takes it; a worker that
  dies without a word (SIGKILL) never gives it back, so acks_late alone does not redeliver it
  here. (On Redis the unacknowledged message comes back after the visibility timeout.)
- The reflection row stays "running" with its claim. Once it is older than
  ETUDE_REFLECTION_STALE_MINUTES, beat's sweep re-queues the attempt, a new worker takes the
  abandoned claim over and finishes the reflection: once, with nothing duplicated.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from practice import tasks
from practice.models import Attempt, CompetencySnapshot, Reflection, Strategy, StrategyEvidence
from tests.faults.broker import broker, folder_options, message_files, wait_for
from tests.faults.coach import ANSWER, agent_with_key, attempt_payload

ROOT = Path(__file__).resolve().parents[2]
MODEL = "slow-coach"


def database_url():
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings["USER"] or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return f"postgresql://{user}{password}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def start_worker(var_dir, coach_url, name):
    """A real Celery worker process on the filesystem broker in var_dir/broker."""
    environment = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "test-only-secret-key-000000000000000000",
        "DATABASE_URL": database_url(),
        "ETUDE_VAR_DIR": str(var_dir),
        "CELERY_BROKER_URL": "filesystem://",
        "OPENAI_BASE_URL": coach_url,
        "ETUDE_COACH_MODEL": MODEL,
        "ETUDE_COACH_TIMEOUT": "30",
    }
    environment.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log = open(var_dir / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "etude_site",
            "worker",
            "--pool=solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"{name}@%h",
        ],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process.log_file = log
    return process


def stop(process, sig=signal.SIGTERM):
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    process.log_file.close()


@pytest.mark.django_db(transaction=True)
def test_a_reflection_killed_mid_call_is_finished_once_by_another_worker(
    client, settings, tmp_path, openai_server
):
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.ETUDE_COACH_MODEL = MODEL
    _, secret = agent_with_key()
    options = folder_options(tmp_path / "broker")
    openai_server.reply(ANSWER, delay=20)  # the call the worker dies in
    openai_server.reply(ANSWER)  # the call of the worker that takes over

    first = start_worker(tmp_path, openai_server.base_url, "first")
    second = None
    started = time.monotonic()
    try:
        with broker(options=options):
            response = client.post(
                "/api/v1/attempts/",
                attempt_payload(1),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {secret}",
            )
            assert response.status_code == 201
            attempt_id = response.json()["id"]
            assert wait_for(lambda: len(openai_server.requests) == 1, seconds=60), (
                "the worker never called the coach: " + (tmp_path / "first.log").read_text()[-2000:]
            )
            stop(first, signal.SIGKILL)
            killed_at = time.monotonic() - started
            running = Reflection.objects.get(attempt_id=attempt_id)
            assert running.status == "running" and running.tries == 1

            second = start_worker(tmp_path, openai_server.base_url, "second")
            time.sleep(5)
            # No redelivery on the filesystem broker: the message went with the killed worker.
            assert not message_files(options)
            assert Reflection.objects.get(attempt_id=attempt_id).status == "running"
            assert len(openai_server.requests) == 1

            # Half an hour later the claim counts as abandoned and beat's sweep re-queues it.
            stale = timezone.now() - timedelta(minutes=settings.ETUDE_REFLECTION_STALE_MINUTES + 1)
            Reflection.objects.filter(pk=running.pk).update(started_at=stale)
            Attempt.objects.filter(pk=attempt_id).update(created_at=stale)
            tasks.sweep_unreflected_attempts.delay()
            assert wait_for(
                lambda: Reflection.objects.get(pk=running.pk).status == "succeeded", seconds=60
            ), (tmp_path / "second.log").read_text()[-2000:]
            # A redelivery of the first message now, as Redis would give, adds nothing.
            tasks.reflect_on_attempt.delay(attempt_id)
            assert wait_for(lambda: not message_files(options), seconds=30)
            time.sleep(1)
    finally:
        stop(first, signal.SIGKILL)
        if second is not None:
            stop(second)

    reflection = Reflection.objects.get(attempt_id=attempt_id)
    print(
        f"worker killed {killed_at:.1f} s after the post; reflection finished by the sweep path: "
        f"status {reflection.status}, tries {reflection.tries}, "
        f"coach calls {len(openai_server.requests)}, reflections {Reflection.objects.count()}, "
        f"total {time.monotonic() - started:.1f} s"
    )
    assert Reflection.objects.filter(attempt_id=attempt_id).count() == 1
    assert reflection.tries == 2
    assert len(openai_server.requests) == 2
    assert (
        CompetencySnapshot.objects.filter(attempt_id=attempt_id, skill__key="tools.orders").count()
        == 1
    )
    assert (
        StrategyEvidence.objects.filter(attempt_id=attempt_id).count() == Strategy.objects.count()
    )
