"""The taxonomy file format (YAML), parsed and checked whole before anything is written.

    version: 1
    skills:
      - key: intent                 # one key segment; the full key is the parent's key + "."
        name: Understanding intent
        kind: category              # category | skill | failure_mode (default: skill)
        description: ...
        sensitive: false            # optional
        mastery_threshold: 0.8      # optional, strictly between 0 and 1
        active: true                # optional
        children:
          - key: ambiguity
            name: Resolving ambiguous requests

Every problem is reported with the line it is on.
"""

import re

import yaml

from taxonomy.models import Skill

SEGMENT = re.compile(r"^[a-z][a-z0-9_]*$")
SKILL_FIELDS = {
    "key",
    "name",
    "description",
    "kind",
    "sensitive",
    "mastery_threshold",
    "active",
    "children",
}
SUPPORTED_VERSIONS = {1}
MAX_KEY_LENGTH = Skill._meta.get_field("key").max_length
MERGE_TAG = "tag:yaml.org,2002:merge"


class TaxonomyFileError(Exception):
    """The file is refused; `problems` lists (line, reason) pairs, lines counted from 1."""

    def __init__(self, problems):
        self.problems = sorted(problems, key=lambda problem: (problem[0] or 0, problem[1]))
        super().__init__(
            "\n".join(
                f"line {line}: {reason}" if line else reason for line, reason in self.problems
            )
        )


class _LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping, so problems can name it."""

    def construct_mapping(self, node, deep=False):
        # PyYAML silently keeps the last of two equal keys; a repeated field is a mistake.
        seen = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == MERGE_TAG:
                continue
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"field '{key_node.value}' appears twice", key_node.start_mark
                )
            seen.add(key_node.value)
        mapping = super().construct_mapping(node, deep=deep)
        mapping["__line__"] = node.start_mark.line + 1
        mapping["__lines__"] = {
            key_node.value: key_node.start_mark.line + 1 for key_node, _ in node.value
        }
        return mapping


def parse_taxonomy(text):
    """Parse and check a taxonomy file; return skill definitions, each parent before children."""
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise TaxonomyFileError([(line, f"not valid YAML: {error.problem}")]) from None
    except yaml.YAMLError as error:
        raise TaxonomyFileError([(None, f"not valid YAML: {error}")]) from None

    problems = []
    if not isinstance(document, dict):
        raise TaxonomyFileError([(1, "the file must be a mapping with 'version' and 'skills'")])
    unknown = set(document) - {"version", "skills", "__line__", "__lines__"}
    for name in sorted(unknown):
        problems.append((document["__lines__"].get(name), f"unknown top-level field '{name}'"))
    version = document.get("version")
    # `true` and `1.0` compare equal to 1; only the integer is a version.
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        problems.append(
            (
                document["__lines__"].get("version", 1),
                f"'version' must be one of {sorted(SUPPORTED_VERSIONS)}",
            )
        )
    skills = document.get("skills")
    if not isinstance(skills, list) or not skills:
        problems.append(
            (document["__lines__"].get("skills", 1), "'skills' must be a non-empty list")
        )
        raise TaxonomyFileError(problems)

    definitions = []
    seen = {}
    _walk(skills, None, document["__lines__"].get("skills"), definitions, seen, problems)
    if problems:
        raise TaxonomyFileError(problems)
    return definitions


def _walk(entries, parent_key, list_line, definitions, seen, problems):
    for entry in entries:
        if not isinstance(entry, dict):
            problems.append((list_line, "each skill must be a mapping with at least key and name"))
            continue
        line = entry["__line__"]
        lines = entry["__lines__"]
        for name in sorted(set(lines) - SKILL_FIELDS):
            problems.append((lines[name], f"unknown field '{name}'"))
        segment = entry.get("key")
        if not isinstance(segment, str) or not SEGMENT.match(segment):
            problems.append(
                (
                    lines.get("key", line),
                    f"key {segment!r} must be one lowercase word (letters, digits, underscores), "
                    "starting with a letter; children get their parent's key as prefix",
                )
            )
            continue
        key = f"{parent_key}.{segment}" if parent_key else segment
        if len(key) > MAX_KEY_LENGTH:
            problems.append(
                (
                    lines["key"],
                    f"{key[:40]}…: the full key is longer than {MAX_KEY_LENGTH} characters",
                )
            )
            continue
        if key in seen:
            problems.append((lines["key"], f"duplicate skill {key} (first on line {seen[key]})"))
            continue
        seen[key] = lines["key"]
        definition = _check_fields(entry, key, lines, line, problems)
        if definition is not None:
            definitions.append(definition)
        children = entry.get("children", [])
        if not isinstance(children, list):
            problems.append((lines.get("children", line), f"{key}: 'children' must be a list"))
            continue
        _walk(children, key, lines.get("children", line), definitions, seen, problems)


def _check_fields(entry, key, lines, line, problems):
    count = len(problems)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append((lines.get("name", line), f"{key}: 'name' is required text"))
    elif len(name) > 200:
        problems.append((lines["name"], f"{key}: 'name' is longer than 200 characters"))
    description = entry.get("description", "")
    if not isinstance(description, str):
        problems.append((lines.get("description", line), f"{key}: 'description' must be text"))
    kind = entry.get("kind", Skill.Kind.SKILL)
    if kind not in Skill.Kind.values:
        problems.append(
            (lines.get("kind", line), f"{key}: kind must be one of {', '.join(Skill.Kind.values)}")
        )
    for flag in ("sensitive", "active"):
        if flag in entry and not isinstance(entry[flag], bool):
            problems.append((lines[flag], f"{key}: '{flag}' must be true or false"))
    threshold = entry.get("mastery_threshold", 0.8)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not (0 < threshold < 1)
    ):
        problems.append(
            (
                lines.get("mastery_threshold", line),
                f"{key}: mastery_threshold must be a number strictly between 0 and 1",
            )
        )
    if len(problems) != count:
        return None
    return {
        "key": key,
        "line": line,
        "name": name.strip(),
        "description": description.strip(),
        "kind": kind,
        "sensitive": entry.get("sensitive", False),
        "mastery_threshold": float(threshold),
        "active": entry.get("active", True),
        # Fields the file states; an existing skill is only updated in these, so reloading a
        # file never undoes, say, an operator's deactivation the file does not mention.
        "stated": frozenset(
            {"name", "description", "kind", "sensitive", "mastery_threshold", "active"} & set(entry)
        )
        | {"name", "description", "kind"},
    }
