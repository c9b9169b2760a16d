"""The quality gate for candidate strategies and the similarity used to de-duplicate them."""

import pytest

from practice.coach.base import CandidateStrategy
from practice.coach.quality import VAGUE_PHRASES, quality_problems
from practice.coach.similarity import (
    DUPLICATE_THRESHOLD,
    do_similarity,
    is_conflict,
    is_duplicate,
    same_action,
    same_trigger,
    similarity,
    strategy_words,
    when_similarity,
)

SPECIFIC = CandidateStrategy(
    skill_key="retail.returns",
    when=(
        "when the user asks to return items of a delivered order and names the order as #W2378156"
    ),
    do=(
        "call return_delivered_order_items with order_id set to the order the user named "
        "(#W2378156), not #W9999999"
    ),
    because=(
        "the tool acts on whatever order it is given; the wrong id returned another customer's "
        "items and the task failed"
    ),
)


def candidate(**fields):
    return CandidateStrategy(**{**SPECIFIC.__dict__, **fields})


def test_a_specific_strategy_passes():
    assert quality_problems(SPECIFIC) == []


def test_a_mapping_is_read_like_a_strategy():
    assert (
        quality_problems({"when": SPECIFIC.when, "do": SPECIFIC.do, "because": SPECIFIC.because})
        == []
    )
    assert quality_problems(
        {"when": SPECIFIC.when, "do": "try harder", "because": SPECIFIC.because}
    )


@pytest.mark.parametrize("phrase", VAGUE_PHRASES)
def test_every_vague_phrase_is_rejected(phrase):
    problems = quality_problems(candidate(do=f"{phrase} with order ids"))

    assert f'the action (do) is vague ("{phrase}")' in problems


@pytest.mark.parametrize(
    "do",
    [
        "be careful",
        "Be more careful.",
        "Try harder next time",
        "pay attention to the details",
        "Double-check everything before acting",
    ],
)
def test_the_classic_vague_advice_is_rejected(do):
    assert any("vague" in problem for problem in quality_problems(candidate(do=do)))


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        ("always", 'the trigger (when) must start with "when", "if", "before" or "after"'),
        ("in general", 'the trigger (when) must start with "when", "if", "before" or "after"'),
        ("when in general", "the trigger (when) has fewer than 4 words"),
        ("when working on any task", "the trigger (when) names no concrete situation"),
        ("if the user asks something", "the trigger (when) names no concrete situation"),
        ("when in doubt, always", "the trigger (when) names no concrete situation"),
        (
            "the user names an order",
            'the trigger (when) must start with "when", "if", "before" or "after"',
        ),
        ("", "the trigger (when) is empty"),
    ],
)
def test_a_trigger_must_name_a_concrete_situation(when, problem):
    assert problem in quality_problems(candidate(when=when))


@pytest.mark.parametrize(
    "when",
    [
        "if the order status is pending and the user wants a refund",
        "before calling cancel_pending_order for a customer",
        "after get_user_details returns two payment methods",
    ],
)
def test_triggers_opening_with_if_before_or_after_pass(when):
    assert quality_problems(candidate(when=when)) == []


@pytest.mark.parametrize(
    ("do", "problem"),
    [
        ("call it", "the action (do) has fewer than 3 words"),
        (
            "the agent should pass the order id",
            "the action (do) does not start with an imperative verb",
        ),
        ("you must pass the order id", "the action (do) does not start with an imperative verb"),
        ("checking the order id first", "the action (do) does not start with an imperative verb"),
        (
            "used the order id the user named",
            "the action (do) does not start with an imperative verb",
        ),
        ("", "the action (do) is empty"),
    ],
)
def test_an_action_must_be_a_concrete_instruction(do, problem):
    assert problem in quality_problems(candidate(do=do))


@pytest.mark.parametrize(
    "do",
    [
        "always pass the order id the user named",
        "never call cancel_pending_order twice for one order",
        "do not call cancel_pending_order unless the user asked for it",
        "ask the user which of the two orders to return",
    ],
)
def test_instructions_with_a_leading_adverb_or_negation_pass(do):
    assert quality_problems(candidate(do=do)) == []


@pytest.mark.parametrize(
    ("because", "problem"),
    [
        ("", "the reason (because) is empty"),
        ("it helps", "the reason (because) has fewer than 4 words"),
        (
            "because it is good practice",
            'the reason (because) explains nothing ("it is good practice")',
        ),
    ],
)
def test_a_reason_must_explain(because, problem):
    assert problem in quality_problems(candidate(because=because))


