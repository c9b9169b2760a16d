"""Reading an OpenAI chat-completions conversation as the steps of a performance trace."""

import json

import pytest

from practice.traces import (
    RESPOND_ACTION,
    looks_like_error,
    message_text,
    normalize_chat,
    parse_tool_arguments,
)

ORDER_DETAILS = {
    "order_id": "#W2378156",
    "user_id": "yusuf_rossi_9620",
    "status": "delivered",
    "items": [
        {
            "name": "Water Bottle",
            "product_id": "8310926033",
            "item_id": "4579334072",
            "price": 54.85,
            "options": {"capacity": "750ml", "material": "glass", "color": "black"},
        },
        {
            "name": "Headphones",
            "product_id": "6992792935",
            "item_id": "4202497723",
            "price": 342.81,
            "options": {"type": "over-ear", "connectivity": "wireless", "color": "blue"},
        },
    ],
    "payment_history": [
        {
            "transaction_type": "payment",
            "amount": 397.66,
            "payment_method_id": "credit_card_9513926",
        }
    ],
}
USER_DETAILS = {
    "user_id": "yusuf_rossi_9620",
    "name": {"first_name": "Yusuf", "last_name": "Rossi"},
    "email": "yusuf.rossi7301@example.com",
    "payment_methods": {
        "credit_card_9513926": {"source": "credit_card", "brand": "mastercard", "last_four": "2478"}
    },
    "orders": ["#W2378156", "#W4776164"],
}
RETURNED_ORDER = {**ORDER_DETAILS, "status": "return requested", "return_items": ["4579334072"]}
FIRST_REQUEST = "Hi! I'd like to return the water bottle from my order #W2378156, please."


def _assistant(content=None, *tool_calls):
    # The shape `ChatCompletionMessage.model_dump()` of the openai package produces.
    return {
        "role": "assistant",
        "content": content,
        "refusal": None,
        "annotations": [],
        "audio": None,
        "function_call": None,
        "tool_calls": list(tool_calls) or None,
    }


def _call(call_id, name, arguments):
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def _result(call_id, name, content):
    return {
        "role": "tool",
        "tool_call_id": call_id,
        "name": name,
        "content": content if isinstance(content, str) else json.dumps(content),
    }


def retail_return_conversation():
    """A retail support conversation as a tau-bench tool-calling agent records it: identity
    check, a failed look-up, two parallel calls answered out of order, then the return."""
    return [
        {
            "role": "system",
            "content": "# Retail agent policy\nAs a retail agent, you can help users cancel or "
            "modify pending orders, return or exchange delivered orders, ... You must first "
            "authenticate the user by email, or by name and zip code.",
        },
        {"role": "user", "content": FIRST_REQUEST},
        _assistant(
            "I can help with that. First, could you tell me the email address on your account "
            "so I can verify your identity?"
        ),
        {"role": "user", "content": "Sure, it's yusuf.rossi7301@example.com"},
        _assistant(
            None,
            _call("call_8Hq2", "find_user_id_by_email", {"email": "yusuf.rossi7301@example.com"}),
        ),
        _result("call_8Hq2", "find_user_id_by_email", "yusuf_rossi_9620"),
        _assistant(
            "Thanks, let me look up that order.",
            _call("call_Zp41", "get_order_details", {"order_id": "W2378156"}),
        ),
        _result("call_Zp41", "get_order_details", "Error: order not found"),
        _assistant(
            None,
            _call("call_Kd07", "get_order_details", {"order_id": "#W2378156"}),
            _call("call_Rt55", "get_user_details", {"user_id": "yusuf_rossi_9620"}),
        ),
        _result("call_Rt55", "get_user_details", USER_DETAILS),
        _result("call_Kd07", "get_order_details", ORDER_DETAILS),
        _assistant(
            "Your order #W2378156 was delivered. I can return the Water Bottle (item 4579334072) "
            "for a refund of $54.85 to your Mastercard ending in 2478. Shall I go ahead (yes/no)?"
        ),
        {"role": "user", "content": "yes"},
        _assistant(
            None,
            _call(
                "call_Vb93",
                "return_delivered_order_items",
                {
                    "order_id": "#W2378156",
                    "item_ids": ["4579334072"],
                    "payment_method_id": "credit_card_9513926",
                },
            ),
        ),
        _result("call_Vb93", "return_delivered_order_items", RETURNED_ORDER),
        _assistant(
            "Done: the return of the Water Bottle is requested. You will receive an email with "
            "the return label, and the refund follows once we receive the item."
        ),
    ]


