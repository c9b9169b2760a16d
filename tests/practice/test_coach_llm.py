"""The LLM coach, with the real openai client against the scripted loopback server
(tests/openai_server.py): good answers, retries, timeouts, malformed and off-schema answers, and
the fallback from json_schema to json_object."""

import copy
import json
import time

import pytest

from practice import tasks
from practice.coach import llm
from practice.coach.base import AttemptView, Coach, CoachError, CoachResult, StepView
from practice.coach.llm import (
    FIELD_LIMIT,
    MAX_STEPS,
    PROMPT_VERSION,
    SCHEMA,
    CoachAnswerError,
    LLMCoach,
)
from practice.coach.select import get_coach
from tests.openai_server import RETRY_NOW

MODEL = "coach-test-model"
SKILL = "retail.returns"
TASK = (
    "Your name is Yusuf Rossi and your zip code is 19122. You received your order #W2378156 "
    "and wish to return the mechanical keyboard and the smart thermostat."
)
RETURN = {"order_id": "#W2378156", "item_ids": ["1151293680", "4983901480"]}
WRONG_RETURN = {"order_id": "#W2378156", "item_ids": ["1151293680"]}
VIEW = AttemptView(
    attempt_id=7,
    skill_key=SKILL,
    success=False,
    score=0.0,
    task_input=TASK,
    expected_actions=[{"name": "return_delivered_order_items", "arguments": RETURN}],
    steps=[
        StepView(position=1, action="get_order_details", arguments={"order_id": "#W2378156"}),
        StepView(position=2, action="return_delivered_order_items", arguments=WRONG_RETURN),
        StepView(position=3, action="respond", actual="Your return has been filed."),
    ],
)
ANSWER = {
    "performance_trace": [
        {"position": 1, "action": "get_order_details", "status": "ok", "note": "Looked up."},
        {
            "position": 2,
            "action": "return_delivered_order_items",
            "status": "diverges",
            "note": "Only the keyboard was returned.",
        },
        {"position": 3, "action": "respond", "status": "message", "note": "Confirmed."},
    ],
    "decision_points": [
        {
            "position": 2,
            "chosen": 'return_delivered_order_items(item_ids=["1151293680"])',
            "should_have_chosen": (
                'return_delivered_order_items(item_ids=["1151293680", "4983901480"])'
            ),
            "why_it_mattered": "The thermostat was never returned.",
        }
    ],
    "fault_author": "agent",
    "fault_type": "wrong_argument",
    "causal_analysis": "The agent passed one item id instead of two, so half the return failed.",
    "strategies": [
        {
            "skill_key": f"{SKILL}.items",
            "when": "When the user names several items to return from one delivered order",
            "do": "Call return_delivered_order_items once with item_ids listing every named item",
            "because": "the tool returns only the items it is given",
        }
    ],
    "failure_mode": "wrong_argument.return_delivered_order_items",
}


_ABSENT = object()


def coach_for(server, **options):
    return LLMCoach(
        base_url=server.base_url,
        api_key="",
        model=MODEL,
        timeout=options.pop("timeout", 5),
        **options,
    )


def answer_with(**changes):
    answer = copy.deepcopy(ANSWER)
    for name, value in changes.items():
        if value is _ABSENT:
            del answer[name]
        else:
            answer[name] = value
    return answer


# --- a good answer ------------------------------------------------------------------------


def test_a_valid_answer_becomes_a_coach_result_with_the_run_recorded(openai_server):
    openai_server.reply(
        ANSWER, prompt_tokens=812, completion_tokens=233, model="coach-test-model-2025-01"
    )
    coach = coach_for(openai_server)

    result = coach.reflect(VIEW)

    assert isinstance(result, CoachResult)
    assert result.fault_author == "agent"
    assert result.fault_type == "wrong_argument"
    assert result.causal_analysis == ANSWER["causal_analysis"]
    [point] = result.decision_points
    assert point.position == 2
    assert point.why_it_mattered == "The thermostat was never returned."
    [strategy] = result.strategies
    assert strategy.skill_key == "retail.returns.items"
    assert strategy.do.startswith("Call return_delivered_order_items")
    assert [row["status"] for row in result.performance_trace] == ["ok", "diverges", "message"]
    assert result.failure_mode == "wrong_argument.return_delivered_order_items"
    # The run, for audit: what the server said it ran, the prompt, the tokens, the raw text.
    assert result.model == "coach-test-model-2025-01"
    assert result.prompt_version == PROMPT_VERSION
    assert (result.prompt_tokens, result.completion_tokens) == (812, 233)
    assert isinstance(result.latency_ms, int) and result.latency_ms >= 0
    assert json.loads(result.raw_output) == ANSWER


