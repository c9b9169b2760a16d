"""The offline trace-diff coach, on traces crafted for each fault type."""

import json

import pytest

from practice.coach.base import (
    FAULT_AUTHORS,
    FAULT_TYPES,
    AttemptView,
    Coach,
    CoachError,
    StepView,
)
from practice.coach.offline import TraceDiffCoach
from practice.coach.quality import VAGUE_PHRASES, quality_problems
from practice.coach.similarity import is_duplicate
from practice.models import Reflection

TASK = (
    "Your name is Yusuf Rossi and your zip code is 19122. You received your order #W2378156 "
    "and wish to return the mechanical keyboard and the smart thermostat. "
    "You want the refund to go to your credit card."
)
USER = {"first_name": "Yusuf", "last_name": "Rossi", "zip": "19122"}
RETURN = {
    "order_id": "#W2378156",
    "item_ids": ["1151293680", "4983901480"],
    "payment_method_id": "credit_card_9513926",
}
USER_DETAILS = (
    '{"user_id": "yusuf_rossi_9620", "payment_methods": {"credit_card_9513926": {"source": '
    '"credit_card"}, "gift_card_1111111": {"source": "gift_card"}}, "orders": ["#W2378156", '
    '"#W9999999"]}'
)


def expected(name, **arguments):
    return {"name": name, "arguments": arguments}


def step(position, action, arguments=None, **fields):
    return StepView(position=position, action=action, arguments=arguments, **fields)


def attempt(steps, expected_actions=None, *, success=False, score=0.0, task_input=TASK):
    return AttemptView(
        attempt_id=7,
        skill_key="retail.returns",
        success=success,
        score=score,
        task_input=task_input,
        expected_actions=expected_actions,
        steps=steps,
    )


def return_task(*done):
    """The return task's expected actions against the given tool calls."""
    return attempt(
        list(done),
        [
            expected("find_user_id_by_name_zip", **USER),
            expected("get_order_details", order_id="#W2378156"),
            expected("return_delivered_order_items", **RETURN),
        ],
    )


def wrong_order_attempt():
    return return_task(
        step(0, "find_user_id_by_name_zip", USER, actual="yusuf_rossi_9620"),
        step(1, "get_user_details", {"user_id": "yusuf_rossi_9620"}, actual=USER_DETAILS),
        step(2, "respond", actual="Which order would you like to return?"),
        step(3, "get_order_details", {"order_id": "#W2378156"}, actual='{"status": "delivered"}'),
        step(4, "return_delivered_order_items", {**RETURN, "order_id": "#W9999999"}),
    )


def reflect(view):
    return TraceDiffCoach().reflect(view)


def test_the_coach_follows_the_coach_protocol():
    coach = TraceDiffCoach()

    assert isinstance(coach, Coach)
    assert (coach.name, coach.version) == ("trace-diff", "1")


def test_the_fault_vocabularies_match_the_reflection_model():
    assert FAULT_AUTHORS == tuple(Reflection.FaultAuthor.values)
    assert FAULT_TYPES == tuple(Reflection.FaultType.values)


def test_wrong_argument_names_the_argument_with_expected_and_actual_value():
    result = reflect(wrong_order_attempt())

    assert (result.fault_author, result.fault_type) == ("agent", "wrong_argument")
    assert result.failure_mode == "wrong_argument.order_id"
    [point] = result.decision_points
    assert point.position == 4
    assert "order_id=#W9999999" in point.chosen
    assert "order_id=#W2378156" in point.should_have_chosen
    assert "order_id #W9999999" in result.causal_analysis
    assert "#W2378156" in result.causal_analysis
    [row] = [row for row in result.performance_trace if row["status"] == "wrong_argument"]
    assert row["differences"] == [
        {"argument": "order_id", "expected": "#W2378156", "actual": "#W9999999"}
    ]


