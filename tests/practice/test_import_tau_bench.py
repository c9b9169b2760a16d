"""Importing tau-bench results: each run becomes a live attempt through the same service as the
agent API; broken runs are refused with a reason, a second import adds nothing."""

import copy
import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from practice.attempt_input import validate_attempt
from practice.models import Attempt, TraceStep
from practice.tau_bench import RunNotConvertible, attempt_payload, chat_messages
from taxonomy.services import set_skill_active
from tests.factories import AgentFactory, SkillFactory

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "tau_bench_results.json"
RETURNS = "support.returns"
STORED_RUNS = {
    # external id: (success, score)
    "tau-bench:0:0": (True, 1.0),
    "tau-bench:1:0": (True, 1.0),
    "tau-bench:2:0": (False, 0.0),
    "tau-bench:0:1": (False, 0.0),
    "tau-bench:1:1": (False, 0.0),
    "tau-bench:2:1": (True, 1.0),
}


@pytest.fixture
def agent():
    SkillFactory(key=RETURNS)
    return AgentFactory(name="retail-agent", boundaries=["support"])


def fixture_runs():
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def run_of(task_id, trial):
    return next(
        run for run in fixture_runs() if run["task_id"] == task_id and run["trial"] == trial
    )


def import_file(path=FIXTURE, agent="retail-agent", skill=RETURNS, **options):
    out = StringIO()
    call_command("import_tau_bench", str(path), agent=agent, skill=skill, stdout=out, **options)
    return out.getvalue()


def write_runs(tmp_path, runs, name="results.json"):
    path = tmp_path / name
    path.write_text(json.dumps(runs), encoding="utf-8")
    return path


# --- the fixture, imported -----------------------------------------------------------------------


def test_the_fixture_imports_six_runs_and_refuses_the_two_broken_ones(agent):
    output = import_file()

    assert "6 imported, 0 skipped (already there), 2 refused." in output
    assert (
        "run #4 (task_id 3, trial 0): tau-bench recorded an error instead of a result: "
        "litellm.RateLimitError" in output
    )
    assert (
        "run #8 (task_id 3, trial 1): traj must be a list of chat messages (found an object)"
        in output
    )
    assert "imported 6/6… (6 new, 0 already there)" in output
    stored = {
        attempt.external_id: (attempt.success, attempt.score)
        for attempt in Attempt.objects.filter(agent=agent)
    }
    assert stored == STORED_RUNS


def test_an_attempt_keeps_the_task_the_ground_truth_and_the_normalized_steps(agent):
    import_file()

    run = run_of(1, 0)
    attempt = Attempt.objects.get(agent=agent, external_id="tau-bench:1:0")
    assert attempt.skill.key == RETURNS
    assert attempt.source == Attempt.Source.LIVE
    assert attempt.trace_format == Attempt.TraceFormat.OPENAI_CHAT
    assert attempt.task_input == run["info"]["task"]["instruction"]
    assert attempt.expected_actions == [
        {"name": action["name"], "arguments": action["kwargs"]}
        for action in run["info"]["task"]["actions"]
    ]
    assert attempt.expected_actions[-1] == {
        "name": "exchange_delivered_order_items",
        "arguments": {
            "order_id": "#W7312458",
            "item_ids": ["5820146937"],
            "new_item_ids": ["7461209385"],
            "payment_method_id": "gift_card_4418290",
        },
    }
    steps = list(attempt.steps.order_by("position"))
    assert [step.action for step in steps] == [
        "respond",
        "find_user_id_by_name_zip",
        "get_user_details",
        "get_order_details",
        "respond",
        "exchange_delivered_order_items",
        "respond",
    ]
    assert steps[1].arguments == {"first_name": "Priya", "last_name": "Shah", "zip": "94110"}
    assert steps[1].actual == "priya_shah_7702"
    assert json.loads(steps[5].actual)["status"] == "exchange requested"
    assert len(attempt.trace_messages) == len(run["traj"])


