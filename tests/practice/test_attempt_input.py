"""Reading raw attempt payloads: every rule, each problem with its exact JSON path."""

import copy
import json

import pytest

from practice.attempt_input import (
    MAX_ATTEMPTS_PER_BATCH,
    MAX_MESSAGES,
    MAX_STEPS,
    MAX_USED_STRATEGIES,
    ExpectedAction,
    Problem,
    validate_attempt,
    validate_attempts,
)
from practice.traces import Step
from tests.practice.test_traces import FIRST_REQUEST, retail_return_conversation


def steps_attempt(**fields):
    payload = {
        "skill": "support.returns",
        "success": False,
        "score": 0.25,
        "trace": {
            "format": "steps",
            "steps": [
                {"action": "get_order_details", "arguments": {"order_id": "#W2378156"}},
                {"action": "respond", "expected": "refund to card", "actual": "gift card"},
            ],
        },
    }
    payload.update(fields)
    return payload


def chat_attempt(messages=None, **fields):
    payload = {
        "skill": "support.returns",
        "success": True,
        "score": 1,
        "trace": {
            "format": "openai-chat",
            "messages": retail_return_conversation() if messages is None else messages,
        },
    }
    payload.update(fields)
    return payload


def problems_of(payload, index=0):
    """The problems of `payload` placed at `index` of a bulk request of valid attempts."""
    payloads = [steps_attempt() for _ in range(index)] + [payload]
    attempts, problems = validate_attempts(payloads)
    assert attempts == [] or not problems
    return problems


def with_step(**step):
    step = {"action": "check_return_policy", **step}
    return steps_attempt(trace={"format": "steps", "steps": [{"action": "look"}, step]})


def with_message(message, *, before=()):
    messages = [{"role": "user", "content": "Return my bottle."}, *before, message]
    return chat_attempt(messages)


# --- valid payloads -----------------------------------------------------------------------------


def test_a_steps_attempt_is_read_with_its_defaults():
    (attempt,), problems = validate_attempts([steps_attempt()])

    assert problems == []
    assert attempt.path == "attempts[0]"
    assert (attempt.skill, attempt.success, attempt.score) == ("support.returns", False, 0.25)
    assert attempt.source == "live"
    assert attempt.trace_format == "steps"
    assert attempt.trace_messages is None
    assert attempt.scenario is None
    assert attempt.difficulty is None
    assert attempt.used_strategies == ()
    assert attempt.external_id is None
    assert attempt.task_input == ""
    assert attempt.expected_actions is None
    assert attempt.steps == (
        Step(action="get_order_details", arguments={"order_id": "#W2378156"}),
        Step(action="respond", expected="refund to card", actual="gift card"),
    )


def test_every_field_of_an_attempt_is_read():
    payload = steps_attempt(
        source="practice",
        scenario=12,
        difficulty=0.6,
        used_strategies=[4, 9],
        external_id="tau-retail-17-0",
        task_input="Return the water bottle.",
        expected_actions=[
            {"name": "get_order_details", "arguments": {"order_id": "#W2378156"}},
            {"name": "transfer_to_human_agents"},
        ],
        trace={
            "format": "steps",
            "steps": [
                {
                    "action": "return_delivered_order_items",
                    "arguments": {"order_id": "#W2378156", "item_ids": ["4579334072"]},
                    "expected": "return requested",
                    "actual": "Error: payment method not found",
                    "ok": False,
                    "note": "used the gift card id",
                }
            ],
        },
    )

    attempt, problems = validate_attempt(payload)

    assert problems == []
    assert attempt.source == "practice"
    assert attempt.scenario == 12
    assert attempt.difficulty == 0.6
    assert attempt.used_strategies == (4, 9)
    assert attempt.external_id == "tau-retail-17-0"
    assert attempt.task_input == "Return the water bottle."
    assert attempt.expected_actions == (
        ExpectedAction("get_order_details", {"order_id": "#W2378156"}),
        ExpectedAction("transfer_to_human_agents", {}),
    )
    assert attempt.steps[0].ok is False
    assert attempt.steps[0].note == "used the gift card id"


def test_an_attempt_on_a_scenario_is_practice_unless_it_says_otherwise():
    attempt, _ = validate_attempt(steps_attempt(scenario=3))

    assert attempt.source == "practice"


