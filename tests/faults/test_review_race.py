"""Two reviewers decide the same item at the same instant, each on its own database connection:
exactly one decision is applied, the other reviewer is told the item changed (StaleItem), and
the audit log records the one decision and still verifies."""

import threading
from functools import partial

import pytest
from django.db import connection

from oversight.models import ReviewDecision
from oversight.services import review, verify_chain
from practice.models import Strategy
from practice.services.strategies import propose_strategy
from tests.factories import SkillFactory, reviewer

ROUNDS = 5


def decide_together(decisions):
    """Run each (name, callable) in its own thread, released at the same instant; returns
    {name: result or exception}."""
    barrier = threading.Barrier(len(decisions))
    results = {}

    def run(name, decide):
        try:
            barrier.wait(timeout=10)
            results[name] = decide()
        except Exception as error:  # noqa: BLE001 (the loser's error is the result)
            results[name] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in decisions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_one_strategy_at_once_one_wins():
    skill = SkillFactory(key="support.refunds")
    alice, bob = reviewer(username="alice"), reviewer(username="bob")
    outcomes = []
    for round_number in range(ROUNDS):
        strategy = propose_strategy(
            skill=skill,
            when=f"When refund request number {round_number} names a delivered order",
            do="Check the delivery date against the return window before refunding",
            because="refunds outside the window are refused later",
        )
        revision = strategy.revision
        results = decide_together(
            [
                ("accept", partial(review.accept, strategy, actor=alice, revision=revision)),
                (
                    "reject",
                    partial(
                        review.reject, strategy, actor=bob, revision=revision, reason_code="vague"
                    ),
                ),
            ]
        )
        won = [name for name, result in results.items() if isinstance(result, review.Outcome)]
        lost = {name: result for name, result in results.items() if name not in won}
        assert len(won) == 1, results
        (loser_error,) = lost.values()
        assert isinstance(loser_error, review.StaleItem), repr(loser_error)
        assert "changed after you opened it" in str(loser_error)
        strategy.refresh_from_db()
        expected = Strategy.Status.LIVE if won == ["accept"] else Strategy.Status.REJECTED
        assert strategy.status == expected
        assert ReviewDecision.objects.filter(strategy=strategy).count() == 1
        outcomes.append(won[0])

    print(f"review race: {ROUNDS} rounds, winners {outcomes}, {ROUNDS} losers told StaleItem")
    assert ReviewDecision.objects.count() == ROUNDS
    checked, problem = verify_chain()
    assert problem is None
    assert checked >= ROUNDS