def test_the_wrong_argument_strategy_names_tool_argument_value_and_the_users_words():
    [strategy] = reflect(wrong_order_attempt()).strategies

    assert strategy.skill_key == "retail.returns"
    assert strategy.when == (
        "when the user asks to return delivered order items and names the order as #W2378156 "
        '("You received your order #W2378156 and wish to return the mechanical keyboard and the '
        'smart thermostat")'
    )
    assert strategy.do == (
        "call return_delivered_order_items with order_id set to the order the user named "
        "(#W2378156), not #W9999999"
    )
    assert "order_id #W9999999 instead of #W2378156" in strategy.because
    assert quality_problems(strategy) == []


def test_a_value_found_in_an_earlier_tool_result_is_credited_to_that_tool():
    view = return_task(
        step(0, "find_user_id_by_name_zip", USER, actual="yusuf_rossi_9620"),
        step(
            1,
            "get_user_details",
            {"user_id": "yusuf_rossi_9620"},
            actual=USER_DETAILS.replace(', "gift_card_1111111": {"source": "gift_card"}', ""),
        ),
        step(2, "get_order_details", {"order_id": "#W2378156"}),
        step(
            3, "return_delivered_order_items", {**RETURN, "payment_method_id": "gift_card_1111111"}
        ),
    )

    result = reflect(view)

    assert result.failure_mode == "wrong_argument.payment_method_id"
    [strategy] = result.strategies
    assert strategy.do == (
        "call return_delivered_order_items with payment_method_id set to the payment method "
        "get_user_details returned (credit_card_9513926), not gift_card_1111111"
    )
    assert strategy.when.startswith("when the user asks to return delivered order items")
    assert quality_problems(strategy) == []


def test_wrong_tool_when_another_write_takes_the_expected_ones_place():
    view = return_task(
        step(0, "find_user_id_by_name_zip", USER),
        step(1, "get_order_details", {"order_id": "#W2378156"}),
        step(
            2,
            "exchange_delivered_order_items",
            {"order_id": "#W2378156", "item_ids": ["1151293680"]},
        ),
    )

    result = reflect(view)

    assert result.fault_type == "wrong_tool"
    assert result.failure_mode == "wrong_tool.return_delivered_order_items"
    [point] = result.decision_points
    assert point.position == 2
    assert point.chosen.startswith("exchange_delivered_order_items(")
    assert point.should_have_chosen.startswith("return_delivered_order_items(order_id=#W2378156")
    [strategy] = result.strategies
    assert strategy.do.startswith("call return_delivered_order_items(order_id=#W2378156")
    assert strategy.do.endswith("not exchange_delivered_order_items")
    assert "#W2378156" in strategy.when
    assert quality_problems(strategy) == []


def test_missing_action_when_an_expected_write_is_never_called():
    view = return_task(
        step(0, "find_user_id_by_name_zip", USER),
        step(1, "get_order_details", {"order_id": "#W2378156"}),
        step(2, "respond", actual="Your return has been processed."),
    )

    result = reflect(view)

    assert result.fault_type == "missing_action"
    assert result.failure_mode == "missing_action.return_delivered_order_items"
    [point] = result.decision_points
    assert point.position is None
    assert point.chosen == "no call"
    assert "payment_method_id=credit_card_9513926" in point.should_have_chosen
    [strategy] = result.strategies
    assert strategy.do.startswith(
        'call return_delivered_order_items(order_id=#W2378156, item_ids=["1151293680", '
        '"4983901480"], payment_method_id=credit_card_9513926)'
    )
    assert quality_problems(strategy) == []


def test_unrequested_action_for_a_write_the_expected_actions_do_not_contain():
    view = return_task(
        step(0, "find_user_id_by_name_zip", USER),
        step(1, "get_order_details", {"order_id": "#W2378156"}),
        step(2, "return_delivered_order_items", RETURN),
        step(3, "cancel_pending_order", {"order_id": "#W9999999", "reason": "no longer needed"}),
    )

    result = reflect(view)

    assert result.fault_type == "unrequested_action"
    assert result.failure_mode == "unrequested_action.cancel_pending_order"
    [point] = result.decision_points
    assert point.position == 3
    assert point.chosen.startswith("cancel_pending_order(order_id=#W9999999")
    [strategy] = result.strategies
    assert strategy.when.startswith(
        "before calling cancel_pending_order when the user asked only to return delivered order items"
    )
    assert strategy.do == (
        "do not call cancel_pending_order unless the user asked for it; this request needed "
        "only return_delivered_order_items"
    )
    assert "order_id=#W9999999" in strategy.because
    assert quality_problems(strategy) == []


