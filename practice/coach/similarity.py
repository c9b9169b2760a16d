"""How close two strategies are, for de-duplication and conflict detection.

Each strategy's *when* and *do* are reduced to a set of words: lowercased, split on anything
that is not a letter or digit (so `return_delivered_order_items` and "return delivered order
items" give the same words, and "#W2378156" gives "w2378156"), common English stop words
removed (negations such as "not", "no" and "never" are kept), and each word stemmed by
stripping one of -ing, -ed, -s and then a final -e ("returned", "returns" and "returning" all
become "return").

The similarity of two strategies is

    0.5 x Jaccard(when words) + 0.5 x Jaccard(do words)

where Jaccard(A, B) = |A ∩ B| / |A ∪ B| (1.0 when both sets are empty). The reason (*because*)
is left out: two candidates that say to do the same thing in the same situation are the same
strategy whatever reason each one gives.

- Same trigger: the *when* similarity alone is at least SAME_TRIGGER_THRESHOLD (0.8).
- Same action: the *do* similarity alone is at least SAME_ACTION_THRESHOLD (0.5) and either
  both actions are negated (they open with "do not", "don't", "never", "avoid", ...) or
  neither is.
- Near-duplicate: similarity at least DUPLICATE_THRESHOLD (0.6) and the same action. A
  near-duplicate of an existing strategy of the same skill adds its attempt as evidence instead
  of becoming a new item. (Without the same-action condition, two strategies with one trigger
  would count as duplicates as soon as their actions shared a fifth of their words.)
- Conflict: the same trigger with a different action.

Every function takes strategies as objects or mappings with when and do, or as the
StrategyWords that `strategy_words` reads them into once (comparing one candidate with many
strategies then splits each text only once).
"""

from functools import lru_cache
from typing import NamedTuple

from practice.coach.text import content_words, words

DUPLICATE_THRESHOLD = 0.6
SAME_TRIGGER_THRESHOLD = 0.8
SAME_ACTION_THRESHOLD = 0.5
WHEN_WEIGHT = 0.5
DO_WEIGHT = 0.5
# An action is negated when it opens with one of these ("never call", "do not call",
# "don't call", "avoid calling"); a contrast later on ("..., not #W9999999") does not count.
NEGATED_OPENINGS = frozenset({"never", "not", "don", "dont", "avoid", "refrain", "stop"})
# Texts whose words are kept (by their text, so a kept entry is never stale).
WORDS_CACHE_SIZE = 8192


class StrategyWords(NamedTuple):
    """A strategy as the comparisons read it: the content words of its when and its do, and
    whether its action is negated."""

    when: frozenset
    do: frozenset
    negated: bool


def strategy_words(strategy):
    """The strategy (an object or mapping with when and do) read into StrategyWords."""
    if isinstance(strategy, StrategyWords):
        return strategy
    do = _text(strategy, "do")
    return StrategyWords(_content_words(_text(strategy, "when")), _content_words(do), _negated(do))


def jaccard(first, second):
    """|A ∩ B| / |A ∪ B| of two word sets; 1.0 when both are empty."""
    if not first and not second:
        return 1.0
    return len(first & second) / len(first | second)


def when_similarity(first, second):
    """How alike the triggers (when) of two strategies are, in [0, 1]."""
    return jaccard(strategy_words(first).when, strategy_words(second).when)


def do_similarity(first, second):
    """How alike the actions (do) of two strategies are, in [0, 1]."""
    return jaccard(strategy_words(first).do, strategy_words(second).do)


def similarity(first, second):
    """How alike two strategies are, in [0, 1]."""
    first, second = strategy_words(first), strategy_words(second)
    return WHEN_WEIGHT * when_similarity(first, second) + DO_WEIGHT * do_similarity(first, second)


def same_trigger(first, second):
    """True when the two strategies apply in the same situation."""
    return when_similarity(first, second) >= SAME_TRIGGER_THRESHOLD


def same_action(first, second):
    """True when the two strategies tell the agent to do the same thing."""
    first, second = strategy_words(first), strategy_words(second)
    return do_similarity(first, second) >= SAME_ACTION_THRESHOLD and first.negated == second.negated


def is_duplicate(first, second):
    """True when the second strategy only repeats the first."""
    first, second = strategy_words(first), strategy_words(second)
    return similarity(first, second) >= DUPLICATE_THRESHOLD and same_action(first, second)


def is_conflict(first, second):
    """True when the two strategies apply in the same situation but prescribe different actions."""
    first, second = strategy_words(first), strategy_words(second)
    return same_trigger(first, second) and not same_action(first, second)


@lru_cache(maxsize=WORDS_CACHE_SIZE)
def _content_words(text):
    return frozenset(content_words(text))


@lru_cache(maxsize=WORDS_CACHE_SIZE)
def _negated(do):
    action = [word for word in words(do) if word not in ("always", "do")]
    return bool(action) and action[0] in NEGATED_OPENINGS


def _text(strategy, name):
    value = strategy.get(name) if isinstance(strategy, dict) else getattr(strategy, name, "")
    return str(value or "")
