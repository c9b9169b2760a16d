"""The simulated shop's tables: what the traces in traces.py are made of.

- the agent's system prompt, the shape of order and item numbers, the payment methods and
  the old address an agent copies by mistake;
- the faults: which tool an agent mistakes for which, the mistake a failure on a skill most
  often is, and the write an over-eager agent makes;
- the replies: for skills judged by what the agent says rather than by tool calls, the
  decisive move, what it should yield and what agents get wrong.

Data only; traces.py decides how and when each entry is used.
"""

import re

SYSTEM_PROMPT = "You are a retail customer-service agent. Use the tools to act on orders."
ORDER_ID = re.compile(r"#?W\d{7}\b")
ITEM_ID = re.compile(r"\b\d{10}\b")
NOT_FOUND = "Error: order not found"
PAYMENT_METHODS = (
    "credit_card_6151595",
    "credit_card_2067950",
    "paypal_3024827",
    "gift_card_7245904",
)
# The customer's old address, which an agent copies instead of the new one.
PREVIOUS_ADDRESS = {
    "address1": "14 Elm Street",
    "address2": "Suite 5",
    "city": "Springfield",
    "state": "IL",
    "country": "Canada",
    "zip": "62704",
}
# A tool an agent mistakes for the right one.
CONFUSED_TOOLS = {
    "return_delivered_order_items": "exchange_delivered_order_items",
    "exchange_delivered_order_items": "return_delivered_order_items",
    "modify_pending_order_address": "modify_user_address",
    "modify_user_address": "modify_pending_order_address",
    "cancel_pending_order": "modify_pending_order_items",
    "get_order_details": "get_user_details",
    "find_user_id_by_email": "find_user_id_by_name_zip",
}
# The mistake a failure on a skill most often is, by the start of the skill key.
USUAL_FAULTS = (
    ("tools.orders.wrong_order_id", "wrong_argument"),
    ("tools.returns.wrong_items", "wrong_argument"),
    ("tools.returns.exchange_for_return", "wrong_tool"),
    ("tools.account.unverified_change", "unrequested"),
    ("tools.confirmation", "unrequested"),
    ("policy.eligibility", "unrequested"),
    ("policy.identity_verification", "missing"),
    ("escalation", "missing"),
)
USUAL_FAULT_SHARE = 0.7
# The write an over-eager agent makes when none (or none yet) was asked for.
UNREQUESTED_WRITES = (
    ("tools.account", "modify_user_address"),
    ("policy.eligibility", "return_delivered_order_items"),
    ("tools.confirmation", "cancel_pending_order"),
    ("", "cancel_pending_order"),
)

