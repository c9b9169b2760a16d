"""Scenario banks: replaying failed attempts, and loading scenario files (idempotent, refused
whole when anything is wrong)."""

from collections import Counter
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from practice.models import PracticeScenario
from practice.scenario_file import ScenarioFileError, parse_scenarios
from practice.services.scenarios import load_scenarios, replay_failed_attempt
from taxonomy.models import Skill
from taxonomy.services import load_taxonomy
from taxonomy.taxonomy_file import parse_taxonomy
from tests.factories import AgentFactory, AttemptFactory, SkillFactory

pytestmark = pytest.mark.django_db

EXPECTED = [
    {"name": "get_order_details", "arguments": {"order_id": "#W2378156"}},
    {
        "name": "return_delivered_order_items",
        "arguments": {
            "order_id": "#W2378156",
            "item_ids": ["7533802601"],
            "payment_method_id": "paypal_3024827",
        },
    },
]

BANK = """\
version: 1
scenarios:
  - key: orders-status
    skill: tools.orders
    difficulty: 0.2
    prompt: >-
      Hi, where is my order #W2378156?
    expected_actions:
      - name: get_order_details
        arguments: {order_id: "#W2378156"}
  - key: returns-two-items
    skill: tools.returns
    difficulty: 0.75
    prompt: Return both lamps from my last order.
"""


@pytest.fixture
def skills():
    SkillFactory(key="tools", kind=Skill.Kind.CATEGORY)
    SkillFactory(key="tools.orders")
    SkillFactory(key="tools.returns")


def failed_attempt(**fields):
    agent = AgentFactory(name="retail-agent", boundaries=["tools"])
    values = {
        "agent": agent,
        "skill": SkillFactory(key="tools.returns"),
        "success": False,
        "score": 0.3,
        "difficulty": 0.65,
        "task_input": "Return the water bottle from order #W2378156 to my PayPal.",
        "expected_actions": EXPECTED,
    }
    return AttemptFactory(**{**values, **fields})


# --- replays ------------------------------------------------------------------------------------


def test_a_failed_attempt_is_replayed_once_with_its_task_and_expected_actions():
    attempt = failed_attempt()

    scenario = replay_failed_attempt(attempt)
    again = replay_failed_attempt(attempt)

    assert again == scenario
    assert PracticeScenario.objects.count() == 1
    assert scenario.origin == PracticeScenario.Origin.REPLAY
    assert scenario.status == PracticeScenario.Status.APPROVED
    assert scenario.source_attempt == attempt
    assert scenario.skill == attempt.skill
    assert scenario.prompt == attempt.task_input
    assert scenario.expected_actions == EXPECTED
    assert scenario.difficulty == 0.65


def test_a_replay_without_a_stated_difficulty_is_medium():
    assert replay_failed_attempt(failed_attempt(difficulty=None)).difficulty == 0.5
    assert replay_failed_attempt(failed_attempt(difficulty=0.0)).difficulty == 0.0


@pytest.mark.parametrize(
    "fields",
    [
        {"success": True, "score": 1.0},
        {"out_of_bounds": True},
        {"task_input": ""},
        {"task_input": "   "},
    ],
    ids=["succeeded", "out of bounds", "no task input", "blank task input"],
)
def test_only_failed_in_bounds_attempts_with_a_task_are_replayed(fields):
    assert replay_failed_attempt(failed_attempt(**fields)) is None
    assert not PracticeScenario.objects.exists()


def test_a_failed_practice_attempt_does_not_copy_its_scenario():
    original = PracticeScenario.objects.create(
        skill=SkillFactory(key="tools.returns"), difficulty=0.4, prompt="Return the lamp."
    )

    assert replay_failed_attempt(failed_attempt(scenario=original)) is None
    assert PracticeScenario.objects.count() == 1


# --- scenario files -----------------------------------------------------------------------------


def test_a_scenario_file_loads_once_and_reloads_without_changes(skills):
    first = load_scenarios(parse_scenarios(BANK))
    second = load_scenarios(parse_scenarios(BANK))

    assert first.created == ["orders-status", "returns-two-items"]
    assert (second.created, second.updated) == ([], [])
    assert second.unchanged == ["orders-status", "returns-two-items"]
    status = PracticeScenario.objects.get(key="orders-status")
    assert status.skill.key == "tools.orders"
    assert status.difficulty == 0.2
    assert status.prompt == "Hi, where is my order #W2378156?"
    assert status.expected_actions == [
        {"name": "get_order_details", "arguments": {"order_id": "#W2378156"}}
    ]
    assert status.origin == PracticeScenario.Origin.OPERATOR
    assert status.status == PracticeScenario.Status.APPROVED
    assert PracticeScenario.objects.get(key="returns-two-items").expected_actions is None


