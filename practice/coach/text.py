"""Word-level helpers the coach shares: tokens, stop words, a light stemmer, tool names in words."""

import re

_WORD = re.compile(r"[a-z0-9]+")

# Negations ("not", "no", "never") are kept on purpose: "call X" and "do not call X" must not
# look alike.
STOP_WORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from into onto as is are was
    were be been being it its this that these those there their they them you your he she his
    her we our us i me my do does did than too very can could should would will shall may might
    must just also any all each every some such own same other more most about over again once
    here when where which who whom what why how whenever before after while""".split()
)


def words(text):
    """The lowercase words of a text; underscores and punctuation separate words, so a tool
    name such as return_delivered_order_items gives return, delivered, order, items."""
    return _WORD.findall(text.casefold())


def stem(word):
    """Strip one of -ing, -ed, -s, then a final -e: returned, returning, returns -> return;
    name, named, names -> nam. Crude, but the same on both sides of a comparison."""
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed") and not word.endswith("eed"):
        word = word[:-2]
    elif len(word) > 2 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def content_words(text):
    """The stemmed words of a text that carry meaning (stop words removed), as a set."""
    return {stem(word) for word in words(text) if word not in STOP_WORDS}


def in_words(name):
    """A tool or argument name as plain words: "order_id" -> "order id"."""
    return " ".join(part for part in re.split(r"[_\-.\s]+", name.strip()) if part)