def test_a_failed_tool_call_is_a_failed_step(agent):
    import_file()

    attempt = Attempt.objects.get(agent=agent, external_id="tau-bench:1:1")
    exchange = attempt.steps.get(action="exchange_delivered_order_items")
    assert exchange.arguments["order_id"] == "#W7312485"  # a typo of #W7312458
    assert exchange.actual == "Error: order not found"
    assert exchange.ok is False
    assert not attempt.success


def test_litellm_extras_are_dropped_from_the_stored_messages(agent):
    raw = run_of(2, 1)["traj"]
    assert any("provider_specific_fields" in message for message in raw)
    assert any("function_call" in message for message in raw)

    import_file()

    attempt = Attempt.objects.get(agent=agent, external_id="tau-bench:2:1")
    for message in attempt.trace_messages:
        assert not {"provider_specific_fields", "reasoning_content", "function_call"} & set(message)
    assert attempt.trace_messages[2]["content"] == raw[2]["content"]


def test_a_second_import_adds_nothing_and_says_everything_was_skipped(agent):
    import_file()
    steps_before = TraceStep.objects.count()

    output = import_file()

    assert "0 imported, 6 skipped (already there), 2 refused." in output
    assert "imported 6/6… (0 new, 6 already there)" in output
    assert Attempt.objects.count() == 6
    assert TraceStep.objects.count() == steps_before


def test_verbosity_zero_prints_nothing(agent):
    assert import_file(verbosity=0) == ""
    assert Attempt.objects.count() == 6


def test_a_skill_outside_the_agent_boundaries_is_imported_with_a_warning():
    SkillFactory(key="sales.upsell")
    SkillFactory(key=RETURNS)
    AgentFactory(name="retail-agent", boundaries=["sales"])

    output = import_file()

    assert "support.returns is outside the boundaries of retail-agent" in output
    assert Attempt.objects.filter(out_of_bounds=True).count() == 6


# --- runs that are refused, one by one -----------------------------------------------------------


def test_a_run_the_validator_refuses_is_reported_with_its_paths_and_does_not_stop_the_others(
    agent, tmp_path
):
    good = run_of(0, 0)
    broken = copy.deepcopy(run_of(2, 0))
    broken["traj"][1]["role"] = "customer"
    broken["traj"][4]["tool_calls"][0]["type"] = "retrieval"

    output = import_file(write_runs(tmp_path, [good, broken]))

    assert "1 imported, 0 skipped (already there), 1 refused." in output
    assert (
        "run #2 (task_id 2, trial 0): trace.messages[1].role: must be one of: "
        "system, user, assistant, tool, developer; "
        'trace.messages[4].tool_calls[0].type: must be "function"'
    ) in output
    assert list(Attempt.objects.values_list("external_id", flat=True)) == ["tau-bench:0:0"]


def test_a_run_repeated_in_the_file_is_refused_the_second_time(agent, tmp_path):
    run = run_of(0, 0)

    output = import_file(write_runs(tmp_path, [run, run]))

    assert "1 imported, 0 skipped (already there), 1 refused." in output
    assert "run #2 (task_id 0, trial 0): repeats the task_id and trial of run #1" in output


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda run: run.pop("task_id"), "task_id must be a non-negative integer (found nothing)"),
        (
            lambda run: run.update(trial="1"),
            "trial must be a non-negative integer (found a string)",
        ),
        (lambda run: run.update(reward=None), "reward must be a number (found null)"),
        (lambda run: run.update(info=[]), "info must be an object (found a list)"),
        (lambda run: run["info"].pop("task"), "info.task must be an object (found nothing)"),
        (
            lambda run: run["info"]["task"]["actions"][1].pop("kwargs"),
            "info.task.actions[1].kwargs must be an object",
        ),
        (
            lambda run: run["info"]["task"].update(instruction=None),
            "info.task.instruction must be a string",
        ),
        (lambda run: run.update(traj=[]), "traj is empty: the run recorded no messages"),
    ],
)
def test_a_run_without_what_an_attempt_needs_cannot_be_converted(change, reason):
    run = run_of(0, 0)
    change(run)

    with pytest.raises(RunNotConvertible) as refused:
        attempt_payload(run, skill_key=RETURNS)

    assert str(refused.value) == reason