def test_the_request_asks_the_configured_model_for_schema_json_about_this_attempt(
    openai_server,
):
    openai_server.reply(ANSWER)

    coach_for(openai_server).reflect(VIEW)

    [request] = openai_server.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.body["model"] == MODEL
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["strict"] is True
    assert response_format["json_schema"]["schema"] == SCHEMA
    # A local server needs no key; the client still sends a placeholder, never a real one.
    assert request.headers["authorization"] == "Bearer not-needed"
    prompt = request.messages_text
    for expected in (SKILL, "#W2378156", "mechanical keyboard", "[step 2]", '"1151293680"'):
        assert expected in prompt
    assert "return_delivered_order_items" in prompt
    assert "Outcome: failed (score 0" in prompt
    assert "at most 3 corrective strategies" in prompt
    assert '"be careful"' in prompt  # generic advice is named as forbidden


def test_the_latency_is_the_wall_clock_of_the_call(openai_server):
    openai_server.reply(ANSWER, delay=0.3)

    result = coach_for(openai_server).reflect(VIEW)

    assert 300 <= result.latency_ms < 3000


def test_the_llm_coach_follows_the_coach_protocol(openai_server):
    coach = coach_for(openai_server)

    assert isinstance(coach, Coach)
    assert coach.name == f"llm:{MODEL}"
    assert coach.version == PROMPT_VERSION


def test_a_fenced_json_answer_is_read(openai_server):
    openai_server.reply(f"```json\n{json.dumps(ANSWER)}\n```")

    result = coach_for(openai_server).reflect(VIEW)

    assert result.fault_type == "wrong_argument"
    assert result.raw_output.startswith("```json")


def test_get_coach_builds_the_llm_coach_from_settings(settings, openai_server):
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.OPENAI_API_KEY = "sk-test-local"
    settings.ETUDE_COACH_MODEL = MODEL
    settings.ETUDE_COACH_TIMEOUT = 5.0
    openai_server.reply(ANSWER)

    coach = get_coach()
    result = coach.reflect(VIEW)

    assert coach.name == f"llm:{MODEL}"
    assert result.fault_type == "wrong_argument"
    assert openai_server.requests[0].headers["authorization"] == "Bearer sk-test-local"


# --- one client per process, connections kept --------------------------------------------


def test_coaches_built_from_the_settings_share_one_client_and_its_connection(
    settings, openai_server
):
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.ETUDE_COACH_MODEL = MODEL
    openai_server.reply(ANSWER)
    openai_server.reply(ANSWER)

    first, second = get_coach(), get_coach()
    first.reflect(VIEW)
    second.reflect(VIEW)

    assert first.client is second.client
    # The second call came over the connection the first one opened.
    assert [request.client for request in openai_server.requests] == [
        openai_server.requests[0].client
    ] * 2


def test_a_new_worker_process_sets_up_the_client_before_its_first_reflection(
    settings, openai_server
):
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.ETUDE_COACH_MODEL = MODEL
    clients_made = llm._client.cache_info().misses

    tasks.prepare_coach()  # on Celery's worker_process_init
    made_then = llm._client.cache_info().misses
    get_coach()

    assert made_then == clients_made + 1
    assert llm._client.cache_info().misses == made_then


def test_another_endpoint_or_other_client_options_get_their_own_client(openai_server):
    coach = coach_for(openai_server)

    assert coach_for(openai_server).client is coach.client
    assert coach_for(openai_server, timeout=7).client is not coach.client
    assert coach_for(openai_server, max_retries=0).client is not coach.client
    other = LLMCoach(base_url="http://127.0.0.1:9/v1", api_key="", model=MODEL, timeout=5)
    assert other.client is not coach.client


def test_an_answer_takes_the_scripted_delay_and_not_a_delayed_ack_more(openai_server):
    coach = coach_for(openai_server)
    openai_server.reply(ANSWER)
    coach.reflect(VIEW)  # opens the connection the calls below keep using
    for _ in range(10):
        openai_server.reply(ANSWER)
    openai_server.reply(ANSWER, delay=0.3)

    started = time.monotonic()
    for _ in range(10):
        coach.reflect(VIEW)
    quick_calls = time.monotonic() - started
    started = time.monotonic()
    coach.reflect(VIEW)
    delayed_call = time.monotonic() - started

    # Held back by Nagle's algorithm until the client's delayed ACK, each answer would take
    # some 40 ms more: 400 ms for the ten.
    assert quick_calls < 0.2
    assert 0.3 <= delayed_call < 0.5
    assert len({request.client for request in openai_server.requests}) == 1


# --- retries and failures of the endpoint -------------------------------------------------


def test_a_429_is_retried_and_the_next_answer_is_used(openai_server):
    openai_server.fail(429, "rate limited", headers=RETRY_NOW)
    openai_server.reply(ANSWER)

    result = coach_for(openai_server).reflect(VIEW)

    assert result.fault_type == "wrong_argument"
    assert len(openai_server.requests) == 2


