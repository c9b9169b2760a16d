"""Practice memory as files a team can keep under version control.

A release becomes a folder: `index.md`, and one Markdown file per strategy under
`strategies/<skill key>/strategy-<id>.md`, with YAML front matter (id, version, skill, status,
counters, evidence attempt ids) and the when / do / because as sections. The same release
always gives the same bytes: files and keys sorted, LF endings, no time but the release's own,
and counters as they stood when the release was published.

Reading a folder back gives parsed strategies; `import_strategies` proposes them for review.
Rendering and parsing are pure functions; `release_strategies`, `write_folder`, `read_folder`
and `import_strategies` do the reading and writing around them.
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction
from django.db.models import Count, Q

from practice.coach.quality import quality_problems
from practice.models import (
    MemoryReleaseEntry,
    Strategy,
    StrategyEvidence,
    StrategyFeedback,
    StrategyUse,
)
from practice.services.strategies import propose_strategy
from taxonomy.models import Skill

INDEX = "index.md"
STRATEGIES = "strategies"
INDEX_MARK = "<!-- Etude practice memory"
SECTIONS = (("when", "When"), ("do", "Do"), ("because", "Because"))
FRONT_MATTER_KEYS = {"id", "version", "skill", "status", "counters", "evidence_attempts"}
COUNTERS = ("harmful", "helpful", "support", "uses")


class MemoryFileError(ValueError):
    """A memory file or folder that cannot be read; the message names the file and the reason."""


@dataclass(frozen=True)
class StrategyFile:
    """One strategy of a release, as it is written to its file."""

    id: int
    version: int
    skill: str
    status: str
    counters: dict
    evidence_attempts: list
    when: str
    do: str
    because: str

    @property
    def path(self):
        return f"{STRATEGIES}/{self.skill}/strategy-{self.id}.md"


@dataclass(frozen=True)
class ParsedStrategy:
    """A strategy read from a file: what an import proposes."""

    path: str
    skill: str
    when: str
    do: str
    because: str
    source_id: int | None = None


# --- Rendering ---------------------------------------------------------------------------------------


def render_strategy(strategy):
    """The Markdown file of one strategy: YAML front matter, then the three sections."""
    front_matter = {
        "id": strategy.id,
        "version": strategy.version,
        "skill": strategy.skill,
        "status": strategy.status,
        "counters": dict(strategy.counters),
        "evidence_attempts": list(strategy.evidence_attempts),
    }
    parts = [
        "---\n",
        _yaml(front_matter),
        "---\n\n",
        f"# Strategy {strategy.id}, version {strategy.version}\n",
    ]
    for name, heading in SECTIONS:
        parts.append(f"\n## {heading}\n\n{_escape(_normalized(getattr(strategy, name)))}\n")
    return "".join(parts)


def render_index(release, strategies):
    """The folder's index.md: what the release is and a table of its strategies."""
    by = release.created_by.get_username() if release.created_by else "system"
    restored = f"release {release.restored_from.number}" if release.restored_from else "—"
    lines = [
        f"{INDEX_MARK}: release {release.number}. Written by `manage.py export_memory`;"
        " edit the strategy files, not this index. -->",
        f"# Practice memory, release {release.number}",
        "",
        f"- Published: {release.created_at.isoformat()}",
        f"- By: {by}",
        f"- Note: {_cell(release.note) or '—'}",
        f"- Restored from: {restored}",
        f"- Strategies: {len(strategies)}",
        "",
    ]
    if strategies:
        lines += ["| Strategy | Version | Skill | When |", "|---|---|---|---|"]
        lines += [
            f"| [#{item.id}]({item.path}) | {item.version} | `{item.skill}` | {_cell(item.when)} |"
            for item in strategies
        ]
        lines.append("")
    return "\n".join(lines)


def release_files(release, strategies):
    """{relative path: text} of a release's folder, in path order."""
    files = {item.path: render_strategy(item) for item in strategies}
    files[INDEX] = render_index(release, strategies)
    return dict(sorted(files.items()))


def _yaml(data):
    return yaml.safe_dump(
        data,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
        line_break="\n",
    )