# For skills judged by what the agent says rather than by tool calls: the decisive move, what
# it should yield, and what agents get wrong.
REPLIES = {
    "intent.ambiguity": (
        "ask_which_order",
        "Ask which order and which change the customer means before acting",
        (
            "Changed the first open order without asking which one was meant",
            "Guessed the customer wanted a cancellation and started one",
            "Asked three questions at once and confused the customer",
            "Cancelled both open orders to be safe",
        ),
    ),
    "intent.ambiguity.assumed_intent": (
        "ask_what_outcome",
        "Ask whether the customer wants a refund, a replacement or a repair",
        (
            "Started a refund the customer never asked for",
            "Sent a replacement without asking what the customer wanted",
            "Assumed a repair was wanted and booked a technician",
            "Offered store credit without asking what the customer wanted",
        ),
    ),
    "intent.multiple_requests": (
        "list_requests",
        "List every request in the message and handle each one in turn",
        (
            "Answered the first request and ignored the others",
            "Handled only the last request of the message",
            "Merged two requests into one return",
            "Said the second request needs a new ticket",
        ),
    ),
    "intent.required_details": (
        "ask_for_details",
        "Ask for the order number and the item before starting the task",
        (
            "Started the task without the order number",
            "Picked the most recent order instead of asking which one",
            "Guessed the item from the order history",
            "Asked for the customer's password instead of the order number",
        ),
    ),
    "intent.changed_goal": (
        "follow_latest_goal",
        "Drop the old plan and act on the customer's latest request",
        (
            "Carried on with the cancellation the customer withdrew",
            "Kept the original return after the customer switched to an exchange",
            "Did both the old and the new request",
            "Asked the customer to start over from the beginning",
        ),
    ),
    "retrieval.policy_lookup": (
        "look_up_policy",
        "Quote the policy article that covers the case",
        (
            "Answered from memory with a 60-day window the policy does not have",
            "Gave a rule that no policy article contains",
            "Quoted the policy of another region",
            "Said there is no policy on this case",
        ),
    ),
    "retrieval.help_articles": (
        "search_help_centre",
        "Link the help-centre article that answers the question",
        (
            "Wrote out steps from memory without the article",
            "Linked an article about a different topic",
            "Pasted the whole help centre index",
            "Sent a link to a retired article",
        ),
    ),
    "retrieval.grounding": (
        "answer_from_sources",
        "State only what the retrieved sources say and flag what they do not cover",
        (
            "Stated a delivery date that no source gave",
            "Filled a gap in the sources with a guess",
            "Mixed two sources into an answer neither supports",
            "Presented a guess as company policy",
        ),
    ),
    "retrieval.grounding.unsupported_claim": (
        "answer_from_sources",
        "Say the sources give no date and offer to check with the warehouse",
        (
            "Promised delivery by Friday with no source for it",
            "Quoted a price that appears in no retrieved source",
            "Told the customer the item is back in stock next week",
            "Said the courier always delivers before noon",
        ),
    ),
    "explaining.policy_in_plain_words": (
        "explain_policy",
        "Restate the policy in everyday words applied to the customer's order",
        (
            "Pasted the policy's legal text without explaining it",
            "Explained the policy in internal jargon",
            "Read the policy out word for word",
            "Explained the policy of a different product line",
        ),
    ),
    "explaining.next_steps": (
        "state_next_steps",
        "Say what happens next, who does it and by when",
        (
            "Ended the conversation without saying what happens next",
            "Said it would be sorted soon without giving a date",
            "Listed internal process steps the customer cannot act on",
            "Told the customer to wait for an email with no date",
        ),
    ),
    "explaining.options": (
        "lay_out_options",
        "Lay out each allowed option with what it means for the customer",
        (
            "Offered one option when the policy allows three",
            "Listed the options without saying what each one costs",
            "Recommended the most expensive option without the others",
            "Described the options with internal codes",
        ),
    ),
    "explaining.decision_reasons": (
        "give_reason",
        "Name the rule that led to the refusal and link to it",
        (
            "Refused the request without giving a reason",
            "Blamed the system instead of naming the rule",
            "Said the decision is final without a reason",
            "Gave a reason that does not apply to this order",
        ),
    ),
    "policy.refunds": (
        "issue_refund",
        "Refund only the eligible items, up to the amount the policy allows",
        (
            "Refunded the shipping fee the policy excludes",
            "Refunded more than the order total",
            "Refunded an order outside the return window",
            "Refunded to a card that did not pay for the order",
        ),
    ),
    "policy.personal_data": (
        "share_account_data",
        "Share details only with the verified account holder, card digits masked",
        (
            "Read out the full card number",
            "Gave the delivery address to an unverified caller",
            "Confirmed the account email to an unverified caller",
            "Pasted the full billing address into the chat",
        ),
    ),
    "policy.exceptions": (
        "decline_exception",
        "Decline the exception politely and offer what the policy allows",
        (
            "Invented an exception to the 30-day return window",
            "Promised a refund outside the policy to calm the customer",
            "Waived the restocking fee without authority",
            "Extended the warranty on the customer's say-so",
        ),
    ),
    "tone.empathy": (
        "acknowledge_problem",
        "Acknowledge the problem and its impact in one sincere sentence",
        (
            "Jumped to the order details without acknowledging the problem",
            "Apologized three times without addressing the problem",
            "Said the problem is not a big deal",
            "Used a scripted apology that ignored the problem",
        ),
    ),
    "tone.de_escalation": (
        "calm_customer",
        "Stay calm, avoid blame and propose the next concrete step",
        (
            "Told the customer they should have read the policy",
            "Matched the customer's angry tone",
            "Threatened to end the conversation",
            "Argued about who caused the problem",
        ),
    ),
    "tone.register": (
        "match_register",
        "Answer in the customer's language and level of formality",
        (
            "Answered a Spanish message in English",
            "Replied in slang to a formal complaint",
            "Answered a formal letter with emojis",
            "Switched language halfway through the answer",
        ),
    ),
    "tone.concision": (
        "answer_briefly",
        "Give the answer first, in two sentences, without filler",
        (
            "Wrote four paragraphs before the answer",
            "Repeated the policy twice and buried the answer",
            "Answered with a long list of unrelated tips",
            "Restated the question before answering",
        ),
    ),
}