def test_every_problem_is_reported_not_only_the_first():
    problems = quality_problems(candidate(when="always", do="be careful", because="it works"))

    assert problems == [
        'the trigger (when) must start with "when", "if", "before" or "after"',
        "the trigger (when) has fewer than 4 words",
        "the trigger (when) names no concrete situation",
        "the action (do) has fewer than 3 words",
        'the action (do) is vague ("be careful")',
        "the reason (because) has fewer than 4 words",
        'the reason (because) explains nothing ("it works")',
    ]


def test_a_near_duplicate_reaches_the_threshold():
    reworded = candidate(
        when="when a user asks to return delivered items and names the order #W2378156",
        do="call return_delivered_order_items with the order_id the user named (#W2378156)",
        because="a different reason does not make it a different strategy",
    )

    assert similarity(SPECIFIC, reworded) >= DUPLICATE_THRESHOLD
    assert is_duplicate(SPECIFIC, reworded)
    assert not is_conflict(SPECIFIC, reworded)


def test_the_same_mistake_on_another_order_is_a_near_duplicate():
    other_order = candidate(
        when="when the user asks to return items of a delivered order and names the order as #W4817420",
        do="call return_delivered_order_items with order_id set to the order the user named (#W4817420), not #W1111111",
    )

    assert similarity(SPECIFIC, other_order) >= DUPLICATE_THRESHOLD
    assert is_duplicate(SPECIFIC, other_order)


def test_an_unrelated_strategy_stays_below_the_threshold():
    unrelated = candidate(
        when="when the user wants to change the flights of a basic economy reservation",
        do="explain that basic economy flights cannot be modified and offer to cancel instead",
    )

    assert similarity(SPECIFIC, unrelated) < DUPLICATE_THRESHOLD
    assert not is_duplicate(SPECIFIC, unrelated)


def test_same_situation_with_another_action_is_a_conflict_not_a_duplicate():
    other_action = candidate(
        do="call exchange_delivered_order_items for the order instead of a return"
    )

    # The shared trigger alone lifts the similarity over the threshold...
    assert similarity(SPECIFIC, other_action) >= DUPLICATE_THRESHOLD
    # ...but the actions differ, so it is no duplicate: it contradicts.
    assert not same_action(SPECIFIC, other_action)
    assert not is_duplicate(SPECIFIC, other_action)
    assert is_conflict(SPECIFIC, other_action)


def test_similarity_is_symmetric_bounded_and_one_for_identical_strategies():
    other = candidate(
        when="if the user gives a zip code and a name", do="call find_user_id_by_name_zip first"
    )

    assert similarity(SPECIFIC, SPECIFIC) == 1.0
    assert similarity(SPECIFIC, other) == similarity(other, SPECIFIC)
    assert 0.0 <= similarity(SPECIFIC, other) < 1.0


def test_words_are_normalized_before_comparing():
    first = {"when": "When the user RETURNS items of delivered orders", "do": "call x"}
    second = {"when": "when a user returned the item of a delivered order", "do": "call x"}

    assert when_similarity(first, second) == 1.0


def test_negation_keeps_opposite_actions_apart():
    call = {"when": SPECIFIC.when, "do": "call cancel_pending_order for the order"}
    do_not_call = {"when": SPECIFIC.when, "do": "do not call cancel_pending_order for the order"}

    assert do_similarity(call, do_not_call) >= 0.5
    assert not same_action(call, do_not_call)
    assert not is_duplicate(call, do_not_call)
    assert is_conflict(call, do_not_call)


def test_different_situations_are_not_the_same_trigger():
    other = candidate(
        when="when the user asks to cancel a pending order that was placed by mistake"
    )

    assert not same_trigger(SPECIFIC, other)
    assert not is_conflict(SPECIFIC, other)


@pytest.mark.parametrize(
    "negated",
    [
        "don't call cancel_pending_order for the order",
        "never call cancel_pending_order for the order",
        "avoid calling cancel_pending_order for the order",
    ],
)
def test_every_negated_opening_counts_as_another_action(negated):
    call = {"when": SPECIFIC.when, "do": "call cancel_pending_order for the order"}

    assert not same_action(call, {"when": SPECIFIC.when, "do": negated})


@pytest.mark.parametrize(
    "other",
    [
        SPECIFIC,
        candidate(do="call exchange_delivered_order_items for the order instead of a return"),
        candidate(when="if the user gives a zip code and a name"),
        {"when": SPECIFIC.when, "do": "never call return_delivered_order_items for #W2378156"},
        {"when": "", "do": ""},
    ],
)
def test_strategies_read_into_words_once_compare_as_the_strategies_do(other):
    comparisons = (similarity, when_similarity, do_similarity, same_action, is_duplicate)
    read = strategy_words(SPECIFIC), strategy_words(other)

    for compare in (*comparisons, same_trigger, is_conflict):
        assert compare(*read) == compare(SPECIFIC, other)
        assert compare(read[0], other) == compare(SPECIFIC, read[1]) == compare(SPECIFIC, other)