def test_optional_fields_given_as_null_count_as_absent():
    payload = steps_attempt(
        source=None,
        scenario=None,
        difficulty=None,
        used_strategies=None,
        external_id=None,
        task_input=None,
        expected_actions=None,
    )

    attempt, problems = validate_attempt(payload)

    assert problems == []
    assert (attempt.source, attempt.used_strategies, attempt.expected_actions) == ("live", (), None)


def test_scores_and_difficulties_at_the_bounds_are_accepted():
    _, problems = validate_attempts(
        [
            steps_attempt(score=0),
            steps_attempt(score=1, difficulty=0),
            steps_attempt(difficulty=1.0),
        ]
    )

    assert problems == []


def test_a_chat_attempt_is_normalized_and_keeps_its_messages():
    messages = retail_return_conversation()
    original = copy.deepcopy(messages)

    attempt, problems = validate_attempt(chat_attempt(messages))

    assert problems == []
    assert attempt.trace_format == "openai-chat"
    assert list(attempt.trace_messages) == original
    assert [step.action for step in attempt.steps][:3] == [
        "respond",
        "find_user_id_by_email",
        "get_order_details",
    ]
    assert attempt.task_input == FIRST_REQUEST


def test_a_given_task_input_wins_over_the_first_user_message():
    attempt, _ = validate_attempt(chat_attempt(task_input="Return item 4579334072."))

    assert attempt.task_input == "Return item 4579334072."


def test_tool_call_arguments_that_are_not_json_are_kept_raw_not_refused():
    broken = '{"order_id": "#W2378156",'
    message = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_order_details", "arguments": broken},
            }
        ],
    }

    attempt, problems = validate_attempt(with_message(message))

    assert problems == []
    assert attempt.steps[0].arguments == {"_raw": broken}


def test_the_keys_openai_adds_to_messages_are_tolerated():
    message = {
        "role": "assistant",
        "content": "Sorry, I cannot help with that.",
        "name": "retail_agent",
        "refusal": None,
        "audio": None,
        "function_call": None,
        "annotations": [{"type": "url_citation", "url_citation": {"url": "https://example.com"}}],
    }

    _, problems = validate_attempt(with_message(message))

    assert problems == []


def test_an_assistant_refusal_without_content_is_accepted_as_a_reply():
    attempt, problems = validate_attempt(
        with_message({"role": "assistant", "content": None, "refusal": "I can't share that."})
    )

    assert problems == []
    assert [(step.action, step.actual) for step in attempt.steps] == [
        ("respond", "I can't share that.")
    ]


# --- one rule at a time, with its path ----------------------------------------------------------

FORTY_CHARS = "x" * 40