def test_the_default_retries_outlast_three_server_errors(openai_server):
    for _ in range(3):
        openai_server.fail(503, "overloaded", headers=RETRY_NOW)
    openai_server.reply(ANSWER)

    result = coach_for(openai_server).reflect(VIEW)

    assert result.fault_type == "wrong_argument"
    assert len(openai_server.requests) == 4


def test_server_errors_beyond_the_retries_raise_a_coach_error_naming_the_status(openai_server):
    for _ in range(3):
        openai_server.fail(500, "model crashed", headers=RETRY_NOW)

    with pytest.raises(CoachError) as raised:
        coach_for(openai_server, max_retries=2).reflect(VIEW)

    assert "HTTP 500" in raised.value.message
    assert "after 2 retries" in raised.value.message
    assert len(openai_server.requests) == 3
    assert openai_server.pending == 0


def test_a_slow_endpoint_raises_a_timeout_coach_error_quickly(openai_server):
    openai_server.reply(ANSWER, delay=4)
    coach = coach_for(openai_server, timeout=1, max_retries=0)

    started = time.monotonic()
    with pytest.raises(CoachError) as raised:
        coach.reflect(VIEW)

    assert "timeout" in raised.value.message
    assert "within 1 s" in raised.value.message
    assert time.monotonic() - started < 3
    assert len(openai_server.requests) == 1


def test_an_unreachable_endpoint_raises_a_coach_error(openai_server):
    coach = coach_for(openai_server, max_retries=0)
    openai_server.stop()

    with pytest.raises(CoachError) as raised:
        coach.reflect(VIEW)

    assert "could not connect" in raised.value.message


def test_a_client_error_is_not_retried(openai_server):
    openai_server.fail(401, "invalid api key")

    with pytest.raises(CoachError) as raised:
        coach_for(openai_server).reflect(VIEW)

    assert "HTTP 401" in raised.value.message
    assert "invalid api key" in raised.value.message
    assert len(openai_server.requests) == 1


# --- malformed and off-schema answers -----------------------------------------------------


def test_an_answer_that_is_not_json_raises_with_an_excerpt(openai_server):
    openai_server.reply("I think the agent should have been more careful with the items.")

    with pytest.raises(CoachAnswerError) as raised:
        coach_for(openai_server).reflect(VIEW)

    assert "not JSON" in raised.value.message
    assert "more careful" in raised.value.message
    assert raised.value.raw_output.startswith("I think the agent")


def test_an_empty_answer_raises(openai_server):
    openai_server.reply("")

    with pytest.raises(CoachAnswerError, match="empty"):
        coach_for(openai_server).reflect(VIEW)


def test_an_answer_cut_at_the_length_limit_raises(openai_server):
    openai_server.reply(json.dumps(ANSWER)[:80], finish_reason="length")

    with pytest.raises(CoachAnswerError, match="cut off"):
        coach_for(openai_server).reflect(VIEW)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (answer_with(causal_analysis=_ABSENT), "'causal_analysis' is a required property"),
        (answer_with(fault_type="blame"), "fault_type: 'blame' is not one of"),
        (answer_with(fault_author="the user"), "fault_author: 'the user' is not one of"),
        (answer_with(strategies=[ANSWER["strategies"][0]] * 4), "is too long"),
        (
            answer_with(decision_points=[{**ANSWER["decision_points"][0], "position": "2"}]),
            "decision_points[0].position: '2' is not of type",
        ),
        (answer_with(extra_field="x"), "Additional properties are not allowed"),
        ([ANSWER], "is not of type 'object'"),
    ],
    ids=[
        "missing-causal-analysis",
        "unknown-fault-type",
        "unknown-fault-author",
        "too-many-strategies",
        "position-not-a-number",
        "extra-field",
        "not-an-object",
    ],
)
def test_an_answer_off_the_schema_raises_naming_the_problem(openai_server, answer, named):
    openai_server.reply(answer)

    with pytest.raises(CoachAnswerError) as raised:
        coach_for(openai_server).reflect(VIEW)

    assert "not a valid reflection" in raised.value.message
    assert named in raised.value.message
    assert json.loads(raised.value.raw_output) == answer


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (
            answer_with(decision_points=[{**ANSWER["decision_points"][0], "position": 9}]),
            "decision_points[0].position: 9 is not a step shown in the trace",
        ),
        (
            answer_with(decision_points=[{**ANSWER["decision_points"][0], "position": 2.0}]),
            "decision_points[0].position: 2.0 is not a whole number",
        ),
        (
            answer_with(fault_author="none"),
            'they must be "none" together',
        ),
        (answer_with(causal_analysis="   "), "causal_analysis is empty"),
        (
            answer_with(strategies=[{**ANSWER["strategies"][0], "skill_key": "billing.refunds"}]),
            "'billing.refunds' is neither the attempt's skill",
        ),
        (
            answer_with(strategies=[{**ANSWER["strategies"][0], "skill_key": "retail.returnsx"}]),
            "'retail.returnsx' is neither the attempt's skill",
        ),
    ],
    ids=[
        "position-outside-trace",
        "position-not-whole",
        "fault-author-none-alone",
        "blank-analysis",
        "strategy-for-another-skill",
        "strategy-for-a-look-alike-key",
    ],
)
def test_an_answer_breaking_the_coach_rules_raises_naming_the_problem(openai_server, answer, named):
    openai_server.reply(answer)

    with pytest.raises(CoachAnswerError) as raised:
        coach_for(openai_server).reflect(VIEW)

    assert named in raised.value.message