def test_each_tool_call_is_a_step_answered_by_its_tool_result():
    messages = retail_return_conversation()

    steps = normalize_chat(messages).steps

    assert [step.action for step in steps] == [
        RESPOND_ACTION,
        "find_user_id_by_email",
        "get_order_details",
        "get_order_details",
        "get_user_details",
        RESPOND_ACTION,
        "return_delivered_order_items",
        RESPOND_ACTION,
    ]
    assert steps[1].arguments == {"email": "yusuf.rossi7301@example.com"}
    assert steps[1].actual == "yusuf_rossi_9620"
    assert steps[1].raw_message is messages[4]
    # The parallel calls were answered in the other order: matched by id, not by position.
    assert json.loads(steps[3].actual) == ORDER_DETAILS
    assert json.loads(steps[4].actual) == USER_DETAILS
    assert steps[3].raw_message is steps[4].raw_message is messages[8]
    assert steps[6].arguments == {
        "order_id": "#W2378156",
        "item_ids": ["4579334072"],
        "payment_method_id": "credit_card_9513926",
    }
    assert json.loads(steps[6].actual)["status"] == "return requested"


def test_a_tool_result_that_reports_an_error_marks_the_step_failed_and_others_stay_unknown():
    steps = normalize_chat(retail_return_conversation()).steps

    assert steps[2].actual == "Error: order not found"
    assert steps[2].ok is False
    assert [step.ok for step in steps if step.action != "get_order_details"] == [None] * 6
    assert steps[3].ok is None


def test_the_text_that_comes_with_a_tool_call_is_kept_as_its_note():
    steps = normalize_chat(retail_return_conversation()).steps

    assert steps[2].note == "Thanks, let me look up that order."
    assert steps[1].note == ""


def test_an_assistant_text_reply_is_a_respond_step_with_the_text_as_actual():
    messages = retail_return_conversation()

    steps = normalize_chat(messages).steps

    assert steps[5].actual.startswith("Your order #W2378156 was delivered.")
    assert steps[5].arguments is None
    assert steps[5].raw_message is messages[11]
    assert steps[7].actual.startswith("Done: the return of the Water Bottle is requested.")


def test_system_and_user_messages_are_not_steps_but_the_first_user_message_is_the_task():
    chat = normalize_chat(retail_return_conversation())

    assert chat.first_user_text == FIRST_REQUEST
    assert all("Retail agent policy" not in step.actual for step in chat.steps)
    assert all(step.actual != "yes" for step in chat.steps)


def test_content_parts_are_read_as_their_text():
    chat = normalize_chat(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Where is my order?"},
                    {"type": "image_url", "image_url": {"url": "https://example.com/receipt.png"}},
                    {"type": "text", "text": "It is #W4776164."},
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "Let me check."}]},
        ]
    )

    assert chat.first_user_text == "Where is my order?\nIt is #W4776164."
    assert [(step.action, step.actual) for step in chat.steps] == [
        (RESPOND_ACTION, "Let me check.")
    ]


def test_a_conversation_without_user_message_has_no_task_text():
    chat = normalize_chat([{"role": "system", "content": "Be brief."}])

    assert chat.first_user_text == ""
    assert chat.steps == ()


def test_an_unanswered_tool_call_is_a_step_with_unknown_outcome():
    steps = normalize_chat(
        [
            {"role": "user", "content": "Cancel #W4776164."},
            _assistant(None, _call("call_1", "cancel_pending_order", {"order_id": "#W4776164"})),
        ]
    ).steps

    assert [(step.action, step.actual, step.ok) for step in steps] == [
        ("cancel_pending_order", "", None)
    ]


def test_an_assistant_message_with_only_whitespace_is_not_a_step():
    assert normalize_chat([_assistant("  \n")]).steps == ()


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"order_id": "#W2378156"}', {"order_id": "#W2378156"}),
        ("{}", {}),
        ('{"order_id": "#W2378156"', {"_raw": '{"order_id": "#W2378156"'}),
        ("", {"_raw": ""}),
        ('["#W2378156"]', {"_raw": '["#W2378156"]'}),
        ("42", {"_raw": "42"}),
    ],
)
def test_tool_arguments_are_parsed_or_kept_raw(text, expected):
    assert parse_tool_arguments(text) == expected


@pytest.mark.parametrize(
    "content, is_error",
    [
        ("Error: order not found", True),
        ("  Error: payment method not found", True),
        ('{"error": "user not found"}', True),
        ('{"error": null, "status": "ok"}', True),
        ('{"status": "delivered"}', False),
        ('{"status": "delivered"', False),
        ('["error"]', False),
        ("yusuf_rossi_9620", False),
        ("No error found", False),
        ("error: lower case is not the tau-bench convention", False),
        ("", False),
    ],
)
def test_tool_results_that_look_like_errors(content, is_error):
    assert looks_like_error(content) is is_error


def test_message_text_of_each_content_shape():
    assert message_text(None) == ""
    assert message_text("plain") == "plain"
    assert (
        message_text([{"type": "text", "text": "a"}, {"type": "refusal", "refusal": "no"}]) == "a"
    )
