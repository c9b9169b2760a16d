"""The quality gate a candidate strategy passes before it reaches a reviewer.

A candidate needs a concrete trigger (when), a concrete action (do) and a reason (because).
`quality_problems` lists every reason a candidate fails, so a filtered candidate can be kept
visible with them; an empty list means it passes.
"""

import re

from practice.coach.text import STOP_WORDS, words

TRIGGER_OPENINGS = ("when", "if", "before", "after")
MIN_TRIGGER_WORDS = 4
MIN_ACTION_WORDS = 3
MIN_REASON_WORDS = 4

# Advice that names no action; a "do" containing one of these is filtered.
VAGUE_PHRASES = (
    "be careful",
    "be more careful",
    "be extra careful",
    "try harder",
    "pay attention",
    "pay more attention",
    "double-check everything",
    "double check everything",
    "do better",
    "think carefully",
    "think harder",
    "be thorough",
    "be more thorough",
    "be accurate",
    "be more accurate",
    "avoid mistakes",
    "avoid errors",
    "make no mistakes",
    "use common sense",
    "use good judgment",
    "use good judgement",
    "do the right thing",
    "follow best practices",
)

# Words that fit any situation: a trigger made only of these names none.
GENERIC_TRIGGER_WORDS = frozenset(
    """always general generally usually often sometimes case cases time times situation
    situations task tasks thing things something anything everything possible necessary needed
    appropriate relevant applicable doubt unsure uncertain working doing handling user users
    customer customers agent ask asks asked request requests someone anyone""".split()
)

# Reasons that explain nothing.
GENERIC_REASONS = frozenset(
    {
        "it is better",
        "it is important",
        "it helps",
        "it works",
        "it works better",
        "it is good practice",
        "it is best practice",
        "that is the right way",
        "it is correct",
        "it is the right thing to do",
    }
)

# First words that show a "do" is not an instruction (pronouns, articles, modals, ...).
NOT_IMPERATIVE = frozenset(
    """i you he she it we they me him her us them my your his its our their the a an this that
    these those there here some any each every no none all both either neither one agent agents
    user users assistant model should would could can may might must shall will to is are was
    were been being has have had maybe perhaps possibly probably generally usually often
    sometimes because when if before after while since as so but and or""".split()
)

# Adverbs allowed before the verb: "always call ...", "never pass ...".
LEADING_ADVERBS = frozenset(
    "always never first then only immediately explicitly also still".split()
)


def quality_problems(candidate):
    """Every reason the candidate (an object or mapping with when / do / because) fails the
    gate; empty when it passes."""
    when = _text(candidate, "when")
    do = _text(candidate, "do")
    because = _text(candidate, "because")
    return [*_trigger_problems(when), *_action_problems(do), *_reason_problems(because)]


def _trigger_problems(when):
    when_words = words(when)
    if not when_words:
        return ["the trigger (when) is empty"]
    problems = []
    if when_words[0] not in TRIGGER_OPENINGS:
        problems.append('the trigger (when) must start with "when", "if", "before" or "after"')
    if len(when.split()) < MIN_TRIGGER_WORDS:
        problems.append(f"the trigger (when) has fewer than {MIN_TRIGGER_WORDS} words")
    concrete = [
        word
        for word in when_words[1:]
        if word not in STOP_WORDS and word not in GENERIC_TRIGGER_WORDS
    ]
    if not concrete:
        problems.append("the trigger (when) names no concrete situation")
    return problems


def _action_problems(do):
    do_words = do.split()
    if not do_words:
        return ["the action (do) is empty"]
    problems = []
    if len(do_words) < MIN_ACTION_WORDS:
        problems.append(f"the action (do) has fewer than {MIN_ACTION_WORDS} words")
    if not _starts_with_imperative(do):
        problems.append("the action (do) does not start with an imperative verb")
    phrase = vague_phrase_in(do)
    if phrase:
        problems.append(f'the action (do) is vague ("{phrase}")')
    return problems


def _reason_problems(because):
    if not because.strip():
        return ["the reason (because) is empty"]
    problems = []
    if len(because.split()) < MIN_REASON_WORDS:
        problems.append(f"the reason (because) has fewer than {MIN_REASON_WORDS} words")
    plain = " ".join(words(re.sub(r"^\s*because\s+", "", because, flags=re.IGNORECASE)))
    if plain in GENERIC_REASONS:
        problems.append(f'the reason (because) explains nothing ("{plain}")')
    return problems


def vague_phrase_in(text):
    """The first vague phrase the text contains, or ""."""
    plain = " " + " ".join(re.findall(r"[a-z0-9\-]+", text.casefold())) + " "
    for phrase in VAGUE_PHRASES:
        if f" {phrase} " in plain:
            return phrase
    return ""


def _starts_with_imperative(do):
    for word in re.findall(r"[a-z'\-]+", do.casefold()):
        if word in LEADING_ADVERBS:
            continue
        if word in NOT_IMPERATIVE:
            return False
        # Gerunds and past forms ("checking", "used") describe rather than instruct.
        if len(word) > 5 and word.endswith("ing"):
            return False
        return not (len(word) > 3 and word.endswith("ed") and not word.endswith("eed"))
    return False


def _text(candidate, name):
    value = candidate.get(name) if isinstance(candidate, dict) else getattr(candidate, name, "")
    return str(value or "").strip()
