"""Reflection benchmark: offline-coach reflections per second for one worker process, over
attempts of 20 to 60 chat messages, and the pipeline's own overhead beyond an LLM's answer
time, with the loopback OpenAI-compatible test server answering after a fixed delay.

    .venv/bin/python bench/reflection.py [--attempts 300] [--llm-attempts 40] [--delay 0.2]

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

for noisy in ("httpx", "httpx2", "openai"):
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
    parser.add_argument("--llm-attempts", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.2, help="LLM answer time, seconds")
    options = parser.parse_args()

    from practice.coach.llm import LLMCoach
    from practice.coach.offline import TraceDiffCoach
    from practice.services import attempts as attempt_services
    from practice.services.agents import create_agent
    from practice.services.reflection import reflect_attempt
    from taxonomy.services import create_skill
    from tests.openai_server import OpenAIServer

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
    coach = TraceDiffCoach()
    began = time.perf_counter()
    for done, attempt_id in enumerate(offline_ids, start=1):
        reflect_attempt(attempt_id, coach=coach)
        if done % 100 == 0:
            print(f"  offline: {done}/{len(offline_ids)} reflected", flush=True)
    offline_rate = len(offline_ids) / (time.perf_counter() - began)

    server = OpenAIServer()
    server.start()
    try:
        llm = LLMCoach(base_url=server.base_url, api_key="", model="bench-coach", timeout=30)
        for _ in llm_ids:
            server.reply(llm_answer(), delay=options.delay)
        began = time.perf_counter()
        for attempt_id in llm_ids:
            reflect_attempt(attempt_id, coach=llm)
        per_reflection = (time.perf_counter() - began) / max(1, len(llm_ids))
    finally:
        server.stop()
    overhead = (per_reflection - options.delay) / options.delay

    print()
    print(f"{'measure':<48} {'result':>14} {'target':>14}")
    print(
        f"{'offline reflections per second (one process)':<48} {offline_rate:>14.0f} {'>= 200':>14}"
    )
    print(f"{'LLM reflection, wall per attempt':<48} {per_reflection * 1000:>12.0f}ms {'':>14}")
    print(f"{'pipeline overhead beyond the LLM delay':<48} {overhead:>13.1%} {'< 10%':>14}")
    print(f"(load average {os.getloadavg()[0]:.1f}; LLM delay {options.delay * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
