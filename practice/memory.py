"""Reading practice memory: the approved strategies of a release, ranked for a task.

Ranking: candidates are the release's strategies for the asked skill, its descendants and its
ancestors. They are ordered by BM25 relevance of the task context to each strategy's
"when" and "do" text (words lower-cased, stop words dropped, plural/-ed/-ing endings folded),
then by effectiveness: the Laplace-smoothed helpful share (helpful + 1) / (helpful + harmful + 2).
A release never changes, so its tokenized entries are cached per process.
"""

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from practice.models import (
    AgentBoundary,
    CurrentRelease,
    MemoryRelease,
    MemoryReleaseEntry,
    Strategy,
)
from practice.services.errors import PracticeError
from taxonomy.models import Skill

WORD = re.compile(r"[a-z0-9#]+")
STOP_WORDS = frozenset(
    "a an and are as at be by for from has have if in into is it its of on or so that the their "
    "then this to was were when which while will with do does did not no you your they them".split()
)
BM25_K1 = 1.2
BM25_B = 0.75


def words(text):
    """Normalized content words of a text, for matching a context to strategies."""
    return [_stem(word) for word in WORD.findall(text.lower()) if word not in STOP_WORDS]


def _stem(word):
    for ending in ("ing", "ed", "es", "s"):
        if len(word) > len(ending) + 2 and word.endswith(ending):
            return word[: -len(ending)]
    return word


@dataclass(frozen=True)
class Entry:
    strategy_id: int
    version_id: int
    version: int
    skill_id: int
    skill_key: str
    when: str
    do: str
    because: str
    terms: Counter
    length: int


@dataclass(frozen=True)
class RankedStrategy:
    entry: Entry
    relevance: float
    effectiveness: float
    helpful: int
    harmful: int
    uses: int


@dataclass(frozen=True)
class Selection:
    """What a pull answers: the release it read (None before the first) and the strategies."""

    skill_key: str
    release: MemoryRelease | None
    strategies: list[RankedStrategy]


class UnknownSkill(PracticeError):
    pass


class OutsideBoundaries(PracticeError):
    pass


class UnknownRelease(PracticeError):
    pass


def select(agent, skill_key, *, context="", limit=10, release_number=None):
    """The approved strategies an agent may use for a skill, from the current release or the
    pinned one, ranked for the context."""
    if not Skill.objects.filter(key=skill_key).exists():
        raise UnknownSkill(f"Unknown skill {skill_key}.")
    roots = _boundary_keys(agent)

    def allowed(key):
        return any(key == root or key.startswith(f"{root}.") for root in roots)

    if not allowed(skill_key):
        raise OutsideBoundaries(f"Skill {skill_key} is outside this agent's boundaries.")
    if release_number is not None:
        release = MemoryRelease.objects.filter(number=release_number).first()
        if release is None:
            raise UnknownRelease(f"There is no release {release_number}.")
    else:
        pointer = CurrentRelease.objects.select_related("release").first()
        release = pointer.release if pointer else None
    if release is None:
        return Selection(skill_key, None, [])
    ranked = rank(candidate_entries(release, skill_key, allowed), context, limit)
    return Selection(skill_key, release, ranked)


def pull_etag(agent, *, pinned_release, query):
    """A tag for what a pull with this query would answer, computed from the release pointer
    and the agent's boundaries only: answering If-None-Match never reads the strategy tables.
    The counters a pull shows may then lag until the next release."""
    if pinned_release:
        release_tag = f"pinned:{pinned_release}"
    else:
        pointer = (
            CurrentRelease.objects.select_related("release")
            .only("release__number", "release__content_hash")
            .first()
        )
        release_tag = (
            f"{pointer.release.number}:{pointer.release.content_hash}" if pointer else "none"
        )
    boundaries = ",".join(sorted(_boundary_keys(agent)))
    return hashlib.sha256(f"{release_tag}|{boundaries}|{query}".encode()).hexdigest()[:32]


def _boundary_keys(agent):
    return list(AgentBoundary.objects.filter(agent=agent).values_list("skill__key", flat=True))


def release_entries(release):
    """All entries of a release, grouped by skill key (cached: releases are immutable)."""
    # The creation time joins the id in the key: on SQLite the id of a release whose
    # transaction rolled back is given to the next one, which must not get the old entries.
    return _release_entries(release.pk, release.created_at)


