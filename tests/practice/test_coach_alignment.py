"""The sequence alignment of expected actions against the agent's tool calls."""

import pytest

from practice.coach.alignment import (
    MISSING,
    ArgumentDifference,
    align_actions,
    argument_differences,
    is_read_only,
    tool_calls,
)
from practice.coach.base import StepView


def expected(name, **arguments):
    return {"name": name, "arguments": arguments}


def calls(*actions):
    """Trace steps for (name, arguments) pairs, numbered from 0."""
    return [
        StepView(position=number, action=name, arguments=arguments)
        for number, (name, arguments) in enumerate(actions)
    ]


def names(pairs):
    """The alignment as (expected name or None, actual name or None)."""
    return [
        (
            expected_action["name"] if expected_action else None,
            actual.action if actual else None,
        )
        for expected_action, actual in pairs
    ]


def test_identical_sequences_pair_one_to_one():
    wanted = [
        expected("get_order_details", order_id="#W1"),
        expected("cancel_pending_order", order_id="#W1"),
    ]
    done = calls(
        ("get_order_details", {"order_id": "#W1"}), ("cancel_pending_order", {"order_id": "#W1"})
    )

    pairs = align_actions(wanted, done)

    assert pairs == [(wanted[0], done[0]), (wanted[1], done[1])]


def test_an_inserted_extra_call_stands_against_a_gap_and_shifts_nothing_else():
    wanted = [
        expected("find_user_id_by_email", email="a@b.c"),
        expected("get_order_details", order_id="#W1"),
        expected("cancel_pending_order", order_id="#W1"),
    ]
    done = calls(
        ("find_user_id_by_email", {"email": "a@b.c"}),
        ("get_user_details", {"user_id": "u1"}),
        ("get_order_details", {"order_id": "#W1"}),
        ("cancel_pending_order", {"order_id": "#W1"}),
    )

    pairs = align_actions(wanted, done)

    assert names(pairs) == [
        ("find_user_id_by_email", "find_user_id_by_email"),
        (None, "get_user_details"),
        ("get_order_details", "get_order_details"),
        ("cancel_pending_order", "cancel_pending_order"),
    ]
    assert pairs[3] == (wanted[2], done[3])


def test_a_skipped_call_stands_against_a_gap_and_the_later_calls_still_pair():
    wanted = [
        expected("get_order_details", order_id="#W1"),
        expected("modify_pending_order_address", order_id="#W1", zip="10001"),
        expected("cancel_pending_order", order_id="#W2"),
    ]
    done = calls(
        ("get_order_details", {"order_id": "#W1"}),
        ("cancel_pending_order", {"order_id": "#W2"}),
    )

    pairs = align_actions(wanted, done)

    assert names(pairs) == [
        ("get_order_details", "get_order_details"),
        ("modify_pending_order_address", None),
        ("cancel_pending_order", "cancel_pending_order"),
    ]


def test_a_shifted_sequence_aligns_by_content_not_by_position():
    wanted = [
        expected("get_user_details", user_id="u1"),
        expected("return_delivered_order_items", order_id="#W1", item_ids=["1", "2"]),
    ]
    # Three lookups first: position by position, nothing would line up.
    done = calls(
        ("find_user_id_by_name_zip", {"first_name": "Ann", "zip": "10001"}),
        ("list_all_product_types", {}),
        ("get_user_details", {"user_id": "u1"}),
        ("return_delivered_order_items", {"order_id": "#W1", "item_ids": ["1", "2"]}),
    )

    pairs = align_actions(wanted, done)

    assert (wanted[0], done[2]) in pairs
    assert (wanted[1], done[3]) in pairs
    assert [pair for pair in pairs if pair[0] is None] == [(None, done[0]), (None, done[1])]


def test_the_same_tool_with_other_arguments_still_pairs():
    wanted = [expected("cancel_pending_order", order_id="#W1", reason="no longer needed")]
    done = calls(("cancel_pending_order", {"order_id": "#W2", "reason": "no longer needed"}))

    assert align_actions(wanted, done) == [(wanted[0], done[0])]


def test_among_calls_to_one_tool_the_one_with_equal_arguments_pairs():
    wanted = [expected("get_order_details", order_id="#W2")]
    done = calls(
        ("get_order_details", {"order_id": "#W1"}), ("get_order_details", {"order_id": "#W2"})
    )

    assert align_actions(wanted, done) == [(None, done[0]), (wanted[0], done[1])]


def test_a_repeated_call_pairs_its_first_occurrence():
    wanted = [expected("cancel_pending_order", order_id="#W1")]
    done = calls(
        ("cancel_pending_order", {"order_id": "#W1"}), ("cancel_pending_order", {"order_id": "#W1"})
    )

    assert align_actions(wanted, done) == [(wanted[0], done[0]), (None, done[1])]


def test_a_write_is_never_paired_with_a_read():
    wanted = [expected("cancel_pending_order", order_id="#W1")]
    done = calls(("get_order_details", {"order_id": "#W1"}))

    assert names(align_actions(wanted, done)) == [
        ("cancel_pending_order", None),
        (None, "get_order_details"),
    ]


