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

from django.db import connection

from practice import caches
from practice.models import (
    MemoryRelease,
    MemoryReleaseEntry,
    Strategy,
    StrategyVersion,
)
from practice.services.agents import boundary_keys
from practice.services.errors import PracticeError
from practice.services.strategies import current_release
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


class PullRefused(PracticeError):
    """Why a pull cannot be answered."""


class UnknownSkill(PullRefused):
    pass


class OutsideBoundaries(PullRefused):
    pass


class UnknownRelease(PullRefused):
    pass


def select(agent, skill_key, *, context="", limit=10, release_number=None):
    """The approved strategies an agent may use for a skill, from the current release or the
    pinned one, ranked for the context."""
    if skill_key not in _skill_keys():
        raise UnknownSkill(f"Unknown skill {skill_key}.")
    roots = boundary_keys(agent)

    def allowed(key):
        return any(key == root or key.startswith(f"{root}.") for root in roots)

    if not allowed(skill_key):
        raise OutsideBoundaries(f"Skill {skill_key} is outside this agent's boundaries.")
    if release_number is not None:
        release = MemoryRelease.objects.filter(number=release_number).first()
        if release is None:
            raise UnknownRelease(f"There is no release {release_number}.")
    else:
        release = pulled_release()
    if release is None:
        return Selection(skill_key, None, [])
    indexed = candidates(release, skill_key, allowed)
    counters = caches.counters.get(release.pk, lambda: _release_counters(release.pk))
    return Selection(skill_key, release, rank(indexed, context, limit, counters))


def pull_etag(agent, *, pinned_release, query):
    """A tag for what a pull with this query would answer, computed from the release pointer
    and the agent's boundaries only: answering If-None-Match never reads the strategy tables.
    The counters a pull shows may then lag until the next release."""
    if pinned_release:
        release_tag = f"pinned:{pinned_release}"
    else:
        release = pulled_release()
        release_tag = f"{release.number}:{release.content_hash}" if release else "none"
    boundaries = ",".join(sorted(boundary_keys(agent)))
    return hashlib.sha256(f"{release_tag}|{boundaries}|{query}".encode()).hexdigest()[:32]


def pulled_release():
    """The release agents pull now, or None before the first: a per-process copy of
    strategies.current_release (practice.caches)."""
    return caches.releases.get("current", current_release)


def _skill_keys():
    return caches.skills.get("all", lambda: frozenset(Skill.objects.values_list("key", flat=True)))


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


@dataclass(frozen=True)
class Candidates:
    """The entries a pull ranks, indexed for BM25: for each term, the positions of the entries
    that hold it with the term's length-normalized weight in each (the part of BM25 that does
    not depend on the query)."""

    entries: tuple
    postings: dict

    @classmethod
    def of(cls, entries):
        average = (sum(entry.length for entry in entries) / len(entries) if entries else 0) or 1
        postings = {}
        for position, entry in enumerate(entries):
            shrink = BM25_K1 * (1 - BM25_B + BM25_B * entry.length / average)
            for term, occurrences in entry.terms.items():
                weight = occurrences * (BM25_K1 + 1) / (occurrences + shrink)
                postings.setdefault(term, []).append((position, weight))
        return cls(tuple(entries), postings)


def candidates(release, skill_key, allowed):
    """Entries for the skill, its descendants and those of its ancestors that `allowed(key)`
    accepts (the skill's own subtree is inside the boundaries when the skill is)."""
    if not allowed(skill_key):  # only the simulation asks; pulls refuse such a skill first
        prefix = f"{skill_key}."
        return Candidates.of(
            [
                entry
                for key, entries in release_entries(release).items()
                if (key == skill_key or key.startswith(prefix) or skill_key.startswith(f"{key}."))
                and allowed(key)
                for entry in entries
            ]
        )
    parts = skill_key.split(".")
    ancestors = tuple(
        key for key in (".".join(parts[:n]) for n in range(1, len(parts))) if allowed(key)
    )
    # Releases never change, so the index of each (release, skill, ancestors) is kept.
    return _candidates(release.pk, release.created_at, skill_key, ancestors)


@lru_cache(maxsize=4096)
def _candidates(release_id, created_at, skill_key, ancestors):
    grouped = _release_entries(release_id, created_at)
    prefix = f"{skill_key}."
    chosen = list(grouped.get(skill_key, ()))
    for key, entries in grouped.items():
        if key.startswith(prefix):
            chosen.extend(entries)
    for key in ancestors:
        chosen.extend(grouped.get(key, ()))
    return Candidates.of(chosen)


def candidate_entries(release, skill_key, allowed):
    """The entries of `candidates` as a list."""
    return list(candidates(release, skill_key, allowed).entries)


def rank(entries, context, limit, counters=None):
    """Order entries (a list or Candidates) by relevance to the context, then by effectiveness
    (from `counters`: helpful, harmful and use counts by strategy id, read here when not
    given); keep `limit`."""
    indexed = entries if isinstance(entries, Candidates) else Candidates.of(entries)
    entries = indexed.entries
    if counters is None:
        counters = _counters([entry.strategy_id for entry in entries])
    relevance = _bm25(indexed, words(context or ""))
    counts = [counters.get(entry.strategy_id, (0, 0, 0)) for entry in entries]
    effectiveness = [(helpful + 1) / (helpful + harmful + 2) for helpful, harmful, _ in counts]
    order = sorted(
        range(len(entries)),
        key=lambda at: (-relevance[at], -effectiveness[at], entries[at].strategy_id),
    )
    return [
        RankedStrategy(
            entry=entries[at],
            relevance=relevance[at],
            effectiveness=effectiveness[at],
            helpful=counts[at][0],
            harmful=counts[at][1],
            uses=counts[at][2],
        )
        for at in order[:limit]
    ]


def _counters(strategy_ids):
    """Live helpful / harmful / use counts by strategy id: one plain query, as a pull is the
    API's busiest request and the ORM's query building would cost more than the query."""
    if not strategy_ids:
        return {}
    table = connection.ops.quote_name(Strategy._meta.db_table)
    placeholders = ",".join(["%s"] * len(strategy_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, helpful_count, harmful_count, use_count FROM {table} "
            f"WHERE id IN ({placeholders})",
            strategy_ids,
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _release_counters(release_id):
    """The counters of every strategy in a release, in one query: a process reads them once
    per ETUDE_API_CACHE_SECONDS rather than once per pull."""
    strategy = connection.ops.quote_name(Strategy._meta.db_table)
    version = connection.ops.quote_name(StrategyVersion._meta.db_table)
    entry = connection.ops.quote_name(MemoryReleaseEntry._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, helpful_count, harmful_count, use_count FROM {strategy} WHERE id IN "
            f"(SELECT v.strategy_id FROM {version} v JOIN {entry} e "
            f"ON e.strategy_version_id = v.id WHERE e.release_id = %s)",
            [release_id],
        )
        return {row[0]: row[1:] for row in cursor.fetchall()}


def _bm25(indexed, query):
    count = len(indexed.entries)
    scores = [0.0] * count
    if not query or not count:
        return scores
    for term in set(query):
        postings = indexed.postings.get(term)
        if not postings:
            continue
        frequency = len(postings)
        idf = math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
        for position, weight in postings:
            scores[position] += idf * weight
    return [round(score, 6) if score else 0.0 for score in scores]


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
