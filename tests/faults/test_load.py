"""Load: 20 agent clients, each a thread with its own database connection, post 5,000 attempts
in total (bulk, single, and replays of the same external ids) while 3 reviewers accept and
reject the strategies reflection proposes. Afterwards the counts match exactly: every attempt
stored once and reflected once, no duplicate strategy, every decision recorded once and
chained in an audit log that verifies. Prints throughput and error counts.

Tasks run inline (after each request commits), so reflection load lands on the request
threads as it would on workers. When SQLite makes a reflection wait on a lock longer than its
timeout, that reflection does not start; beat's sweep recovers it, and the test runs the sweep
as beat would before counting (the figures say how many it recovered).

ETUDE_LOAD_ATTEMPTS sets the total (5000 by default: about 70 s on SQLite on a quiet 2-core
machine); lower it on a slower one."""

import os
import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count
from django.test import Client

from etude_site.celery import app as celery_app
from oversight.models import AuditEvent, ReviewDecision
from oversight.services import review, verify_chain
from practice import tasks
from practice.models import Attempt, Reflection, Strategy, StrategyEvidence
from practice.services.agents import issue_key
from practice.services.reflection import queue_ready_strategies, reflections_to_sweep
from tests.factories import AgentFactory, SkillFactory, reviewer
from tests.faults.coach import attempt_payload

TOTAL = int(os.environ.get("ETUDE_LOAD_ATTEMPTS", "5000"))
AGENTS = 20
REVIEWERS = 3
BULK_SIZE = 50
SKILLS = ["tools.orders", "tools.refunds", "tools.addresses", "tools.exchanges"]


