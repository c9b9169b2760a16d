"""Loading a taxonomy file: idempotent, audited, and all or nothing with the line of each problem."""

from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

import taxonomy
from oversight.models import AuditEvent
from taxonomy.models import Skill
from taxonomy.services import TaxonomyError, load_taxonomy
from taxonomy.taxonomy_file import TaxonomyFileError, parse_taxonomy

pytestmark = pytest.mark.django_db

DEMO_FILE = Path(taxonomy.__file__).resolve().parent / "fixtures" / "demo_taxonomy.yaml"

SMALL = """\
version: 1
skills:
  - key: support
    name: Support
    kind: category
    children:
      - key: intent
        name: Understanding intent
        description: Works out what the customer needs.
        sensitive: true
        mastery_threshold: 0.7
        children:
          - key: guessed
            name: Acting on a guess
            kind: failure_mode
"""
SMALL_KEYS = ["support", "support.intent", "support.intent.guessed"]


def load_text(text):
    return load_taxonomy(parse_taxonomy(text))


def skill_rows():
    return list(Skill.objects.order_by("key").values())


def run_command(path):
    out = StringIO()
    call_command("load_taxonomy", str(path), stdout=out)
    return out.getvalue()


def count_nodes(entries):
    return sum(1 + count_nodes(entry.get("children", [])) for entry in entries)


def file_nodes(entries, parent=None):
    """Every skill of a parsed-by-hand YAML tree, as (full key, its mapping)."""
    for entry in entries:
        key = f"{parent}.{entry['key']}" if parent else entry["key"]
        yield key, entry
        yield from file_nodes(entry.get("children", []), key)


# --- Idempotence and updates -----------------------------------------------------------------------


def test_first_load_creates_every_skill_with_one_audit_event_each():
    report = load_text(SMALL)

    assert report.created == SMALL_KEYS
    assert (report.updated, report.unchanged) == ([], [])
    intent = Skill.objects.get(key="support.intent")
    assert intent.parent.key == "support"
    assert (intent.depth, intent.sensitive, intent.mastery_threshold) == (1, True, 0.7)
    assert Skill.objects.get(key="support.intent.guessed").kind == Skill.Kind.FAILURE_MODE
    events = AuditEvent.objects.filter(action="skill.created")
    assert sorted(events.values_list("object_id", flat=True)) == SMALL_KEYS
    assert AuditEvent.objects.count() == 3


def test_second_load_changes_nothing_and_writes_no_audit_event():
    load_text(SMALL)
    rows = skill_rows()
    events = AuditEvent.objects.count()

    report = load_text(SMALL)

    assert (report.created, report.updated) == ([], [])
    assert report.unchanged == SMALL_KEYS
    assert not report.changed
    assert skill_rows() == rows  # same ids, same fields, same updated_at
    assert AuditEvent.objects.count() == events


