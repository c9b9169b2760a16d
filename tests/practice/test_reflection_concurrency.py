"""Two workers at once, with real threads and their own database connections."""

import threading
import time
from functools import partial

import pytest
from django.db import connection

from practice.coach.offline import TraceDiffCoach
from practice.models import Reflection, Strategy, StrategyEvidence
from practice.services.reflection import reflect_attempt
from tests.practice.test_reflection_pipeline import (
    CARD_REFUND,
    HEADPHONES,
    WATER_BOTTLE,
    ScriptedCoach,
    return_attempt,
    returns_agent,
    store,
)


@pytest.fixture
def agent():
    return returns_agent()


@pytest.fixture(autouse=True)
def _no_background_work(monkeypatch):
    """These tests call the pipeline themselves; storing attempts must not start it as well."""
    from practice.services import attempts

    monkeypatch.setattr(attempts, "after_commit_hooks", [])


def run_together(*calls):
    """Run the calls in threads (each with its own database connection), started together."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = []

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, call)) for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


class SlowScriptedCoach(ScriptedCoach):
    def reflect(self, view):
        time.sleep(0.3)
        return super().reflect(view)


@pytest.mark.django_db(transaction=True)
def test_two_workers_reflecting_on_the_same_attempt_at_once_make_one_reflection(agent):
    attempt = store(agent, return_attempt())
    coaches = [SlowScriptedCoach(CARD_REFUND), SlowScriptedCoach(CARD_REFUND)]

    run_together(*(partial(reflect_attempt, attempt.pk, coach=coach) for coach in coaches))

    assert sorted(coach.calls for coach in coaches) == [0, 1]
    reflection = Reflection.objects.get()
    assert (reflection.status, reflection.tries) == (Reflection.Status.SUCCEEDED, 1)
    assert (Strategy.objects.get().support_count, StrategyEvidence.objects.count()) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_two_workers_with_the_same_mistake_at_once_make_one_strategy(agent):
    attempts = [store(agent, return_attempt(order)) for order in (WATER_BOTTLE, HEADPHONES)]

    run_together(
        *(partial(reflect_attempt, attempt.pk, coach=TraceDiffCoach()) for attempt in attempts)
    )

    assert Reflection.objects.filter(status=Reflection.Status.SUCCEEDED).count() == 2
    strategy = Strategy.objects.get()
    assert strategy.support_count == 2
    assert set(strategy.evidence.all()) == set(attempts)