def plan_for(agent_number, count):
    """The requests of one agent: (kind, [payloads]). Every attempt has an external id; a tenth
    of them is sent a second time (a client retrying after a lost answer)."""
    rng = random.Random(agent_number)
    payloads = []
    for number in range(count):
        payload = attempt_payload(
            agent_number * 100_000 + number,
            skill=SKILLS[number % len(SKILLS)],
            external_id=f"a{agent_number}-{number}",
            success=rng.random() < 0.6,
        )
        payloads.append(payload)
    requests = []
    bulk_part = count * 4 // 5
    for start in range(0, bulk_part, BULK_SIZE):
        requests.append(("bulk", payloads[start : min(start + BULK_SIZE, bulk_part)]))
    requests.extend(("single", [payload]) for payload in payloads[bulk_part:])
    rng.shuffle(requests)
    replays = rng.sample(payloads, max(1, count // 10))
    requests.append(("bulk", replays[: len(replays) // 2]))
    requests.extend(("single", [payload]) for payload in replays[len(replays) // 2 :])
    return requests, len(replays)


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = Counter()
        self.decisions = []

    def add(self, **counts):
        with self.lock:
            self.counts.update(counts)


def agent_client(secret, requests, tally):
    celery_app.set_current()  # the tasks each request sets off run inline in this thread
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    try:
        for kind, payloads in requests:
            if kind == "bulk":
                response = client.post(
                    "/api/v1/attempts/bulk/",
                    {"attempts": payloads},
                    content_type="application/json",
                )
                ok = response.status_code in {200, 201}
                body = response.json() if ok else {}
                tally.add(
                    requests=1,
                    created=body.get("created", 0),
                    replayed=body.get("replayed", 0),
                    errors=0 if ok else 1,
                    **{f"status_{response.status_code}": 1},
                )
            else:
                response = client.post(
                    "/api/v1/attempts/", payloads[0], content_type="application/json"
                )
                tally.add(
                    requests=1,
                    created=int(response.status_code == 201),
                    replayed=int(response.status_code == 200),
                    errors=int(response.status_code not in {200, 201}),
                    **{f"status_{response.status_code}": 1},
                )
    finally:
        connection.close()


def reviewer_loop(user, seed, stop, tally):
    rng = random.Random(seed)
    try:
        while True:
            finishing = stop.is_set()
            ready = list(queue_ready_strategies().order_by("pk").values_list("pk", flat=True)[:20])
            if not ready:
                if finishing:
                    return
                time.sleep(0.05)
                continue
            strategy = Strategy.objects.get(pk=rng.choice(ready))
            try:
                if rng.random() < 0.5:
                    outcome = review.accept(strategy, actor=user, revision=strategy.revision)
                else:
                    outcome = review.reject(
                        strategy, actor=user, revision=strategy.revision, reason_code="vague"
                    )
            except review.ReviewError as error:
                tally.add(**{f"review_{type(error).__name__}": 1})
                continue
            with tally.lock:
                tally.decisions.append(outcome.decision.pk)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_twenty_agents_and_three_reviewers_lose_nothing():
    for key in SKILLS:
        SkillFactory(key=key)
    per_agent = TOTAL // AGENTS
    plans, keys, replays = [], [], 0
    for number in range(AGENTS):
        agent = AgentFactory(name=f"load-agent-{number}", boundaries=["tools"])
        keys.append(issue_key(agent).secret)
        requests, replayed = plan_for(number, per_agent)
        plans.append(requests)
        replays += replayed
    reviewers = [reviewer(username=f"load-reviewer-{n}") for n in range(REVIEWERS)]
    tally = Tally()
    stop = threading.Event()

    started = time.monotonic()
    agents = [
        threading.Thread(target=agent_client, args=(secret, plan, tally))
        for secret, plan in zip(keys, plans, strict=True)
    ]
    reviewing = [
        threading.Thread(target=reviewer_loop, args=(user, n, stop, tally))
        for n, user in enumerate(reviewers)
    ]
    for thread in agents + reviewing:
        thread.start()
    try:
        for thread in agents:
            thread.join(timeout=600)
        posting_seconds = time.monotonic() - started
        reflected_inline = Reflection.objects.values("attempt").distinct().count()
        swept = 0
        for _ in range(20):
            # What beat's sweep does every 5 minutes, run now (inline, as tasks are here).
            queued = tasks.sweep_unreflected_attempts.apply(kwargs={"older_than_minutes": 0})
            if not queued.result:
                break
            swept += queued.result
    finally:
        stop.set()
        for thread in reviewing:
            thread.join(timeout=300)
    total_seconds = time.monotonic() - started
    assert not any(thread.is_alive() for thread in agents + reviewing)

    expected = per_agent * AGENTS
    counts = tally.counts
    per_attempt = Counter(Reflection.objects.values_list("attempt_id", flat=True))
    stored = Attempt.objects.count()
    reflected = len(per_attempt)
    duplicated_reflections = sum(n - 1 for n in per_attempt.values() if n > 1)
    duplicate_strategies = (
        Strategy.objects.values("skill", "current_version__when_text", "current_version__do_text")
        .annotate(copies=Count("pk"))
        .filter(copies__gt=1)
        .count()
    )
    decisions = ReviewDecision.objects.count()
    review_events = AuditEvent.objects.filter(action__startswith="review.").count()
    checked, chain_problem = verify_chain()
    print(
        f"\nload: {AGENTS} agents, {REVIEWERS} reviewers; attempts posted {expected} "
        f"(+{replays} replays) in {counts['requests']} requests; "
        f"stored {stored}, reflected {reflected}, duplicates: {duplicated_reflections}, "
        f"lost: {expected - reflected} (reflected at once {reflected_inline}, recovered by "
        f"the sweep {swept}); created {counts['created']}, replayed {counts['replayed']}, "
        f"HTTP errors {counts['errors']} "
        f"({ {k: v for k, v in counts.items() if k.startswith('status_')} }); "
        f"posting {posting_seconds:.1f} s = {expected / posting_seconds:.0f} attempts/s, "
        f"{counts['requests'] / posting_seconds:.0f} requests/s; "
        f"strategies {Strategy.objects.count()} (duplicates: {duplicate_strategies}), "
        f"decisions {decisions} (review conflicts "
        f"{ {k: v for k, v in counts.items() if k.startswith('review_')} }), "
        f"audit events {checked} verified; total {total_seconds:.1f} s"
    )
    assert counts["errors"] == 0
    assert stored == expected
    assert counts["created"] == expected
    assert counts["replayed"] == replays
    assert reflected == expected and duplicated_reflections == 0
    assert set(Reflection.objects.values_list("status", flat=True)) == {"succeeded"}
    assert reflections_to_sweep(timedelta(0)) == []
    assert duplicate_strategies == 0
    assert (
        StrategyEvidence.objects.values("strategy", "attempt")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
        == 0
    )
    assert decisions == len(tally.decisions) > 0
    assert review_events == decisions
    assert chain_problem is None
    assert not queue_ready_strategies().exists()
