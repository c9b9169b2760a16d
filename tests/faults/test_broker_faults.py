"""The broker is down for a while, then back: the API keeps accepting attempts (201) while it is
down, and once it is back the sweep (run by beat every 5 minutes) queues the attempts that
never reached a worker, and every attempt is reflected on exactly once."""

import time

import pytest

from practice import tasks
from practice.models import Attempt, CompetencySnapshot, Reflection
from tests.faults.broker import (
    broker,
    folder_options,
    free_port,
    in_process_worker,
    message_files,
    wait_for,
)
from tests.faults.coach import agent_with_key, attempt_payload

ATTEMPTS_WHILE_DOWN = 6


def unwritable_folder_options(root):
    options = folder_options(root / "broker")
    blocker = root / "plain-file"
    blocker.write_text("")
    # A folder below a plain file cannot be created or written, even by root.
    options["data_folder_out"] = str(blocker / "queue")
    return options


def broker_down(kind, root):
    if kind == "filesystem":
        return broker(options=unwritable_folder_options(root))
    return broker(f"redis://127.0.0.1:{free_port()}/0")


@pytest.mark.parametrize("kind", ["filesystem", "redis"])
@pytest.mark.django_db(transaction=True)
def test_attempts_posted_while_the_broker_is_down_are_reflected_once_it_is_back(
    client, tmp_path, kind
):
    _, secret = agent_with_key()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    timings = []
    with broker_down(kind, tmp_path):
        for number in range(ATTEMPTS_WHILE_DOWN):
            started = time.monotonic()
            response = client.post(
                "/api/v1/attempts/",
                attempt_payload(number, external_id=f"down-{number}"),
                content_type="application/json",
                **headers,
            )
            timings.append(time.monotonic() - started)
            assert response.status_code == 201, response.content
        bulk = client.post(
            "/api/v1/attempts/bulk/",
            {"attempts": [attempt_payload(100 + n) for n in range(4)]},
            content_type="application/json",
            **headers,
        )
        assert bulk.status_code == 201
    stored = ATTEMPTS_WHILE_DOWN + 4
    assert Attempt.objects.count() == stored
    assert not Reflection.objects.exists()

    options = folder_options(tmp_path / "broker-back")
    with broker(options=options):
        # The sweep beat would run; attempts younger than its cut-off wait for the next run.
        assert tasks.sweep_unreflected_attempts.delay(older_than_minutes=0)
        assert len(message_files(options)) == 1
        with in_process_worker():
            assert wait_for(
                lambda: Reflection.objects.filter(status="succeeded").count() == stored, seconds=60
            ), f"{Reflection.objects.count()} of {stored} reflected"
            # A second sweep finds nothing left to do.
            assert (
                tasks.sweep_unreflected_attempts.apply(kwargs={"older_than_minutes": 0}).get() == 0
            )

    per_attempt = {attempt.pk: attempt.reflections.count() for attempt in Attempt.objects.all()}
    print(
        f"broker down ({kind}): {stored} attempts stored, each POST answered in at most "
        f"{max(timings) * 1000:.0f} ms; after the sweep: {sum(per_attempt.values())} reflections, "
        f"duplicates: {sum(n - 1 for n in per_attempt.values() if n > 1)}, "
        f"lost: {sum(1 for n in per_attempt.values() if n == 0)}"
    )
    assert set(per_attempt.values()) == {1}
    assert CompetencySnapshot.objects.filter(skill__key="tools.orders").count() == stored
    assert max(timings) < 10