def test_command_second_run_reports_nothing_created_or_updated(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(SMALL, encoding="utf-8")

    first = run_command(path)
    rows = skill_rows()
    events = AuditEvent.objects.count()
    second = run_command(path)

    assert "3 created, 0 updated, 0 unchanged" in first
    assert "0 created, 0 updated, 3 unchanged" in second
    assert skill_rows() == rows
    assert AuditEvent.objects.count() == events == 3


def test_changed_name_is_updated_with_one_audit_event():
    load_text(SMALL)
    events = AuditEvent.objects.count()
    untouched = Skill.objects.get(key="support.intent.guessed").updated_at

    report = load_text(SMALL.replace("name: Understanding intent", "name: Grasping intent"))

    assert report.updated == ["support.intent"]
    assert report.created == []
    assert Skill.objects.get(key="support.intent").name == "Grasping intent"
    assert Skill.objects.get(key="support.intent.guessed").updated_at == untouched
    assert AuditEvent.objects.count() == events + 1
    event = AuditEvent.objects.latest("sequence")
    assert (event.action, event.object_type, event.object_id) == (
        "skill.updated",
        "skill",
        "support.intent",
    )
    assert event.before["name"] == "Understanding intent"
    assert event.after["name"] == "Grasping intent"


def test_skills_absent_from_the_file_are_left_alone():
    load_text(SMALL)
    load_text(SMALL.replace("      - key: intent", "      - key: tone", 1))
    assert Skill.objects.filter(key__startswith="support.intent").count() == 2
    assert Skill.objects.filter(key="support.tone").exists()


def test_a_failing_later_definition_rolls_back_the_whole_load():
    definitions = parse_taxonomy(SMALL) + [
        {
            "key": "nowhere.orphan",
            "line": 99,
            "name": "Orphan",
            "description": "",
            "kind": Skill.Kind.SKILL,
            "sensitive": False,
            "mastery_threshold": 0.8,
            "active": True,
        }
    ]
    with pytest.raises(TaxonomyError, match="parent nowhere does not exist"):
        load_taxonomy(definitions)
    assert Skill.objects.count() == 0
    assert AuditEvent.objects.count() == 0


# --- The demo file ---------------------------------------------------------------------------------


def test_demo_file_loads_completely(tmp_path):
    tree = yaml.safe_load(DEMO_FILE.read_text(encoding="utf-8"))
    nodes = dict(file_nodes(tree["skills"]))
    assert len(nodes) == count_nodes(tree["skills"])
    assert 35 <= len(nodes) <= 45

    output = run_command(DEMO_FILE)

    assert f"{len(nodes)} created, 0 updated, 0 unchanged" in output
    assert Skill.objects.count() == len(nodes)
    assert AuditEvent.objects.filter(action="skill.created").count() == len(nodes)
    for skill in Skill.objects.select_related("parent"):
        entry = nodes[skill.key]
        expected_parent = skill.key.rsplit(".", 1)[0] if "." in skill.key else None
        assert (skill.parent.key if skill.parent else None) == expected_parent
        assert skill.depth == skill.key.count(".")
        assert skill.name == entry["name"]
        assert skill.kind == entry.get("kind", "skill")
        assert skill.sensitive is entry.get("sensitive", False)
        assert skill.mastery_threshold == entry.get("mastery_threshold", 0.8)


def test_demo_file_has_the_designed_shape():
    definitions = parse_taxonomy(DEMO_FILE.read_text(encoding="utf-8"))
    by_key = {definition["key"]: definition for definition in definitions}

    assert [d["key"] for d in definitions if "." not in d["key"]] == [
        "intent",
        "retrieval",
        "explaining",
        "tools",
        "policy",
        "escalation",
        "tone",
    ]
    for definition in definitions:
        expected = "category" if "." not in definition["key"] else definition["kind"]
        assert definition["kind"] == expected
        assert definition["description"], definition["key"]
    for category in [d["key"] for d in definitions if "." not in d["key"]]:
        skills = [
            d
            for d in definitions
            if d["key"].count(".") == 1 and d["key"].startswith(f"{category}.")
        ]
        assert 3 <= len(skills) <= 5, category
        assert all(skill["kind"] == Skill.Kind.SKILL for skill in skills)
    assert {"tools.orders", "tools.returns", "tools.account"} <= set(by_key)
    assert by_key["tools.orders.wrong_order_id"]["kind"] == Skill.Kind.FAILURE_MODE
    assert by_key["policy.refunds"]["sensitive"] is True
    assert len([d for d in definitions if d["mastery_threshold"] != 0.8]) >= 2


def test_demo_file_loaded_twice_is_unchanged():
    run_command(DEMO_FILE)
    rows = skill_rows()
    events = AuditEvent.objects.count()

    output = run_command(DEMO_FILE)

    assert f"0 created, 0 updated, {len(rows)} unchanged" in output
    assert skill_rows() == rows
    assert AuditEvent.objects.count() == events


# --- Malformed files -------------------------------------------------------------------------------

GOOD_HEAD = """\
version: 1
skills:
  - key: support
    name: Support
    kind: category
    children:
"""  # lines 1-6; the cases below start on line 7

MALFORMED = {
    "yaml syntax": (
        GOOD_HEAD + "      - key: intent\n        name: Intent\n       kind: skill\n",
        9,
        "not valid YAML",
    ),
    "tab indentation": (GOOD_HEAD + "      - key: intent\n\tname: Intent\n", 8, "not valid YAML"),
    "unknown field": (
        GOOD_HEAD + "      - key: intent\n        name: Intent\n        colour: blue\n",
        9,
        "unknown field 'colour'",
    ),
    "bad key segment": (
        GOOD_HEAD + "      - key: Intent-Finding\n        name: Intent\n",
        7,
        "must be one lowercase word",
    ),
    "dotted key segment": (
        GOOD_HEAD + "      - key: intent.ambiguity\n        name: Ambiguity\n",
        7,
        "must be one lowercase word",
    ),
    "duplicate skill key": (
        GOOD_HEAD
        + "      - key: intent\n        name: Intent\n      - key: intent\n        name: Again\n",
        9,
        "duplicate skill support.intent (first on line 7)",
    ),
    "duplicate field": (
        GOOD_HEAD + "      - key: intent\n        name: Intent\n        name: Again\n",
        9,
        "field 'name' appears twice",
    ),
    "mastery_threshold above 1": (
        GOOD_HEAD + "      - key: intent\n        name: Intent\n        mastery_threshold: 1.5\n",
        9,
        "mastery_threshold must be a number strictly between 0 and 1",
    ),
    "mastery_threshold of 0": (
        GOOD_HEAD + "      - key: intent\n        name: Intent\n        mastery_threshold: 0\n",
        9,
        "strictly between 0 and 1",
    ),
    "mastery_threshold as text": (
        GOOD_HEAD + "      - key: intent\n        name: Intent\n        mastery_threshold: high\n",
        9,
        "strictly between 0 and 1",
    ),
    "sensitive as text": (
        GOOD_HEAD + '      - key: intent\n        name: Intent\n        sensitive: "true"\n',
        9,
        "'sensitive' must be true or false",
    ),
    "unknown kind": (
        GOOD_HEAD + "      - key: intent\n        name: Intent\n        kind: area\n",
        9,
        "kind must be one of",
    ),
    "missing name": (
        GOOD_HEAD + "      - key: intent\n        description: No name here.\n",
        7,
        "support.intent: 'name' is required",
    ),
    "blank name": (
        GOOD_HEAD + '      - key: intent\n        name: "  "\n',
        8,
        "'name' is required",
    ),
    "children not a list": (
        GOOD_HEAD + "      - key: intent\n        name: Intent\n        children: none\n",
        9,
        "'children' must be a list",
    ),
    "full key too long": (
        GOOD_HEAD + f"      - key: {'a' * 120}\n        name: A\n        children:\n"
        f"          - key: {'b' * 120}\n            name: B\n",
        10,
        "longer than 200 characters",
    ),
    "empty skills list": ("version: 1\nskills: []\n", 2, "'skills' must be a non-empty list"),
    "wrong version": (
        "version: 2\nskills:\n  - key: support\n    name: Support\n",
        1,
        "'version' must be one of [1]",
    ),
    "version true": (
        "version: true\nskills:\n  - key: support\n    name: Support\n",
        1,
        "'version' must be one of [1]",
    ),
    "not a mapping": ("- key: support\n  name: Support\n", 1, "must be a mapping"),
    "unknown top-level field": (
        "version: 1\nskils: []\nskills:\n  - key: support\n    name: Support\n",
        2,
        "unknown top-level field 'skils'",
    ),
}

# Many good skills first, then one bad one deep down: the good part must not be written either.
GOOD_THEN_BAD = (
    GOOD_HEAD
    + "".join(
        f"      - key: skill{n}\n        name: Skill {n}\n        description: Fine.\n"
        for n in range(10)
    )
    + "      - key: last\n        name: Last\n        children:\n"
    + "          - key: broken\n            name: Broken\n            mastery_threshold: 2\n"
)
GOOD_THEN_BAD_LINE = 6 + 10 * 3 + 3 + 3
MALFORMED["good skills then a bad one"] = (
    GOOD_THEN_BAD,
    GOOD_THEN_BAD_LINE,
    "support.last.broken: mastery_threshold must be a number strictly between 0 and 1",
)


@pytest.mark.parametrize(("text", "line", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_file_is_refused_with_its_line_and_reason(text, line, reason):
    with pytest.raises(TaxonomyFileError) as refused:
        parse_taxonomy(text)

    assert any(
        problem_line == line and reason in problem_reason
        for problem_line, problem_reason in refused.value.problems
    ), refused.value.problems
    assert f"line {line}: " in str(refused.value)


@pytest.mark.parametrize(("text", "line", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_command_refuses_malformed_file_whole_and_writes_nothing(tmp_path, text, line, reason):
    load_text(SMALL)  # something already there, which a bad file must not touch either
    rows = skill_rows()
    events = AuditEvent.objects.count()
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(CommandError) as refused:
        run_command(path)

    message = str(refused.value)
    assert "nothing was written" in message
    assert f"{path}, line {line}: " in message
    assert reason in message
    assert skill_rows() == rows
    assert AuditEvent.objects.count() == events


def test_file_with_good_and_bad_parts_changes_no_existing_skill(tmp_path):
    load_text(SMALL)
    rows = skill_rows()
    events = AuditEvent.objects.count()
    text = SMALL.replace("name: Understanding intent", "name: Renamed") + (
        "  - key: tone\n    name: Tone\n    sensitive: maybe\n"
    )
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(CommandError, match="'sensitive' must be true or false"):
        run_command(path)

    assert skill_rows() == rows
    assert AuditEvent.objects.count() == events


def test_every_problem_is_reported_not_only_the_first():
    text = (
        GOOD_HEAD
        + "      - key: one\n        name: One\n        colour: red\n"
        + "      - key: Two\n        name: Two\n"
        + "      - key: three\n        mastery_threshold: 5\n"
    )
    with pytest.raises(TaxonomyFileError) as refused:
        parse_taxonomy(text)

    lines = [line for line, _ in refused.value.problems]
    assert 9 in lines  # unknown field
    assert 10 in lines  # bad key
    assert 12 in lines  # missing name (reported at the skill)
    assert 13 in lines  # threshold


def test_file_that_is_not_utf8_is_refused(tmp_path):
    load_text(SMALL)
    rows = skill_rows()
    events = AuditEvent.objects.count()
    path = tmp_path / "taxonomy.yaml"
    path.write_bytes("version: 1\nskills:\n  - key: cafe\n    name: Café\n".encode("latin-1"))

    with pytest.raises(CommandError, match="not UTF-8"):
        run_command(path)

    assert skill_rows() == rows
    assert AuditEvent.objects.count() == events


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run_command(tmp_path / "absent.yaml")
    assert Skill.objects.count() == 0


@pytest.mark.django_db
def test_reload_keeps_an_operator_deactivation_the_file_does_not_mention():
    from taxonomy import services as taxonomy_services
    from taxonomy.models import Skill as SkillModel
    from taxonomy.taxonomy_file import parse_taxonomy as parse

    text = "version: 1\nskills:\n  - key: tone\n    name: Tone\n    children:\n      - key: empathy\n        name: Empathy\n"
    taxonomy_services.load_taxonomy(parse(text))
    skill = SkillModel.objects.get(key="tone.empathy")
    taxonomy_services.set_skill_active(skill, False)
    report = taxonomy_services.load_taxonomy(parse(text))
    assert not report.changed
    assert not SkillModel.objects.get(key="tone.empathy").active
    stated = text.replace("name: Empathy\n", "name: Empathy\n        active: true\n")
    taxonomy_services.load_taxonomy(parse(stated))
    assert SkillModel.objects.get(key="tone.empathy").active