@lru_cache(maxsize=8)
def _release_entries(release_id, created_at):
    grouped = {}
    rows = MemoryReleaseEntry.objects.filter(release_id=release_id).values_list(
        "strategy_version__strategy_id",
        "strategy_version_id",
        "strategy_version__number",
        "skill_id",
        "skill__key",
        "strategy_version__when_text",
        "strategy_version__do_text",
        "strategy_version__because_text",
    )
    for strategy_id, version_id, number, skill_id, skill_key, when, do, because in rows:
        terms = Counter(words(f"{when} {do}"))
        grouped.setdefault(skill_key, []).append(
            Entry(
                strategy_id,
                version_id,
                number,
                skill_id,
                skill_key,
                when,
                do,
                because,
                terms,
                sum(terms.values()),
            )
        )
    return grouped


def candidate_entries(release, skill_key, allowed):
    """Entries for the skill, its descendants and ancestors, limited to `allowed(skill_key)`."""
    grouped = release_entries(release)
    parts = skill_key.split(".")
    ancestors = {".".join(parts[:n]) for n in range(1, len(parts))}
    prefix = f"{skill_key}."
    chosen = []
    for key, entries in grouped.items():
        if (key == skill_key or key.startswith(prefix) or key in ancestors) and allowed(key):
            chosen.extend(entries)
    return chosen


def rank(entries, context, limit):
    """Order entries by relevance to the context, then by effectiveness; keep `limit`."""
    counters = {
        row["id"]: row
        for row in Strategy.objects.filter(id__in=[entry.strategy_id for entry in entries]).values(
            "id", "helpful_count", "harmful_count", "use_count"
        )
    }
    relevance = _bm25(entries, words(context or ""))
    ranked = []
    for entry, score in zip(entries, relevance, strict=True):
        row = counters.get(entry.strategy_id, {})
        helpful, harmful = row.get("helpful_count", 0), row.get("harmful_count", 0)
        ranked.append(
            RankedStrategy(
                entry=entry,
                relevance=score,
                effectiveness=(helpful + 1) / (helpful + harmful + 2),
                helpful=helpful,
                harmful=harmful,
                uses=row.get("use_count", 0),
            )
        )
    ranked.sort(key=lambda item: (-item.relevance, -item.effectiveness, item.entry.strategy_id))
    return ranked[:limit]


def _bm25(entries, query):
    if not query or not entries:
        return [0.0] * len(entries)
    count = len(entries)
    average = sum(entry.length for entry in entries) / count or 1.0
    query_terms = set(query)
    frequency = {term: sum(1 for entry in entries if term in entry.terms) for term in query_terms}
    scores = []
    for entry in entries:
        score = 0.0
        for term in query_terms:
            occurrences = entry.terms.get(term, 0)
            if not occurrences:
                continue
            idf = math.log(1 + (count - frequency[term] + 0.5) / (frequency[term] + 0.5))
            norm = occurrences + BM25_K1 * (1 - BM25_B + BM25_B * entry.length / average)
            score += idf * occurrences * (BM25_K1 + 1) / norm
        scores.append(round(score, 6))
    return scores


def as_prompt(selection):
    """The selection as a Markdown block to place in a system prompt."""
    if selection.release is None:
        return f"## Practice memory for {selection.skill_key}\n\n_No memory release yet._\n"
    lines = [
        f"## Practice memory for {selection.skill_key} (release {selection.release.number})",
        "",
        "Approved strategies learned from earlier attempts. Apply the ones whose situation "
        "matches the task.",
        "",
    ]
    if not selection.strategies:
        lines.append("_No approved strategies for this skill yet._")
    for item in selection.strategies:
        entry = item.entry
        lines.append(
            f"- **When** {_clause(entry.when)}, **do** {_clause(entry.do)}, "
            f"**because** {_clause(entry.because)}. "
            f"_(strategy {entry.strategy_id} v{entry.version}, {entry.skill_key})_"
        )
    return "\n".join(lines) + "\n"


def _clause(text):
    text = text.strip().rstrip(".")
    for lead in ("when ", "do ", "because "):
        if text.lower().startswith(lead):
            text = text[len(lead) :]
    return text