# --- the conversion -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reward", "success", "score"),
    [
        (1.0, True, 1.0),
        (0.9995, True, 0.9995),
        (0.5, False, 0.5),
        (1.2, True, 1.0),
        (-0.5, False, 0.0),
    ],
)
def test_reward_one_is_a_success_and_the_score_is_the_reward_clipped_to_the_unit_interval(
    reward, success, score
):
    run = run_of(0, 0)
    run["reward"] = reward

    payload = attempt_payload(run, skill_key=RETURNS)

    assert (payload["success"], payload["score"]) == (success, score)


def test_repeated_tool_call_ids_are_made_unique_in_the_call_and_its_result():
    traj = run_of(1, 0)["traj"]
    _, raw_problems = validate_attempt(
        {
            "skill": RETURNS,
            "success": True,
            "score": 1,
            "trace": {"format": "openai-chat", "messages": traj},
        }
    )
    assert any("repeats the id of" in message for _, message in raw_problems)

    messages = chat_messages(traj)

    repeated = traj[6]["tool_calls"][0]["id"]
    assert traj[8]["tool_calls"][0]["id"] == repeated
    assert messages[6]["tool_calls"][0]["id"] == repeated
    assert messages[7]["tool_call_id"] == repeated
    assert messages[8]["tool_calls"][0]["id"] == f"{repeated}~2"
    assert messages[9]["tool_call_id"] == f"{repeated}~2"
    attempt, problems = validate_attempt(attempt_payload(run_of(1, 0), skill_key=RETURNS))
    assert problems == []
    assert [step.actual for step in attempt.steps[2:4]] == [traj[7]["content"], traj[9]["content"]]


def test_more_runs_than_one_request_holds_are_stored_in_chunks_of_500(agent, tmp_path):
    template = run_of(2, 0)
    runs = [{**template, "task_id": task_id} for task_id in range(1_203)]

    output = import_file(write_runs(tmp_path, runs))

    assert output.splitlines()[:3] == [
        "imported 500/1,203… (500 new, 0 already there)",
        "imported 1,000/1,203… (1,000 new, 0 already there)",
        "imported 1,203/1,203… (1,203 new, 0 already there)",
    ]
    assert "1,203 imported, 0 skipped (already there), 0 refused." in output
    assert Attempt.objects.count() == 1_203


# --- files and names that cannot be imported: nothing is written ----------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '[{"task_id": 0,',
            r"results.json: not JSON \(line 1, column 16: Expecting property name .*\); nothing was written",
        ),
        (
            '{"task_id": 0}',
            r"results.json: expected a JSON list of tau-bench runs, found an object; "
            "nothing was written",
        ),
        (b"\xff\xfe[]", r"results.json: not UTF-8 text; nothing was written"),
    ],
)
def test_a_file_that_is_not_a_results_file_is_refused_whole(agent, tmp_path, content, message):
    path = tmp_path / "results.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")

    with pytest.raises(CommandError, match=message):
        import_file(path)

    assert not Attempt.objects.exists()


def test_a_missing_file_is_refused(agent, tmp_path):
    with pytest.raises(CommandError, match=r"missing.json: no such file"):
        import_file(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ({"agent": "nobody"}, "No agent named 'nobody'."),
        ({"skill": "support.refunds"}, "No skill with key 'support.refunds'."),
    ],
)
def test_an_unknown_agent_or_skill_is_refused(agent, names, message):
    with pytest.raises(CommandError) as refused:
        import_file(**names)

    assert str(refused.value) == message
    assert not Attempt.objects.exists()


def test_a_deactivated_skill_is_refused_before_anything_is_written(agent):
    set_skill_active(SkillFactory(key=RETURNS), False)

    with pytest.raises(CommandError, match="Skill support.returns is deactivated"):
        import_file()

    assert not Attempt.objects.exists()