def test_a_repeated_write_is_an_unrequested_action_at_the_repeat():
    view = attempt(
        [
            step(0, "cancel_pending_order", {"order_id": "#W1", "reason": "no longer needed"}),
            step(1, "cancel_pending_order", {"order_id": "#W1", "reason": "no longer needed"}),
        ],
        [expected("cancel_pending_order", order_id="#W1", reason="no longer needed")],
    )

    result = reflect(view)

    assert result.fault_type == "unrequested_action"
    assert [point.position for point in result.decision_points] == [1]
    assert [row["status"] for row in result.performance_trace] == ["match", "repeated"]
    [strategy] = result.strategies
    assert strategy.do.startswith("do not call cancel_pending_order again with the same arguments")
    assert quality_problems(strategy) == []


def test_extra_read_only_calls_are_not_faults():
    view = return_task(
        step(0, "find_user_id_by_name_zip", USER),
        step(1, "get_user_details", {"user_id": "yusuf_rossi_9620"}),
        step(2, "list_all_product_types", {}),
        step(3, "get_order_details", {"order_id": "#W2378156"}),
        step(4, "get_order_details", {"order_id": "#W9999999"}),
        step(5, "return_delivered_order_items", RETURN),
    )

    result = reflect(view)

    # Every expected action was taken; the failure lies elsewhere and the coach says so.
    assert result.fault_type == "partial_goal"
    assert result.failure_mode == "partial_goal"
    assert result.decision_points == []
    assert result.strategies == []
    assert "All 3 expected actions were taken" in result.causal_analysis
    assert [row["status"] for row in result.performance_trace].count("extra") == 3


def test_calls_out_of_order_are_paired_and_not_faults():
    view = attempt(
        [
            step(0, "exchange_delivered_order_items", {"order_id": "#W2", "item_ids": ["9"]}),
            step(1, "return_delivered_order_items", {"order_id": "#W1", "item_ids": ["5"]}),
        ],
        [
            expected("return_delivered_order_items", order_id="#W1", item_ids=["5"]),
            expected("exchange_delivered_order_items", order_id="#W2", item_ids=["9"]),
        ],
        score=0.5,
    )

    result = reflect(view)

    assert result.fault_type == "partial_goal"
    assert sorted(row["status"] for row in result.performance_trace) == ["match", "moved"]
    assert result.strategies == []


def test_a_call_out_of_order_with_a_wrong_argument_is_still_caught():
    view = attempt(
        [
            step(0, "exchange_delivered_order_items", {"order_id": "#W2", "item_ids": ["9"]}),
            step(1, "return_delivered_order_items", {"order_id": "#W1", "item_ids": ["6"]}),
        ],
        [
            expected("return_delivered_order_items", order_id="#W1", item_ids=["5"]),
            expected("exchange_delivered_order_items", order_id="#W2", item_ids=["9"]),
        ],
    )

    result = reflect(view)

    assert result.fault_type == "wrong_argument"
    assert result.failure_mode == "wrong_argument.item_ids"
    assert [point.position for point in result.decision_points] == [1]
    assert 'set to ["5"], not ["6"]' in result.strategies[0].do


def test_the_first_divergence_in_the_trace_decides_the_fault():
    view = attempt(
        [
            step(0, "modify_pending_order_address", {"order_id": "#W1", "zip": "10002"}),
            step(1, "cancel_pending_order", {"order_id": "#W3", "reason": "ordered by mistake"}),
        ],
        [
            expected("modify_pending_order_address", order_id="#W1", zip="10001"),
            expected("cancel_pending_order", order_id="#W2", reason="ordered by mistake"),
        ],
    )

    result = reflect(view)

    assert result.fault_type == "wrong_argument"
    assert result.failure_mode == "wrong_argument.zip"
    assert [point.position for point in result.decision_points] == [0, 1]
    assert len(result.strategies) == 1
    assert "zip set to 10001, not 10002" in result.strategies[0].do
    assert "1 more time(s)" in result.causal_analysis