@pytest.mark.parametrize(
    "payload, problem",
    [
        (
            {"success": True, "score": 1, "trace": {"format": "steps", "steps": [{"action": "a"}]}},
            ("attempts[0].skill", "is required"),
        ),
        (
            steps_attempt(skill="Support Returns"),
            ("attempts[0].skill", "must be a dotted skill key such as support.intent.ambiguity"),
        ),
        (
            steps_attempt(skill="support..returns"),
            ("attempts[0].skill", "must be a dotted skill key such as support.intent.ambiguity"),
        ),
        (
            steps_attempt(skill=7),
            ("attempts[0].skill", "must be a dotted skill key such as support.intent.ambiguity"),
        ),
        (
            steps_attempt(skill="a" + ".b" * 100),
            ("attempts[0].skill", "must be a dotted skill key such as support.intent.ambiguity"),
        ),
        (
            steps_attempt(source="simulated"),
            ("attempts[0].source", "must be one of: live, practice"),
        ),
        (
            steps_attempt(source="live", scenario=4),
            ("attempts[0].source", "must be practice when a scenario is given"),
        ),
        (steps_attempt(scenario="4"), ("attempts[0].scenario", "must be a positive integer id")),
        (steps_attempt(scenario=4.0), ("attempts[0].scenario", "must be a positive integer id")),
        (steps_attempt(scenario=True), ("attempts[0].scenario", "must be a positive integer id")),
        (steps_attempt(scenario=0), ("attempts[0].scenario", "must be a positive integer id")),
        (steps_attempt(scenario=2**63), ("attempts[0].scenario", "must be a positive integer id")),
        ({**steps_attempt(), "success": None}, ("attempts[0].success", "must be true or false")),
        (steps_attempt(success="yes"), ("attempts[0].success", "must be true or false")),
        (steps_attempt(success=1), ("attempts[0].success", "must be true or false")),
        (steps_attempt(score=1.01), ("attempts[0].score", "must be a number between 0 and 1")),
        (steps_attempt(score=-0.1), ("attempts[0].score", "must be a number between 0 and 1")),
        (steps_attempt(score=True), ("attempts[0].score", "must be a number between 0 and 1")),
        (steps_attempt(score="0.5"), ("attempts[0].score", "must be a number between 0 and 1")),
        (
            steps_attempt(score=float("nan")),
            ("attempts[0].score", "must be a number between 0 and 1"),
        ),
        (steps_attempt(score=None), ("attempts[0].score", "must be a number between 0 and 1")),
        (
            steps_attempt(score=float("inf")),
            ("attempts[0].score", "must be a number between 0 and 1"),
        ),
        (steps_attempt(score=10**400), ("attempts[0].score", "must be a number between 0 and 1")),
        (
            steps_attempt(difficulty=2),
            ("attempts[0].difficulty", "must be a number between 0 and 1"),
        ),
        (
            steps_attempt(difficulty=False),
            ("attempts[0].difficulty", "must be a number between 0 and 1"),
        ),
        (
            steps_attempt(used_strategies=5),
            ("attempts[0].used_strategies", "must be a list of strategy version ids"),
        ),
        (
            steps_attempt(used_strategies=list(range(1, MAX_USED_STRATEGIES + 2))),
            ("attempts[0].used_strategies", "has 51 items; at most 50"),
        ),
        (
            steps_attempt(used_strategies=[1, "2"]),
            ("attempts[0].used_strategies[1]", "must be a positive integer id"),
        ),
        (
            steps_attempt(used_strategies=[3, 8, 3]),
            ("attempts[0].used_strategies[2]", "repeats strategy version 3"),
        ),
        (steps_attempt(external_id=""), ("attempts[0].external_id", "must not be empty")),
        (steps_attempt(external_id="   "), ("attempts[0].external_id", "must not be empty")),
        (steps_attempt(external_id=17), ("attempts[0].external_id", "must be a string")),
        (
            steps_attempt(external_id=FORTY_CHARS * 5 + "x"),
            ("attempts[0].external_id", "must be at most 200 characters"),
        ),
        (
            steps_attempt(task_input="x" * 20_001),
            ("attempts[0].task_input", "must be at most 20,000 characters"),
        ),
        (steps_attempt(task_input=["Return"]), ("attempts[0].task_input", "must be a string")),
        (
            steps_attempt(task_input="Return\x00it"),
            ("attempts[0].task_input", "must not contain NUL characters or unpaired surrogates"),
        ),
        (
            steps_attempt(expected_actions={"name": "x"}),
            ("attempts[0].expected_actions", "must be a list of actions"),
        ),
        (
            steps_attempt(expected_actions=["get_order_details"]),
            ("attempts[0].expected_actions[0]", "must be an object"),
        ),
        (
            steps_attempt(expected_actions=[{"arguments": {}}]),
            ("attempts[0].expected_actions[0].name", "is required"),
        ),
        (
            steps_attempt(expected_actions=[{"name": "x"}, {"name": ""}]),
            ("attempts[0].expected_actions[1].name", "must not be empty"),
        ),
        (
            steps_attempt(expected_actions=[{"name": "x", "arguments": "order_id=1"}]),
            ("attempts[0].expected_actions[0].arguments", "must be an object"),
        ),
        (
            steps_attempt(expected_actions=[{"name": "x", "arguments": {"n": float("inf")}}]),
            ("attempts[0].expected_actions[0].arguments.n", "must be a finite number"),
        ),
        (
            steps_attempt(expected_actions=[{"name": "x", "kwargs": {}}]),
            (
                "attempts[0].expected_actions[0].kwargs",
                "unknown field; expected one of: name, arguments",
            ),
        ),
        ({"skill": "a.b", "success": True, "score": 1}, ("attempts[0].trace", "is required")),
        (steps_attempt(trace=None), ("attempts[0].trace", "must be an object")),
        (steps_attempt(trace=[{"action": "a"}]), ("attempts[0].trace", "must be an object")),
        (
            steps_attempt(trace={"steps": [{"action": "a"}]}),
            ("attempts[0].trace.format", "is required"),
        ),
        (
            steps_attempt(trace={"format": "langchain", "steps": []}),
            ("attempts[0].trace.format", "must be one of: steps, openai-chat"),
        ),
        (steps_attempt(trace={"format": "steps"}), ("attempts[0].trace.steps", "is required")),
        (
            steps_attempt(trace={"format": "steps", "steps": {}}),
            ("attempts[0].trace.steps", "must be a list of steps"),
        ),
        (
            steps_attempt(trace={"format": "steps", "steps": []}),
            ("attempts[0].trace.steps", "must not be empty"),
        ),
        (
            steps_attempt(trace={"format": "steps", "steps": [{"action": "a"}] * (MAX_STEPS + 1)}),
            ("attempts[0].trace.steps", "has 501 steps; at most 500"),
        ),
        (
            steps_attempt(trace={"format": "steps", "steps": [{"action": "a"}], "version": 2}),
            ("attempts[0].trace.version", "unknown field; expected one of: format, steps"),
        ),
        (
            steps_attempt(trace={"format": "steps", "steps": [{"action": "a"}], "messages": []}),
            ("attempts[0].trace.messages", "unknown field; expected one of: format, steps"),
        ),
        (
            chat_attempt([{"role": "user", "content": "hi"}])
            | {
                "trace": {
                    "format": "openai-chat",
                    "messages": [{"role": "user", "content": "hi"}],
                    "steps": [],
                }
            },
            ("attempts[0].trace.steps", "unknown field; expected one of: format, messages"),
        ),
        (with_step(ok="yes"), ("attempts[0].trace.steps[1].ok", "must be true or false")),
        (with_step(ok=0), ("attempts[0].trace.steps[1].ok", "must be true or false")),
        (
            steps_attempt(trace={"format": "steps", "steps": [{"action": "a"}, {"expected": "x"}]}),
            ("attempts[0].trace.steps[1].action", "is required"),
        ),
        (with_step(action=""), ("attempts[0].trace.steps[1].action", "must not be empty")),
        (with_step(action=["a"]), ("attempts[0].trace.steps[1].action", "must be a string")),
        (with_step(actual=404), ("attempts[0].trace.steps[1].actual", "must be a string")),
        (
            with_step(note="x" * 20_001),
            ("attempts[0].trace.steps[1].note", "must be at most 20,000 characters"),
        ),
        (
            with_step(expected="\ud800"),
            (
                "attempts[0].trace.steps[1].expected",
                "must not contain NUL characters or unpaired surrogates",
            ),
        ),
        (
            with_step(arguments=["#W2378156"]),
            ("attempts[0].trace.steps[1].arguments", "must be an object"),
        ),
        (
            with_step(colour="red"),
            (
                "attempts[0].trace.steps[1].colour",
                "unknown field; expected one of: action, expected, actual, ok, note, arguments",
            ),
        ),
        (
            steps_attempt(trace={"format": "steps", "steps": [{"action": "a"}, "respond"]}),
            ("attempts[0].trace.steps[1]", "must be an object"),
        ),
    ],
)
def test_each_rule_of_an_attempt_reports_its_path(payload, problem):
    assert problems_of(payload) == [problem]