def _normalized(text):
    """LF line ends, no trailing spaces, no blank lines around: what the file holds."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


# A line of strategy text that starts like a Markdown heading gets one more backslash, so it
# never reads as one of the file's own sections; parsing takes one away.
def _escape(text):
    return re.sub(r"^(\\*#)", r"\\\1", text, flags=re.MULTILINE)


def _unescape(text):
    return re.sub(r"^\\(\\*#)", r"\1", text, flags=re.MULTILINE)


def _cell(text):
    flat = " ".join(_normalized(text).split())
    flat = flat if len(flat) <= 100 else flat[:99] + "…"
    return flat.replace("|", "\\|")


# --- Parsing -----------------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\n(.*?)^---\n", re.DOTALL | re.MULTILINE)
_HEADING = re.compile(r"^## (When|Do|Because)[ \t]*$", re.MULTILINE)


def parse_strategy(text, path="strategy.md"):
    """A ParsedStrategy from a strategy file's text; MemoryFileError says what is wrong."""
    text = text.replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise MemoryFileError(
            f"{path}: it does not start with YAML front matter between --- lines."
        )
    meta = _front_matter(match.group(1), path)
    body = text[match.end() :]
    headings = list(_HEADING.finditer(body))
    found = [heading.group(1) for heading in headings]
    if found != [heading for _, heading in SECTIONS]:
        raise MemoryFileError(
            f"{path}: the body needs the sections ## When, ## Do and ## Because, once each and "
            f"in that order (found: {', '.join(found) or 'none'})."
        )
    texts = {}
    for (name, heading), start, end in zip(SECTIONS, headings, [*headings[1:], None], strict=True):
        section = body[start.end() : end.start() if end else len(body)]
        texts[name] = _unescape(_normalized(section))
        if not texts[name]:
            raise MemoryFileError(f"{path}: the section ## {heading} is empty.")
    return ParsedStrategy(path=path, skill=meta["skill"], source_id=meta.get("id"), **texts)


def _front_matter(source, path):
    try:
        meta = yaml.safe_load(source)
    except yaml.YAMLError as error:
        raise MemoryFileError(f"{path}: the front matter is not valid YAML ({error}).") from None
    if not isinstance(meta, dict):
        raise MemoryFileError(f"{path}: the front matter must be a mapping of keys to values.")
    unknown = sorted(set(map(str, meta)) - FRONT_MATTER_KEYS)
    if unknown:
        raise MemoryFileError(
            f"{path}: unknown front matter key {', '.join(unknown)} "
            f"(known: {', '.join(sorted(FRONT_MATTER_KEYS))})."
        )
    if not isinstance(meta.get("skill"), str) or not meta["skill"].strip():
        raise MemoryFileError(f"{path}: the front matter needs skill: <skill key>.")
    meta["skill"] = meta["skill"].strip()
    for name in ("id", "version"):
        if name in meta and not _whole_number(meta[name]):
            raise MemoryFileError(f"{path}: {name} must be a whole number.")
    counters = meta.get("counters", {})
    if not isinstance(counters, dict) or not all(map(_whole_number, counters.values())):
        raise MemoryFileError(f"{path}: counters must map names to whole numbers.")
    evidence = meta.get("evidence_attempts", [])
    if not isinstance(evidence, list) or not all(map(_whole_number, evidence)):
        raise MemoryFileError(f"{path}: evidence_attempts must be a list of attempt ids.")
    return meta