def test_a_wrong_write_outranks_an_earlier_read_only_divergence():
    view = attempt(
        [
            step(0, "get_order_details", {"order_id": "#W9"}),
            step(1, "respond", actual="Done."),
        ],
        [
            expected("get_order_details", order_id="#W1"),
            expected("cancel_pending_order", order_id="#W1", reason="no longer needed"),
        ],
    )

    assert reflect(view).fault_type == "missing_action"


def test_a_read_only_divergence_explains_a_failure_when_every_write_was_right():
    view = attempt(
        [
            step(0, "get_product_details", {"product_id": "111"}),
            step(1, "cancel_pending_order", {"order_id": "#W1", "reason": "no longer needed"}),
        ],
        [
            expected("get_product_details", product_id="222"),
            expected("cancel_pending_order", order_id="#W1", reason="no longer needed"),
        ],
    )

    result = reflect(view)

    assert result.fault_type == "wrong_argument"
    assert result.failure_mode == "wrong_argument.product_id"
    assert "product_id set to 222, not 111" in result.strategies[0].do
    assert quality_problems(result.strategies[0]) == []


def test_a_failure_with_nothing_expected_and_no_change_is_other_without_a_strategy():
    view = attempt([step(0, "get_order_details", {"order_id": "#W1"})], [])

    result = reflect(view)

    assert (result.fault_type, result.failure_mode) == ("other", "other")
    assert result.strategies == []


def test_success_has_no_fault_no_decision_point_and_no_strategy():
    view = return_task(
        step(0, "find_user_id_by_name_zip", USER),
        step(1, "get_user_details", {"user_id": "yusuf_rossi_9620"}),
        step(2, "get_order_details", {"order_id": "#W2378156"}),
        step(3, "return_delivered_order_items", RETURN),
    )
    view = AttemptView(**{**view.__dict__, "success": True, "score": 1.0})

    result = reflect(view)

    assert (result.fault_author, result.fault_type) == ("none", "none")
    assert result.decision_points == []
    assert result.strategies == []
    assert result.failure_mode is None
    assert result.causal_analysis.startswith("The attempt succeeded: 3 of 3 expected actions")


def test_success_of_a_step_trace_has_no_strategy():
    view = attempt(
        [step(0, "lookup_order", expected="found", actual="found", ok=True)],
        success=True,
        score=1.0,
    )

    result = reflect(view)

    assert result.fault_type == "none"
    assert result.strategies == []
    assert result.decision_points == []


def test_step_trace_uses_the_first_step_whose_actual_differs_from_its_expected():
    view = attempt(
        [
            step(0, "lookup_order", expected="order #W2378156", actual="order #W2378156", ok=True),
            step(
                1,
                "confirm_refund_method",
                expected="credit card",
                actual="gift card",
                note="the user asked for the card",
            ),
            step(2, "issue_refund", ok=False, actual="refund rejected"),
        ]
    )

    result = reflect(view)

    assert (result.fault_author, result.fault_type) == ("agent", "other")
    assert result.failure_mode == "other.confirm_refund_method"
    [point] = result.decision_points
    assert point.position == 1
    assert '"gift card"' in point.chosen
    assert '"credit card"' in point.should_have_chosen
    [strategy] = result.strategies
    assert strategy.when == (
        'when the task is "You want the refund to go to your credit card" and the next step is '
        "confirm_refund_method"
    )
    assert strategy.do == 'make confirm_refund_method yield "credit card", not "gift card"'
    assert "the user asked for the card" in strategy.because
    assert quality_problems(strategy) == []
    assert [row["status"] for row in result.performance_trace] == ["ok", "diverges", "failed"]


def test_step_trace_uses_a_failed_step_but_proposes_nothing_it_cannot_name():
    view = attempt(
        [
            step(0, "get_order_details", {"order_id": "#W1"}, actual='{"status": "pending"}'),
            step(
                1,
                "cancel_pending_order",
                {"order_id": "#W1"},
                actual="Error: reason is required",
                ok=False,
            ),
        ]
    )

    result = reflect(view)

    assert result.fault_type == "other"
    [point] = result.decision_points
    assert point.position == 1
    assert "Error: reason is required" in point.why_it_mattered
    assert result.strategies == []