def test_an_unknown_field_of_an_attempt_is_named():
    problems = problems_of(steps_attempt(agent="someone-else"))

    assert [path for path, _ in problems] == ["attempts[0].agent"]
    assert problems[0].message.startswith("unknown field; expected one of: skill, source,")


def test_problems_are_placed_at_the_index_of_the_attempt():
    assert problems_of(with_step(ok="yes"), index=3) == [
        ("attempts[3].trace.steps[1].ok", "must be true or false")
    ]


def test_every_problem_is_reported_not_only_the_first():
    payload = {
        "skill": "Support",
        "success": "no",
        "score": 3,
        "trace": {
            "format": "steps",
            "steps": [{"action": "a", "ok": "yes"}, {"note": "x", "extra": 1}],
        },
    }

    assert problems_of(payload) == [
        ("attempts[0].skill", "must be a dotted skill key such as support.intent.ambiguity"),
        ("attempts[0].success", "must be true or false"),
        ("attempts[0].score", "must be a number between 0 and 1"),
        ("attempts[0].trace.steps[0].ok", "must be true or false"),
        (
            "attempts[0].trace.steps[1].extra",
            "unknown field; expected one of: action, expected, actual, ok, note, arguments",
        ),
        ("attempts[0].trace.steps[1].action", "is required"),
    ]


