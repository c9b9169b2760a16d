"""Putting the trace-diff coach's findings into words: short quotes of the task, values and
calls as text."""

import json
import re

from practice.coach.alignment import MISSING, action_arguments, action_name
from practice.coach.text import content_words, in_words

QUOTE_WORDS = 16
SHOWN_CHARACTERS = 160

_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])\s+|\s*\n+\s*")
_CLAUSE_BREAK = re.compile(r",\s+|\s+(?:and|but|so|then)\s+")


# --- quoting the task --------------------------------------------------------------------


def _clauses(task_input):
    """The task's sentences; a long sentence is cut into its clauses."""
    for sentence in _SENTENCE_BREAK.split(task_input or ""):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence.split()) <= QUOTE_WORDS:
            yield sentence
        else:
            yield from (
                clause.strip() for clause in _CLAUSE_BREAK.split(sentence) if clause.strip()
            )


def quote_mentioning(task_input, value):
    """The first clause of the task that mentions the value, or ""."""
    for clause in _clauses(task_input):
        if mentions(clause, value):
            return _as_quote(clause)
    return ""


def quote_about(task_input, *subjects):
    """The clause of the task sharing the most words with the subjects (tool names, argument
    names, expected text), or "" when none shares any."""
    wanted = set()
    for subject in subjects:
        wanted |= content_words(in_words(subject))
    best, best_overlap = "", 0
    for clause in _clauses(task_input):
        overlap = len(wanted & content_words(clause))
        if overlap > best_overlap:
            best, best_overlap = clause, overlap
    return _as_quote(best) if best else ""


def _as_quote(clause):
    words = clause.split()
    if len(words) > QUOTE_WORDS:
        clause = " ".join(words[:QUOTE_WORDS]) + " ..."
    return clause.rstrip(".,;:!? ").replace('"', "'")


def mentions(text, value):
    """True when the text names the value (every element, for a list)."""
    if isinstance(value, list):
        return bool(value) and all(mentions(text, item) for item in value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    needle = str(value).strip().casefold()
    if len(needle) < 2 or not text:
        return False
    haystack = text.casefold()
    candidates = [needle, needle[1:]] if needle.startswith("#") and len(needle) > 2 else [needle]
    return any(
        re.search(rf"(?<![\w]){re.escape(candidate)}(?![\w])", haystack) for candidate in candidates
    )


# --- showing values ----------------------------------------------------------------------


def shown(value):
    """A value as the coach writes it: strings bare, anything else as JSON."""
    if value is MISSING:
        return "(not given)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def arguments_text(arguments):
    """Arguments as key=value, key=value."""
    return ", ".join(f"{key}={shown(value)}" for key, value in arguments.items())


def call_text(action):
    """A call as tool(key=value, ...)."""
    arguments = action_arguments(action)
    name = action_name(action)
    return shorten(f"{name}({arguments_text(arguments)})" if arguments else name, 300)


def shorten(text, limit=SHOWN_CHARACTERS):
    """The text on one line, cut to the limit."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def score_text(view):
    """The attempt's score, short: 0, 0.5, 1."""
    return f"{view.score:g}"


def sentence_start(text):
    return text[:1].upper() + text[1:]


def noun(argument):
    """What an argument names: order_id -> order, item_ids -> items."""
    words = in_words(argument).split()
    if len(words) > 1 and words[-1].casefold() in ("id", "ids"):
        return " ".join(words[:-1]) + ("s" if words[-1].casefold() == "ids" else "")
    return " ".join(words)