def test_a_success_with_no_fault_and_no_strategies_is_accepted(openai_server):
    success = AttemptView(
        attempt_id=8,
        skill_key=SKILL,
        success=True,
        score=1.0,
        task_input=TASK,
        steps=[StepView(position=1, action="return_delivered_order_items", arguments=RETURN)],
    )
    openai_server.reply(
        answer_with(
            performance_trace=[
                {
                    "position": 1,
                    "action": "return_delivered_order_items",
                    "status": "ok",
                    "note": "",
                }
            ],
            decision_points=[],
            fault_author="none",
            fault_type="none",
            causal_analysis="The agent returned both items in one call.",
            strategies=[],
            failure_mode=None,
        )
    )

    result = coach_for(openai_server).reflect(success)

    assert (result.fault_author, result.fault_type) == ("none", "none")
    assert result.strategies == [] and result.failure_mode is None
    assert "Outcome: succeeded (score 1" in openai_server.requests[0].messages_text


# --- json_schema -> json_object fallback --------------------------------------------------


def test_a_server_refusing_json_schema_is_asked_again_for_json_object(openai_server):
    openai_server.refuse_json_schema()
    openai_server.reply(ANSWER)
    openai_server.reply(ANSWER)
    coach = coach_for(openai_server)

    first = coach.reflect(VIEW)
    second = coach.reflect(VIEW)

    assert first.fault_type == second.fault_type == "wrong_argument"
    formats = [request.body["response_format"]["type"] for request in openai_server.requests]
    # Refused once, then json_object, and the coach remembers: no json_schema the second time.
    assert formats == ["json_schema", "json_object", "json_object"]
    # In json_object mode the schema travels in the prompt.
    assert '"causal_analysis"' in openai_server.requests[1].messages_text
    assert "JSON" in openai_server.requests[1].messages_text


def test_a_400_that_json_object_does_not_cure_is_a_coach_error(openai_server):
    openai_server.fail(400, "maximum context length exceeded")
    openai_server.fail(400, "maximum context length exceeded")
    coach = coach_for(openai_server)

    with pytest.raises(CoachError) as raised:
        coach.reflect(VIEW)

    assert "HTTP 400" in raised.value.message
    assert "maximum context length" in raised.value.message
    assert coach.json_schema_supported is True
    assert len(openai_server.requests) == 2


# --- the bounded prompt -------------------------------------------------------------------


def test_a_long_trace_is_bounded_in_the_prompt_and_says_so(openai_server):
    steps = [
        StepView(position=index, action="search_items", actual="x" * 2000, note=f"step {index}")
        for index in range(1, 101)
    ]
    long_view = AttemptView(
        attempt_id=9, skill_key=SKILL, success=False, score=0.0, task_input=TASK, steps=steps
    )
    openai_server.reply(
        answer_with(
            performance_trace=[],
            decision_points=[{**ANSWER["decision_points"][0], "position": 50}],
        )
    )

    with pytest.raises(CoachAnswerError, match="50 is not a step shown in the trace"):
        coach_for(openai_server).reflect(long_view)

    prompt = openai_server.requests[0].body["messages"][1]["content"]
    assert prompt.count("[step ") == MAX_STEPS
    assert "[step 40]" in prompt and "[step 41]" not in prompt
    assert "[step 81]" in prompt and "[step 100]" in prompt
    assert "40 steps left out (positions 41 to 80)" in prompt
    actual_lines = [line for line in prompt.splitlines() if line.startswith("  actual: ")]
    assert actual_lines and all(
        len(line) <= FIELD_LIMIT + len("  actual: ") for line in actual_lines
    )
    assert actual_lines[0].endswith("…[cut]")
    instructions = openai_server.requests[0].body["messages"][0]["content"]
    assert f"at most {MAX_STEPS} steps" in instructions
    assert f"at most {FIELD_LIMIT} characters" in instructions