def test_problems_of_several_attempts_are_all_reported_and_nothing_is_returned():
    attempts, problems = validate_attempts(
        [steps_attempt(), steps_attempt(score=2), steps_attempt(), steps_attempt(skill=None)]
    )

    assert attempts == []
    assert problems == [
        ("attempts[1].score", "must be a number between 0 and 1"),
        ("attempts[3].skill", "must be a dotted skill key such as support.intent.ambiguity"),
    ]


def test_the_path_root_is_chosen_by_the_caller():
    _, problems = validate_attempts([with_step(ok="yes")], path_root="runs")

    assert problems == [("runs[0].trace.steps[1].ok", "must be true or false")]


def test_a_single_attempt_has_paths_from_the_root():
    attempt, problems = validate_attempt(with_step(ok="yes"))

    assert attempt is None
    assert problems == [Problem("trace.steps[1].ok", "must be true or false")]


def test_a_single_payload_that_is_not_an_object_is_refused_at_the_root():
    assert validate_attempt([steps_attempt()]) == (None, [("", "must be an object")])


# --- the request as a whole ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "payloads, problem",
    [
        ({"attempts": []}, ("attempts", "must be a list of attempts")),
        ([], ("attempts", "must contain at least one attempt")),
        (
            [steps_attempt()] * (MAX_ATTEMPTS_PER_BATCH + 1),
            ("attempts", "has 501 attempts; at most 500 per request"),
        ),
        ([steps_attempt(), "attempt"], ("attempts[1]", "must be an object")),
    ],
)
def test_the_list_of_attempts(payloads, problem):
    assert validate_attempts(payloads) == ([], [problem])


def test_an_external_id_given_twice_in_one_request_is_refused():
    _, problems = validate_attempts(
        [
            steps_attempt(external_id="tau-retail-3-0"),
            steps_attempt(external_id="tau-retail-3-1"),
            steps_attempt(external_id="tau-retail-3-0"),
        ]
    )

    assert problems == [("attempts[2].external_id", "repeats the external_id of attempts[0]")]


# --- openai-chat traces -------------------------------------------------------------------------

CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_order_details", "arguments": '{"order_id": "#W2378156"}'},
}
ASKED = {"role": "assistant", "content": None, "tool_calls": [CALL]}


def tool_call(**changes):
    return {"role": "assistant", "content": None, "tool_calls": [{**CALL, **changes}]}


