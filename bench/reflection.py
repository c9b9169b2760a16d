"""Reflection benchmark: offline-coach reflections per second for one worker process, over
attempts of 20 to 60 chat messages, and the pipeline's own overhead beyond an LLM's answer
time, with the loopback OpenAI-compatible test server answering after a fixed delay.

    .venv/bin/python bench/reflection.py [--attempts 300] [--llm-attempts 40] [--delay 0.2]

Each reflection runs through the task a worker runs (practice.tasks.reflect_on_attempt, applied
in this process by Celery's own tracer), with the coach the settings choose: the offline one,
then the LLM coach once OPENAI_BASE_URL and ETUDE_COACH_MODEL point at the test server. Nothing
is warmed up: the first LLM reflection imports the openai package and opens the process's
client and connection; it is shown on its own line, and the overhead is that of the attempts
after it (what a running worker spends per attempt). The server's delay counts from the
request's arrival, so the overhead is the pipeline's: prompt, client, storing, queries.

Runs on a throwaway SQLite database in a temporary folder; prints a table; exits 0.
"""

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = tempfile.mkdtemp(prefix="etude-bench-reflection-")
os.environ.update(
    DEBUG="0",
    SECRET_KEY="bench-only-secret-key-0000000000000000000000",
    DATABASE_URL=f"sqlite:///{WORK}/bench.sqlite3",
    ETUDE_VAR_DIR=WORK,
    DJANGO_SETTINGS_MODULE="etude_site.settings",
)

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

# A worker logs a line per task and per HTTP call; the table is what this script prints.
for noisy in ("httpx", "httpx2", "openai", "celery.app.trace"):
    logging.getLogger(noisy).setLevel(logging.WARNING)

from django.core.management import call_command  # noqa: E402

SKILL = "tools.returns"


def chat_attempt(rng, index):
    """A failed return conversation of 20-60 messages: the final write uses a wrong order id."""
    order = f"#W{1000000 + index}"
    messages = [
        {"role": "system", "content": "You are a retail support agent."},
        {"role": "user", "content": f"Please return the lamp from order {order}."},
    ]
    calls = rng.randint(9, 29)  # each call is an assistant message plus a tool message
    expected = []
    for number in range(calls):
        last = number == calls - 1
        name = "return_delivered_order_items" if last else "get_order_details"
        sent = "#W9999999" if last else order
        arguments = {"order_id": order} | ({"item_ids": ["lamp-1"]} if last else {})
        expected.append({"name": name, "arguments": arguments})
        actual = dict(arguments, order_id=sent)
        call_id = f"call_{index}_{number}"
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": __import__("json").dumps(actual)},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": call_id, "content": '{"status": "ok"}'})
    return {
        "skill": SKILL,
        "success": False,
        "score": 0.0,
        "expected_actions": expected,
        "trace": {"format": "openai-chat", "messages": messages},
    }


def llm_answer():
    return {
        "performance_trace": [
            {"position": 0, "action": "get_order_details", "status": "ok", "note": "Looked up."}
        ],
        "decision_points": [
            {
                "position": 0,
                "chosen": "get_order_details",
                "should_have_chosen": "get_order_details",
                "why_it_mattered": "The return went to the wrong order.",
            }
        ],
        "fault_author": "agent",
        "fault_type": "wrong_argument",
        "causal_analysis": "The agent returned items of another order, so the task failed.",
        "strategies": [
            {
                "skill_key": SKILL,
                "when": "When the user names the order whose items should be returned",
                "do": "Call return_delivered_order_items with order_id set to the named order",
                "because": "the tool acts on whatever order it is given",
            }
        ],
        "failure_mode": "wrong_argument.order_id",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=300)
    parser.add_argument("--llm-attempts", type=int, default=40, help="at least 2")
    parser.add_argument("--delay", type=float, default=0.2, help="LLM answer time, seconds")
    options = parser.parse_args()
    if options.attempts < 2 or options.llm_attempts < 2:
        parser.error("--attempts and --llm-attempts need at least 2 each")

    from django.db import connection
    from django.test import override_settings
    from django.test.utils import CaptureQueriesContext

    from practice.models import Reflection
    from practice.services import attempts as attempt_services
    from practice.services.agents import create_agent
    from practice.tasks import reflect_on_attempt
    from taxonomy.services import create_skill
    from tests.openai_server import OpenAIServer

    def reflect(attempt_id):
        """One reflection the way a worker runs it: the task, through Celery's tracer."""
        status = reflect_on_attempt.apply(args=(attempt_id,)).get()
        if status != Reflection.Status.SUCCEEDED:
            raise SystemExit(f"the reflection on attempt {attempt_id} ended {status}")

    print(f"migrating a throwaway database in {WORK} ...", flush=True)
    call_command("migrate", verbosity=0)
    create_skill(key="tools", name="Acting with tools", kind="category")
    create_skill(key=SKILL, name="Returns")
    agent = create_agent(name="bench-agent", boundaries=["tools"])
    attempt_services.after_commit_hooks.clear()  # this process is the one worker

    rng = random.Random(1)
    total = options.attempts + options.llm_attempts
    ids = []
    for start in range(0, total, 100):
        batch = [chat_attempt(rng, index) for index in range(start, min(total, start + 100))]
        ids += [item.attempt.pk for item in attempt_services.record_attempts(agent, batch).items]
        print(f"  stored {len(ids)}/{total} attempts", flush=True)

    offline_ids, llm_ids = ids[: options.attempts], ids[options.attempts :]
    timed_ids, counted_id = offline_ids[:-1], offline_ids[-1]
    began = time.perf_counter()
    for done, attempt_id in enumerate(timed_ids, start=1):
        reflect(attempt_id)
        if done % 100 == 0:
            print(f"  offline: {done}/{len(offline_ids)} reflected", flush=True)
    offline_rate = len(timed_ids) / (time.perf_counter() - began)
    with CaptureQueriesContext(connection) as statements:  # one more, outside the timing
        reflect(counted_id)

    server = OpenAIServer()
    server.start()
    llm_settings = override_settings(
        OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="", ETUDE_COACH_MODEL="bench-coach"
    )
    try:
        for _ in llm_ids:
            server.reply(llm_answer(), delay=options.delay)
        with llm_settings:
            began = time.perf_counter()
            reflect(llm_ids[0])
            first = time.perf_counter() - began
            began = time.perf_counter()
            for attempt_id in llm_ids[1:]:
                reflect(attempt_id)
            per_reflection = (time.perf_counter() - began) / max(1, len(llm_ids) - 1)
        if len(server.requests) != len(llm_ids):
            raise SystemExit(f"{len(server.requests)} LLM calls for {len(llm_ids)} reflections")
    finally:
        server.stop()
    overhead = (per_reflection - options.delay) / options.delay

    rows = [
        ("offline reflections per second (one process)", f"{offline_rate:.0f}", ">= 200"),
        ("database statements per offline reflection", f"{len(statements)}", ""),
        ("LLM reflection, the process's first", f"{first * 1000:.0f}ms", ""),
        ("LLM reflection, wall per attempt after it", f"{per_reflection * 1000:.0f}ms", ""),
        ("pipeline overhead beyond the LLM delay", f"{overhead:.1%}", "< 10%"),
    ]
    print()
    print(f"{'measure':<48} {'result':>14} {'target':>14}")
    for measure, result, target in rows:
        print(f"{measure:<48} {result:>14} {target:>14}")
    print(f"(load average {os.getloadavg()[0]:.1f}; LLM delay {options.delay * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