def _whole_number(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --- Reading a release --------------------------------------------------------------------------------


def release_strategies(release):
    """The strategies of `release` as StrategyFile, sorted by skill and id, with the counters
    and evidence as they stood when the release was published."""
    entries = list(
        MemoryReleaseEntry.objects.filter(release=release).select_related(
            "strategy_version__strategy__skill"
        )
    )
    ids = [entry.strategy_version.strategy_id for entry in entries]
    published = release.created_at
    feedback = Counter(
        {
            (row["strategy_id"], row["verdict"]): row["total"]
            for row in StrategyFeedback.objects.filter(
                strategy_id__in=ids, created_at__lte=published
            )
            .values("strategy_id", "verdict")
            .annotate(total=Count("id"))
        }
    )
    uses = dict(
        StrategyUse.objects.filter(
            strategy_version__strategy_id__in=ids, attempt__created_at__lte=published
        )
        .order_by()
        .values_list("strategy_version__strategy_id")
        .annotate(total=Count("id"))
    )
    evidence = {}
    for strategy_id, attempt_id in (
        StrategyEvidence.objects.filter(strategy_id__in=ids, created_at__lte=published)
        .order_by("strategy_id", "attempt_id")
        .values_list("strategy_id", "attempt_id")
    ):
        evidence.setdefault(strategy_id, []).append(attempt_id)
    files = []
    for entry in entries:
        version = entry.strategy_version
        strategy_id = version.strategy_id
        files.append(
            StrategyFile(
                id=strategy_id,
                version=version.number,
                skill=version.strategy.skill.key,
                status=Strategy.Status.LIVE.value,  # a release holds live strategies only
                counters={
                    "harmful": feedback[(strategy_id, StrategyFeedback.Verdict.HARMFUL.value)],
                    "helpful": feedback[(strategy_id, StrategyFeedback.Verdict.HELPFUL.value)],
                    "support": len(evidence.get(strategy_id, [])),
                    "uses": uses.get(strategy_id, 0),
                },
                evidence_attempts=evidence.get(strategy_id, []),
                when=version.when_text,
                do=version.do_text,
                because=version.because_text,
            )
        )
    return sorted(files, key=lambda item: (item.skill, item.id))


# --- Folders -------------------------------------------------------------------------------------------


def write_folder(directory, files):
    """Write {relative path: text} into `directory`, replacing an earlier export's files.

    Refuses a folder that holds other things and no earlier export, so nothing unrelated is
    removed; files beside index.md and strategies/ (a README, .git) are left alone.
    """
    directory = Path(directory)
    index = directory / INDEX
    if directory.exists() and any(directory.iterdir()):
        if not index.is_file() or not index.read_text(encoding="utf-8").startswith(INDEX_MARK):
            raise MemoryFileError(
                f"{directory}: the folder is not empty and holds no earlier memory export; "
                "choose an empty folder."
            )
        for old in sorted((directory / STRATEGIES).rglob("*.md"), reverse=True):
            old.unlink()
        for folder in sorted((directory / STRATEGIES).glob("**/"), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text.encode("utf-8"))
    return directory


def read_folder(directory):
    """Every strategy file under `directory`/strategies, parsed; all problems at once.

    Raises MemoryFileError listing every file that cannot be read and why.
    """
    root = Path(directory)
    if not (root / STRATEGIES).is_dir():
        raise MemoryFileError(f"{root}: there is no {STRATEGIES}/ folder of strategy files.")
    paths = sorted((root / STRATEGIES).rglob("*.md"))
    if not paths:
        raise MemoryFileError(f"{root}: {STRATEGIES}/ holds no .md strategy files.")
    parsed, problems = [], []
    for path in paths:
        relative = path.relative_to(root).as_posix()
        try:
            parsed.append(parse_strategy(path.read_text(encoding="utf-8"), relative))
        except UnicodeDecodeError:
            problems.append(f"{relative}: not UTF-8 text.")
        except MemoryFileError as error:
            problems.append(str(error))
    if problems:
        raise MemoryFileError("\n".join(problems))
    return parsed


# --- Importing -----------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    proposed: list = field(default_factory=list)  # (path, strategy)
    filtered: list = field(default_factory=list)  # (path, strategy, problems)
    skipped: list = field(default_factory=list)  # (path, why)


def import_strategies(parsed, *, actor=None):
    """Propose each parsed strategy for review, as written by a person; all or nothing.

    A strategy identical (when, do, because) to a proposed or live one of its skill, or to one
    earlier in the folder, is skipped. One failing the quality gate is kept as filtered, with
    the reasons, and never reaches the queue. An unknown or inactive skill refuses the import.
    """
    skills = {skill.key: skill for skill in Skill.objects.filter(key__in={s.skill for s in parsed})}
    problems = [
        f"{item.path}: the skill {item.skill} does not exist."
        if item.skill not in skills
        else f"{item.path}: the skill {item.skill} is inactive."
        for item in parsed
        if item.skill not in skills or not skills[item.skill].active
    ]
    if problems:
        raise MemoryFileError("\n".join(problems))
    report = ImportReport()
    with transaction.atomic():
        known = _existing_texts(skills.values())
        for item in parsed:
            key = (
                item.skill,
                _normalized(item.when),
                _normalized(item.do),
                _normalized(item.because),
            )
            if key in known:
                report.skipped.append((item.path, known[key]))
                continue
            problems = quality_problems({"when": item.when, "do": item.do, "because": item.because})
            strategy = propose_strategy(
                skill=skills[item.skill],
                when=item.when,
                do=item.do,
                because=item.because,
                origin=Strategy.Origin.PERSON,
                actor=actor,
                filtered_reason="; ".join(problems),
            )
            if problems:
                report.filtered.append((item.path, strategy, problems))
            else:
                report.proposed.append((item.path, strategy))
            known[key] = f"the same as {item.path}, imported as strategy {strategy.pk}"
    return report


def _existing_texts(skills):
    """(skill key, when, do, because) of the proposed and live strategies -> why it is known."""
    strategies = Strategy.objects.filter(
        Q(status=Strategy.Status.PROPOSED) | Q(status=Strategy.Status.LIVE),
        skill__in=list(skills),
    ).select_related("skill", "current_version")
    known = {}
    for strategy in strategies:
        version = strategy.current_version
        if version is None:
            continue
        key = (
            strategy.skill.key,
            _normalized(version.when_text),
            _normalized(version.do_text),
            _normalized(version.because_text),
        )
        known.setdefault(key, f"the same as {strategy.status} strategy {strategy.pk}")
    return known