def test_a_failed_step_trace_with_no_divergence_says_so():
    result = reflect(attempt([step(0, "lookup_order", ok=True)]))

    assert result.fault_type == "other"
    assert result.decision_points == []
    assert result.strategies == []
    assert "does not show where it went wrong" in result.causal_analysis


def test_the_same_attempt_always_gives_the_same_raw_output():
    first = reflect(wrong_order_attempt())
    second = TraceDiffCoach().reflect(wrong_order_attempt())

    assert first.raw_output == second.raw_output
    assert first == second
    assert json.loads(first.raw_output) == json.loads(json.dumps(first.analysis()))
    assert json.loads(first.raw_output)["strategies"][0]["do"] == first.strategies[0].do


@pytest.mark.parametrize(
    "view",
    [
        wrong_order_attempt(),
        return_task(step(0, "find_user_id_by_name_zip", USER)),
        return_task(step(0, "exchange_delivered_order_items", {"order_id": "#W2378156"})),
        return_task(
            step(0, "cancel_pending_order", {"order_id": "#W2378156"}),
            step(1, "return_delivered_order_items", RETURN),
        ),
    ],
    ids=["wrong_argument", "missing_action", "wrong_tool", "unrequested_action"],
)
def test_every_strategy_is_specific_and_passes_the_quality_gate(view):
    result = reflect(view)

    assert result.strategies
    for strategy in result.strategies:
        assert quality_problems(strategy) == []
        text = f"{strategy.when} {strategy.do} {strategy.because}".casefold()
        assert not any(phrase in text for phrase in VAGUE_PHRASES)
        assert result.failure_mode.split(".")[1] in f"{strategy.do} {strategy.when}"


@pytest.mark.parametrize(
    "expected_actions",
    ["cancel the order", [{"arguments": {}}], [{"name": ""}], ["cancel_pending_order"]],
)
def test_malformed_expected_actions_raise_a_coach_error(expected_actions):
    with pytest.raises(CoachError) as raised:
        reflect(attempt([], expected_actions))

    assert raised.value.message


def test_the_same_mistake_on_another_task_gives_a_near_duplicate_strategy():
    first = reflect(wrong_order_attempt()).strategies[0]
    other_task = AttemptView(
        **{
            **wrong_order_attempt().__dict__,
            "task_input": TASK.replace("#W2378156", "#W4817420"),
            "expected_actions": [
                expected("find_user_id_by_name_zip", **USER),
                expected("get_order_details", order_id="#W4817420"),
                expected("return_delivered_order_items", **{**RETURN, "order_id": "#W4817420"}),
            ],
        }
    )
    second = reflect(other_task).strategies[0]

    assert "#W4817420" in second.do
    assert is_duplicate(first, second)


def test_without_a_task_text_the_strategy_is_still_specific():
    view = AttemptView(**{**wrong_order_attempt().__dict__, "task_input": ""})

    [strategy] = reflect(view).strategies

    assert strategy.when == (
        "when the user asks to return delivered order items and return_delivered_order_items "
        "needs its order_id"
    )
    assert "#W2378156" in strategy.do
    assert quality_problems(strategy) == []


def test_an_unrequested_write_when_no_change_was_expected():
    view = attempt(
        [
            step(0, "get_order_details", {"order_id": "#W1"}),
            step(1, "cancel_pending_order", {"order_id": "#W1"}),
        ],
        [expected("get_order_details", order_id="#W1")],
    )

    result = reflect(view)

    assert result.fault_type == "unrequested_action"
    assert result.strategies[0].do == (
        "do not call cancel_pending_order unless the user asked for it; this request needed no "
        "write at all"
    )


def test_the_performance_trace_keeps_replies_in_their_place():
    result = reflect(wrong_order_attempt())

    assert [(row["position"], row["status"]) for row in result.performance_trace] == [
        (0, "match"),
        (1, "extra"),
        (2, "message"),
        (3, "match"),
        (4, "wrong_argument"),
    ]
    assert result.performance_trace[1]["read_only"] is True
    assert result.performance_trace[2]["actual"] == "Which order would you like to return?"