def test_a_reload_updates_what_changed_and_keeps_the_status(skills):
    load_scenarios(parse_scenarios(BANK))
    PracticeScenario.objects.filter(key="orders-status").update(
        status=PracticeScenario.Status.RETIRED
    )

    report = load_scenarios(parse_scenarios(BANK.replace("difficulty: 0.2", "difficulty: 0.3")))

    assert report.updated == ["orders-status"]
    scenario = PracticeScenario.objects.get(key="orders-status")
    assert scenario.difficulty == 0.3
    assert scenario.status == PracticeScenario.Status.RETIRED


def test_a_malformed_file_is_refused_whole_with_the_line_of_every_problem(skills):
    malformed = BANK + (
        "  - key: orders-status\n"  # line 15: a repeated key
        "    skill: Tools.Orders\n"  # line 16
        "    difficulty: 1.5\n"  # line 17
        "    prompt: ''\n"  # line 18
        "    expected_actions:\n"
        "      - arguments: {order_id: 1}\n"  # line 20: no name
        "    colour: blue\n"  # line 21
    )

    with pytest.raises(ScenarioFileError) as refused:
        parse_scenarios(malformed)

    lines = [line for line, _ in refused.value.problems]
    assert lines == [15, 16, 17, 18, 20, 21]
    assert "duplicate scenario orders-status (first on line 3)" in str(refused.value)
    assert "unknown field 'colour'" in str(refused.value)
    assert not PracticeScenario.objects.exists()


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("version: 2\nscenarios: []\n", 1, "'version' must be one of [1]"),
        ("version: 1\nscenarios:\n  - key: a\n    key: b\n", 4, "field 'key' appears twice"),
        ("version: 1\nscenarios: [\n", 3, "not valid YAML"),
        ("- just a list\n", 1, "must be a mapping"),
    ],
)
def test_a_file_that_is_not_a_scenario_bank_is_refused(text, line, reason):
    with pytest.raises(ScenarioFileError) as refused:
        parse_scenarios(text)

    assert refused.value.problems[0][0] == line
    assert reason in str(refused.value)


def test_unknown_skills_and_categories_refuse_the_whole_load(skills):
    definitions = parse_scenarios(
        BANK
        + "  - key: nowhere\n    skill: tools.teleport\n    difficulty: 0.5\n    prompt: Beam me.\n"
        + "  - key: broad\n    skill: tools\n    difficulty: 0.5\n    prompt: Use tools.\n"
    )

    with pytest.raises(ScenarioFileError) as refused:
        load_scenarios(definitions)

    assert refused.value.problems == [
        (16, "nowhere: unknown skill tools.teleport"),
        (
            20,
            "broad: tools is a category; scenarios belong to one of its skills or failure modes",
        ),
    ]
    assert not PracticeScenario.objects.exists()


def test_a_scenario_keeps_its_skill_across_reloads(skills):
    load_scenarios(parse_scenarios(BANK))

    with pytest.raises(ScenarioFileError, match="orders-status already belongs to tools.orders"):
        load_scenarios(parse_scenarios(BANK.replace("skill: tools.orders", "skill: tools.returns")))
    assert PracticeScenario.objects.get(key="orders-status").skill.key == "tools.orders"


def test_the_command_loads_a_file_and_refuses_a_broken_one(skills, tmp_path):
    bank = tmp_path / "bank.yaml"
    bank.write_text(BANK, encoding="utf-8")
    out = StringIO()

    call_command("load_scenarios", str(bank), stdout=out)
    call_command("load_scenarios", str(bank), stdout=out)

    assert "2 created, 0 updated, 0 unchanged." in out.getvalue()
    assert "0 created, 0 updated, 2 unchanged." in out.getvalue()
    bank.write_text(BANK.replace("difficulty: 0.75", "difficulty: high"), encoding="utf-8")
    with pytest.raises(CommandError, match=r"bank.yaml, line 13: returns-two-items: 'difficulty'"):
        call_command("load_scenarios", str(bank), stdout=StringIO())


def test_the_demo_bank_covers_every_skill_of_the_demo_taxonomy():
    base = Path(settings.BASE_DIR)
    taxonomy = (base / "taxonomy/fixtures/demo_taxonomy.yaml").read_text(encoding="utf-8")
    load_taxonomy(parse_taxonomy(taxonomy))

    report = load_scenarios(
        parse_scenarios(
            (base / "practice/fixtures/demo_scenarios.yaml").read_text(encoding="utf-8")
        )
    )

    practiceable = set(
        Skill.objects.exclude(kind=Skill.Kind.CATEGORY).values_list("key", flat=True)
    )
    per_skill = Counter(PracticeScenario.objects.values_list("skill__key", flat=True))
    assert set(per_skill) == practiceable
    assert all(2 <= count <= 4 for count in per_skill.values())
    assert len(report.created) == sum(per_skill.values())
    for key in practiceable:
        difficulties = PracticeScenario.objects.filter(skill__key=key).values_list(
            "difficulty", flat=True
        )
        assert max(difficulties) - min(difficulties) >= 0.4, key
    tools = PracticeScenario.objects.filter(skill__key__startswith="tools.")
    assert all(scenario.expected_actions is not None for scenario in tools)