def test_a_different_write_in_the_same_place_pairs_as_a_wrong_tool():
    wanted = [
        expected("get_order_details", order_id="#W1"),
        expected("return_delivered_order_items", order_id="#W1"),
    ]
    done = calls(
        ("get_order_details", {"order_id": "#W1"}),
        ("exchange_delivered_order_items", {"order_id": "#W1"}),
    )

    assert names(align_actions(wanted, done)) == [
        ("get_order_details", "get_order_details"),
        ("return_delivered_order_items", "exchange_delivered_order_items"),
    ]


def test_repeated_calls_pair_as_each_call_would_alone():
    wanted = [
        expected("get_order_details", order_id="#W1"),
        expected("return_delivered_order_items", order_id="#W1", item_ids=["a", "b"]),
    ] * 3
    done = calls(
        *[
            ("get_order_details", {"order_id": "#W1"}),
            ("get_order_details", {"order_id": "#W1"}),
            ("return_delivered_order_items", {"order_id": "#W1", "item_ids": ["b", "a"]}),
        ]
        * 3
    )

    pairs = align_actions(wanted, done)

    assert (
        names(pairs)
        == [
            ("get_order_details", "get_order_details"),
            (None, "get_order_details"),
            ("return_delivered_order_items", "return_delivered_order_items"),
        ]
        * 3
    )
    assert [actual.position for _, actual in pairs] == list(range(9))


def test_an_argument_value_that_cannot_be_hashed_still_aligns():
    wanted = [expected("tag_items", tags={"red", "blue"}), expected("cancel_pending_order")]
    done = calls(("tag_items", {"tags": {"blue", "red"}}), ("cancel_pending_order", {}))

    assert align_actions(wanted, done) == [(wanted[0], done[0]), (wanted[1], done[1])]


def test_tau_bench_kwargs_are_read_as_arguments():
    wanted = [{"name": "get_order_details", "kwargs": {"order_id": "#W2"}}]
    done = calls(
        ("get_order_details", {"order_id": "#W1"}), ("get_order_details", {"order_id": "#W2"})
    )

    assert align_actions(wanted, done)[1] == (wanted[0], done[1])


def test_empty_sides():
    done = calls(("cancel_pending_order", {"order_id": "#W1"}))
    wanted = [expected("cancel_pending_order", order_id="#W1")]

    assert align_actions([], done) == [(None, done[0])]
    assert align_actions(wanted, []) == [(wanted[0], None)]
    assert align_actions([], []) == []


def test_argument_differences_name_the_argument_with_expected_and_actual_values():
    differences = argument_differences(
        {"order_id": "#W2378156", "reason": "ordered by mistake"},
        {"order_id": "#W9999999", "reason": "ordered by mistake"},
    )

    assert differences == [ArgumentDifference("order_id", "#W2378156", "#W9999999")]


def test_argument_differences_include_missing_keys_on_either_side():
    differences = argument_differences(
        {"order_id": "#W1", "zip": "10001"}, {"order_id": "#W1", "city": "Austin"}
    )

    assert differences == [
        ArgumentDifference("zip", "10001", MISSING),
        ArgumentDifference("city", MISSING, "Austin"),
    ]


def test_argument_values_are_compared_after_normalization():
    assert (
        argument_differences(
            {"order_id": " #W1 ", "item_ids": ["2", "1"], "note": "Gift"},
            {"order_id": "#w1", "item_ids": ["1", "2"], "note": "gift"},
        )
        == []
    )
    # Lists of objects keep their order; only lists of scalars are compared as sorted.
    assert argument_differences(
        {"legs": [{"flight": "HAT1"}, {"flight": "HAT2"}]},
        {"legs": [{"flight": "HAT2"}, {"flight": "HAT1"}]},
    ) == [
        ArgumentDifference(
            "legs",
            [{"flight": "HAT1"}, {"flight": "HAT2"}],
            [{"flight": "HAT2"}, {"flight": "HAT1"}],
        )
    ]
    assert argument_differences({"amount": 5}, {"amount": "5"}) == [
        ArgumentDifference("amount", 5, "5")
    ]


@pytest.mark.parametrize(
    ("name", "read_only"),
    [
        ("get_order_details", True),
        ("find_user_id_by_email", True),
        ("list_all_product_types", True),
        ("search_direct_flight", True),
        ("lookup_customer", True),
        ("calculate", True),
        ("think", True),
        ("cancel_pending_order", False),
        ("return_delivered_order_items", False),
        ("transfer_to_human_agents", False),
    ],
)
def test_read_only_tools_are_told_apart_from_writes(name, read_only):
    assert is_read_only(name) is read_only


def test_replies_are_not_tool_calls():
    steps = [
        StepView(0, "get_order_details", {"order_id": "#W1"}),
        StepView(1, "respond", None, actual="Your order is on its way."),
        StepView(2, "cancel_pending_order", {}),
    ]

    assert tool_calls(steps) == [steps[0], steps[2]]


def test_steps_without_arguments_are_calls_when_they_are_named_like_tools():
    steps = [
        StepView(0, "lookup_order"),
        StepView(1, "ask the user for the zip code"),
        StepView(2, "cancel_pending_order"),
    ]

    assert tool_calls(steps) == [steps[0], steps[2]]