@pytest.mark.parametrize(
    "payload, problem",
    [
        (
            chat_attempt() | {"trace": {"format": "openai-chat"}},
            ("attempts[0].trace.messages", "is required"),
        ),
        (chat_attempt([]), ("attempts[0].trace.messages", "must not be empty")),
        (chat_attempt("hello"), ("attempts[0].trace.messages", "must be a list of messages")),
        (
            chat_attempt([{"role": "user", "content": "hi"}] * (MAX_MESSAGES + 1)),
            ("attempts[0].trace.messages", "has 1,001 messages; at most 1,000"),
        ),
        (with_message("hi"), ("attempts[0].trace.messages[1]", "must be an object")),
        (with_message({"content": "hi"}), ("attempts[0].trace.messages[1].role", "is required")),
        (
            with_message({"role": "function", "content": "{}"}),
            (
                "attempts[0].trace.messages[1].role",
                "must be one of: system, user, assistant, tool, developer",
            ),
        ),
        (
            with_message({"role": "user", "content": "hi", "metadata": {"ts": 1}}),
            (
                "attempts[0].trace.messages[1].metadata",
                "unknown field; expected one of: role, content, tool_calls, tool_call_id, name, "
                "refusal, audio, function_call, annotations",
            ),
        ),
        (
            with_message({"role": "user", "content": None}),
            ("attempts[0].trace.messages[1].content", "is required"),
        ),
        (
            with_message({"role": "system"}),
            ("attempts[0].trace.messages[1].content", "is required"),
        ),
        (
            with_message({"role": "user", "content": 42}),
            (
                "attempts[0].trace.messages[1].content",
                "must be a string, null or a list of content parts",
            ),
        ),
        (
            with_message({"role": "user", "content": ["hi"]}),
            (
                "attempts[0].trace.messages[1].content[0]",
                "must be a content part: an object with a type",
            ),
        ),
        (
            with_message({"role": "user", "content": [{"type": "text", "text": None}]}),
            ("attempts[0].trace.messages[1].content[0].text", "must be a string"),
        ),
        (
            with_message({"role": "user", "content": "hi", "name": 3}),
            ("attempts[0].trace.messages[1].name", "must be a string"),
        ),
        (
            with_message({"role": "assistant", "content": None}),
            (
                "attempts[0].trace.messages[1].content",
                "is required unless the message has tool_calls",
            ),
        ),
        (
            with_message({"role": "user", "content": "hi", "tool_calls": [CALL]}),
            ("attempts[0].trace.messages[1].tool_calls", "only assistant messages have tool_calls"),
        ),
        (
            with_message({"role": "user", "content": "hi", "tool_call_id": "call_1"}),
            ("attempts[0].trace.messages[1].tool_call_id", "only tool messages have tool_call_id"),
        ),
        (
            with_message({"role": "assistant", "content": None, "tool_calls": CALL}),
            ("attempts[0].trace.messages[1].tool_calls", "must be a list of tool calls"),
        ),
        (
            with_message(tool_call(id="")),
            ("attempts[0].trace.messages[1].tool_calls[0].id", "must not be empty"),
        ),
        (
            with_message(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"type": "function", "function": CALL["function"]}],
                }
            ),
            ("attempts[0].trace.messages[1].tool_calls[0].id", "is required"),
        ),
        (
            with_message(tool_call(type="code_interpreter")),
            ("attempts[0].trace.messages[1].tool_calls[0].type", 'must be "function"'),
        ),
        (
            with_message(tool_call(index=0)),
            (
                "attempts[0].trace.messages[1].tool_calls[0].index",
                "unknown field; expected one of: id, type, function",
            ),
        ),
        (
            with_message(tool_call(function={"arguments": "{}"})),
            ("attempts[0].trace.messages[1].tool_calls[0].function.name", "is required"),
        ),
        (
            with_message(
                tool_call(
                    function={"name": "get_order_details", "arguments": {"order_id": "#W2378156"}}
                )
            ),
            ("attempts[0].trace.messages[1].tool_calls[0].function.arguments", "must be a string"),
        ),
        (
            with_message(tool_call(function={"name": "get_order_details"})),
            ("attempts[0].trace.messages[1].tool_calls[0].function.arguments", "is required"),
        ),
        (
            with_message(tool_call(), before=[ASKED]),
            (
                "attempts[0].trace.messages[2].tool_calls[0].id",
                "repeats the id of attempts[0].trace.messages[1].tool_calls[0]",
            ),
        ),
        (
            with_message({"role": "tool", "content": "{}"}, before=[ASKED]),
            ("attempts[0].trace.messages[2].tool_call_id", "is required"),
        ),
        (
            with_message({"role": "tool", "tool_call_id": "call_1"}, before=[ASKED]),
            ("attempts[0].trace.messages[2].content", "is required"),
        ),
        (
            with_message(
                {"role": "tool", "tool_call_id": "call_9", "content": "{}"}, before=[ASKED]
            ),
            (
                "attempts[0].trace.messages[2].tool_call_id",
                "answers no earlier tool call (no tool call has id call_9)",
            ),
        ),
        (
            with_message(
                {"role": "tool", "tool_call_id": "call_1", "content": "{}"},
                before=[ASKED, {"role": "tool", "tool_call_id": "call_1", "content": "{}"}],
            ),
            (
                "attempts[0].trace.messages[3].tool_call_id",
                "answers tool call call_1 a second time",
            ),
        ),
        (
            with_message({"role": "assistant", "content": "ok", "audio": {"data": "\x00"}}),
            (
                "attempts[0].trace.messages[1].audio.data",
                "must not contain NUL characters or unpaired surrogates",
            ),
        ),
    ],
)
def test_each_rule_of_a_chat_trace_reports_its_path(payload, problem):
    assert problems_of(payload) == [problem]


def test_a_chat_trace_may_not_make_more_steps_than_the_limit():
    calls = [{**CALL, "id": f"call_{number}"} for number in range(MAX_STEPS + 1)]
    payload = with_message({"role": "assistant", "content": None, "tool_calls": calls})

    assert problems_of(payload) == [("attempts[0].trace.messages", "make 501 steps; at most 500")]


def test_the_retail_conversation_survives_a_round_trip_through_json():
    payload = json.loads(json.dumps(chat_attempt()))

    attempt, problems = validate_attempt(payload)

    assert problems == []
    assert len(attempt.steps) == 8
