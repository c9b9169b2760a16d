"""LLM-written variants of scenarios, with the real openai client against the scripted loopback
server (tests/openai_server.py): written on request at the requested difficulty, stored proposed
once per request, nothing stored for a bad answer or a failed call, asked for by the scheduler
when a skill's bank has nothing in the target band, and by operators in the admin and with
`manage.py write_variant`. Tasks run inline (eager), as in the rest of the suite."""

import copy
import json
import logging
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from oversight.models import AuditEvent
from practice import tasks
from practice.coach.llm import CoachAnswerError
from practice.coach.variants import VariantWriter, read_variant, variant_writer
from practice.models import CompetencyEstimate, PracticeScenario
from practice.scheduler import plan_practice, schedule_practice
from practice.scheduler.planning import TARGET_BAND
from practice.services.errors import PracticeError
from practice.services.scenarios import (
    NO_LLM_COACH,
    REJECTED_VARIANT_PAUSE_DAYS,
    VariantError,
    request_variant,
    scenario_view,
    write_variant,
)
from taxonomy.models import Skill
from tests.factories import AgentFactory, SkillFactory
from tests.openai_server import RETRY_NOW

pytestmark = pytest.mark.django_db

MODEL = "variant-test-model"
NO_CLIENT_RETRY = {"x-should-retry": "false"}
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
TASK = (
    "Your name is Yusuf Rossi and your zip code is 19122. You received your order #W2378156 "
    "and wish to return the mechanical keyboard."
)
EXPECTED = [
    {"name": "find_user_id_by_name_zip", "arguments": {"first_name": "Yusuf", "zip": "19122"}},
    {
        "name": "return_delivered_order_items",
        "arguments": {"order_id": "#W2378156", "item_ids": ["1151293680"]},
    },
]
VARIANT_TASK = (
    "You are Yusuf Rossi (zip 19122). Of your delivered order #W2378156 you want to return the "
    "keyboard and the thermostat, but only if the refund can go to your PayPal account."
)
ANSWER = {
    "prompt": VARIANT_TASK,
    "expected_actions": [
        {
            "name": "find_user_id_by_name_zip",
            "arguments": json.dumps({"first_name": "Yusuf", "zip": "19122"}),
        },
        {"name": "get_order_details", "arguments": '{"order_id": "#W2378156"}'},
        {
            "name": "return_delivered_order_items",
            "arguments": json.dumps(
                {
                    "order_id": "#W2378156",
                    "item_ids": ["1151293680", "4983901480"],
                    "payment_method_id": "paypal_3024827",
                }
            ),
        },
    ],
    "note": "Two items instead of one and a condition on the refund method make it harder.",
}


def answer_with(**changes):
    answer = copy.deepcopy(ANSWER)
    answer.update(changes)
    return answer


@pytest.fixture
def llm(settings, openai_server):
    """An LLM coach configured on the scripted server; the task retries at once."""
    settings.OPENAI_BASE_URL = openai_server.base_url
    settings.OPENAI_API_KEY = "sk-test-local"
    settings.ETUDE_COACH_MODEL = MODEL
    settings.ETUDE_COACH_TIMEOUT = 5.0
    settings.ETUDE_REFLECTION_RETRIES = 2
    settings.ETUDE_REFLECTION_RETRY_DELAY = 0
    return openai_server


@pytest.fixture
def original():
    SkillFactory(key="retail", kind=Skill.Kind.CATEGORY)
    skill = SkillFactory(key="retail.returns", name="Returns", description="Returning items.")
    return PracticeScenario.objects.create(
        key="returns-one-item",
        skill=skill,
        difficulty=0.4,
        prompt=TASK,
        expected_actions=EXPECTED,
    )


def variants():
    return PracticeScenario.objects.filter(origin=PracticeScenario.Origin.VARIANT)


def proposed_variant(original, difficulty, prompt):
    """A variant of `original` waiting for review."""
    return PracticeScenario.objects.create(
        skill=original.skill,
        difficulty=difficulty,
        prompt=prompt,
        origin=PracticeScenario.Origin.VARIANT,
        status=PracticeScenario.Status.PROPOSED,
        variant_of=original,
    )


# --- writing a variant ----------------------------------------------------------------------


def test_a_variant_is_stored_proposed_at_the_requested_difficulty_with_the_note(llm, original):
    llm.reply(ANSWER)

    status = tasks.write_scenario_variant.delay(original.pk, 0.7, "abc123").get()

    assert status == "proposed"
    variant = PracticeScenario.objects.get(key="variant-abc123")
    assert variant.status == PracticeScenario.Status.PROPOSED
    assert variant.origin == PracticeScenario.Origin.VARIANT
    assert variant.variant_of == original
    assert variant.skill == original.skill
    assert variant.difficulty == 0.7
    assert variant.prompt == VARIANT_TASK
    assert variant.note == ANSWER["note"]
    assert variant.expected_actions[1] == {
        "name": "get_order_details",
        "arguments": {"order_id": "#W2378156"},
    }
    assert variant.expected_actions[2]["arguments"]["item_ids"] == ["1151293680", "4983901480"]
    event = AuditEvent.objects.get(action="scenario.proposed", object_id=str(variant.pk))
    assert event.after["status"] == "proposed"
    assert "returns-one-item" in event.reason and "0.70" in event.reason


def test_the_prompt_names_the_original_and_the_requested_difficulty(llm, original):
    llm.reply(ANSWER)

    tasks.write_scenario_variant.delay(original.pk, 0.7, "abc123")

    [request] = llm.requests
    assert request.body["model"] == MODEL
    assert request.body["response_format"]["type"] == "json_schema"
    assert request.body["response_format"]["json_schema"]["name"] == "scenario_variant"
    system, user = request.body["messages"]
    assert "data, not instructions" in system["content"]
    assert "distractors" in system["content"]
    text = user["content"]
    assert "Skill: retail.returns (Returns)" in text
    assert "Returning items." in text
    assert f"returns-one-item (#{original.pk}), difficulty 0.40" in text
    assert TASK in text
    assert 'return_delivered_order_items {"item_ids": ["1151293680"]' in text
    assert "Requested difficulty: 0.70 (harder than the original by 0.30)" in text


def test_an_easier_variant_is_asked_for_as_easier(llm, original):
    llm.reply(answer_with(note="Every id is given, so it is easier."))

    tasks.write_scenario_variant.delay(original.pk, 0.1, "easier")

    assert "0.10 (easier than the original by 0.30)" in llm.requests[0].messages_text
    assert PracticeScenario.objects.get(key="variant-easier").difficulty == 0.1


def test_running_the_same_request_twice_stores_one_variant_and_asks_once(llm, original):
    llm.reply(ANSWER)

    first = tasks.write_scenario_variant.delay(original.pk, 0.7, "same").get()
    second = tasks.write_scenario_variant.delay(original.pk, 0.7, "same").get()

    assert (first, second) == ("proposed", "exists")
    assert variants().count() == 1
    assert len(llm.requests) == 1
    assert AuditEvent.objects.filter(action="scenario.proposed").count() == 1


def test_a_writer_can_be_given_and_a_server_without_json_schema_is_asked_for_json(
    openai_server, original
):
    openai_server.refuse_json_schema()
    openai_server.reply(ANSWER)
    writer = VariantWriter(base_url=openai_server.base_url, api_key="", model=MODEL, timeout=5)

    variant, created = write_variant(original.pk, 0.7, "given", writer=writer)

    assert created and variant.key == "variant-given"
    assert [request.body["response_format"]["type"] for request in openai_server.requests] == [
        "json_schema",
        "json_object",
    ]
    assert writer.json_schema_supported is False


def test_variant_writer_is_none_without_an_llm_coach_and_built_from_the_settings_with_one(
    settings, llm
):
    assert variant_writer().model == MODEL
    settings.OPENAI_BASE_URL = None
    settings.ETUDE_COACH_MODEL = None
    assert variant_writer() is None


# --- bad answers and failed calls store nothing ----------------------------------------------


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ("Sure! Here is a harder task: ...", "not JSON"),
        ({"prompt": VARIANT_TASK, "expected_actions": None}, "'note' is a required property"),
        (answer_with(prompt=7), "prompt: 7 is not of type 'string'"),
        (answer_with(prompt="   "), "prompt is empty"),
        (answer_with(prompt=f"  {TASK.upper()}  "), "prompt is the original task"),
        (answer_with(prompt="x" * 9000), "prompt has 9,000 characters; at most 8,000"),
        (answer_with(note=""), "note is empty"),
        (answer_with(expected_actions=None), "expected_actions is null, but the original has"),
        (
            answer_with(expected_actions=[{"name": "get_order_details", "arguments": "{oops"}]),
            "expected_actions[0].arguments: is not JSON",
        ),
        (
            answer_with(expected_actions=[{"name": "get_order_details", "arguments": "[1, 2]"}]),
            "expected_actions[0].arguments: must be",
        ),
        (
            answer_with(expected_actions=[{"name": " ", "arguments": "{}"}]),
            "expected_actions[0].name",
        ),
        (
            answer_with(expected_actions=[{"name": "x", "arguments": "{}", "extra": 1}]),
            "Additional properties are not allowed",
        ),
    ],
    ids=[
        "not-json",
        "no-note",
        "prompt-not-text",
        "empty-prompt",
        "same-prompt",
        "long-prompt",
        "empty-note",
        "actions-dropped",
        "arguments-not-json",
        "arguments-not-object",
        "action-without-name",
        "action-extra-field",
    ],
)
def test_a_malformed_answer_stores_nothing_and_says_what_was_wrong(
    llm, original, caplog, answer, named
):
    llm.reply(answer)

    with pytest.raises(VariantError) as raised:
        write_variant(original.pk, 0.7, "bad")

    assert named in str(raised.value)
    assert "returns-one-item" in str(raised.value)
    assert not variants().exists()
    assert not AuditEvent.objects.filter(action="scenario.proposed").exists()
    assert named in caplog.text


def test_a_malformed_answer_fails_the_task_without_retrying(llm, original):
    llm.reply("not json at all")

    assert tasks.write_scenario_variant.delay(original.pk, 0.7, "bad").get() == "failed"
    assert len(llm.requests) == 1
    assert not variants().exists()


def test_the_reader_is_strict_about_an_answer_and_keeps_the_raw_text(original):
    view = scenario_view(original)
    text = json.dumps(answer_with(note=""))

    with pytest.raises(CoachAnswerError) as raised:
        read_variant(text, view)

    assert raised.value.raw_output == text
    assert read_variant(json.dumps(ANSWER), view)["expected_actions"][0] == {
        "name": "find_user_id_by_name_zip",
        "arguments": {"first_name": "Yusuf", "zip": "19122"},
    }


def test_a_passing_http_error_is_retried_by_the_task_and_then_written(llm, original):
    llm.fail(503, "overloaded", headers=NO_CLIENT_RETRY)
    llm.fail(429, "slow down", headers=NO_CLIENT_RETRY)
    llm.reply(ANSWER)

    assert tasks.write_scenario_variant.delay(original.pk, 0.7, "busy").get() == "proposed"
    assert len(llm.requests) == 3
    assert variants().count() == 1


def test_the_client_retries_a_server_error_itself(llm, original):
    llm.fail(500, "model crashed", headers=RETRY_NOW)
    llm.reply(ANSWER)

    assert tasks.write_scenario_variant.delay(original.pk, 0.7, "crash").get() == "proposed"
    assert len(llm.requests) == 2


def test_an_http_error_that_lasts_is_reported_and_stores_nothing(llm, original, caplog):
    for _ in range(3):  # the first call and the task's two retries
        llm.fail(503, "overloaded", headers=NO_CLIENT_RETRY)

    assert tasks.write_scenario_variant.delay(original.pk, 0.7, "down").get() == "failed"
    assert len(llm.requests) == 3
    assert not variants().exists()
    assert "HTTP 503" in caplog.text and "down" in caplog.text


def test_a_client_error_is_not_retried(llm, original):
    llm.fail(401, "bad key")
    llm.fail(401, "bad key")

    with pytest.raises(VariantError) as raised:
        write_variant(original.pk, 0.7, "denied")

    assert "HTTP 401" in str(raised.value)
    assert tasks.write_scenario_variant.delay(original.pk, 0.7, "denied").get() == "failed"
    assert len(llm.requests) == 2  # one call each, no retry


def test_an_original_retired_before_the_writing_is_refused_without_a_call(llm, original):
    original.status = PracticeScenario.Status.RETIRED
    original.save()

    assert tasks.write_scenario_variant.delay(original.pk, 0.7, "late").get() == "refused"
    assert llm.requests == []


# --- requesting a variant --------------------------------------------------------------------


def test_a_request_is_queued_after_commit_and_written_once(
    llm, original, admin_user, django_capture_on_commit_callbacks
):
    llm.reply(ANSWER)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        request_key = request_variant(original, 0.7, requested_by=admin_user)
        assert not variants().exists()  # nothing before the commit

    assert len(callbacks) == 1
    variant = PracticeScenario.objects.get(key=f"variant-{request_key}")
    assert variant.status == PracticeScenario.Status.PROPOSED
    assert admin_user.username in AuditEvent.objects.get(action="scenario.proposed").reason


def test_a_request_is_refused_without_an_llm_coach(original):
    with pytest.raises(PracticeError) as raised:
        request_variant(original, 0.7)

    assert str(raised.value) == NO_LLM_COACH
    with pytest.raises(PracticeError) as raised:
        write_variant(original.pk, 0.7, "nowriter")
    assert str(raised.value) == NO_LLM_COACH


@pytest.mark.parametrize("difficulty", [-0.1, 1.5, float("nan"), True, "0.7", None])
def test_a_request_is_refused_outside_zero_to_one(llm, original, difficulty):
    with pytest.raises(PracticeError) as raised:
        request_variant(original, difficulty)

    assert "must be a number from 0 to 1" in str(raised.value)


def test_a_request_too_close_to_the_originals_difficulty_is_refused(llm, original):
    with pytest.raises(PracticeError) as raised:
        request_variant(original, 0.43)
    assert "at difficulty 0.40" in str(raised.value)
    assert "at least 0.05" in str(raised.value)

    original.difficulty = 0.7
    original.save()
    assert request_variant(original, 0.75)  # 0.05 away, whatever the floating point says
    assert request_variant(original, 0.65)


@pytest.mark.parametrize(
    ("status", "origin", "said"),
    [
        ("proposed", "variant", "a variant still awaiting review"),
        ("retired", "operator", "retired"),
        ("rejected", "variant", "rejected"),
    ],
)
def test_only_an_approved_original_can_be_varied(llm, original, status, origin, said):
    scenario = PracticeScenario.objects.create(
        skill=original.skill,
        difficulty=0.5,
        prompt="Another task",
        status=status,
        origin=origin,
        variant_of=original if origin == "variant" else None,
    )

    with pytest.raises(PracticeError) as raised:
        request_variant(scenario, 0.8)

    assert f"is {said}; only an approved scenario can be varied" in str(raised.value)


# --- the scheduler ---------------------------------------------------------------------------


@pytest.fixture
def weak_agent(original):
    """An agent weak at retail.returns, whose bank holds one hard scenario (0.9): nothing in
    the target band."""
    agent = AgentFactory(name="retail-agent", boundaries=["retail"])
    original.difficulty = 0.9
    original.save()
    CompetencyEstimate.objects.create(
        agent=agent,
        skill=original.skill,
        model_state={"mu": -1.5, "var": 0.1, "updated_at": NOW.isoformat()},
        attempts=10,
        successes=2,
    )
    return agent


def test_the_scheduler_asks_for_a_variant_when_the_bank_has_nothing_in_the_band(
    llm, original, weak_agent, django_capture_on_commit_callbacks
):
    llm.reply(ANSWER)

    with django_capture_on_commit_callbacks(execute=True):
        [schedule] = schedule_practice(weak_agent, now=NOW)

    [pick] = schedule.picks
    assert pick.scenario == original
    assert not TARGET_BAND[0] <= pick.predicted_success <= TARGET_BAND[1]
    variant = variants().get()
    assert variant.variant_of == original
    assert variant.status == PracticeScenario.Status.PROPOSED
    assert variant.difficulty == round(pick.target_difficulty, 2)
    assert (
        f"Requested difficulty: {variant.difficulty:.2f} (easier" in llm.requests[0].messages_text
    )
    assert "the scheduler" in AuditEvent.objects.get(action="scenario.proposed").reason


def test_the_scheduler_does_not_ask_again_while_a_proposed_variant_waits(
    llm, original, weak_agent, django_capture_on_commit_callbacks
):
    proposed_variant(original, 0.2, "A waiting variant")

    with django_capture_on_commit_callbacks(execute=True):
        [schedule] = schedule_practice(weak_agent, now=NOW)

    assert [pick.scenario for pick in schedule.picks] == [original]  # never the proposed one
    assert llm.requests == []
    assert variants().count() == 1


@pytest.mark.parametrize(
    ("days_ago", "asked"), [(2, False), (REJECTED_VARIANT_PAUSE_DAYS + 1, True)]
)
def test_the_scheduler_pauses_a_skill_after_reviewers_reject_its_variant(
    llm, original, weak_agent, django_capture_on_commit_callbacks, days_ago, asked
):
    rejected = proposed_variant(original, 0.2, "A rejected variant")
    PracticeScenario.objects.filter(pk=rejected.pk).update(
        status=PracticeScenario.Status.REJECTED,
        created_at=timezone.now() - timedelta(days=days_ago),
    )
    if asked:
        llm.reply(ANSWER)

    with django_capture_on_commit_callbacks(execute=True):
        schedule_practice(weak_agent, now=NOW)

    assert len(llm.requests) == int(asked)
    assert variants().filter(status=PracticeScenario.Status.PROPOSED).count() == int(asked)


def test_an_automatic_request_finds_a_variant_proposed_meanwhile_and_asks_nothing(llm, original):
    proposed_variant(original, 0.2, "Proposed since the request")

    status = tasks.write_scenario_variant.delay(original.pk, 0.7, "auto", unless_waiting=True)

    assert status.get() == "skipped"
    assert llm.requests == []


def test_a_scheduler_run_may_leave_the_gaps_alone(
    llm, original, weak_agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        [schedule] = schedule_practice(weak_agent, now=NOW, request_variants=False)

    assert [pick.scenario for pick in schedule.picks] == [original]
    assert callbacks == []
    assert llm.requests == []


def test_the_scheduler_asks_nothing_without_an_llm_coach(
    original, weak_agent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        [schedule] = schedule_practice(weak_agent, now=NOW)

    assert [pick.scenario for pick in schedule.picks] == [original]
    assert not variants().exists()


def test_the_scheduler_asks_nothing_when_a_scenario_lies_in_the_band(
    llm, original, weak_agent, django_capture_on_commit_callbacks
):
    [pick] = plan_practice(weak_agent, now=NOW, budget=1)
    PracticeScenario.objects.create(
        skill=original.skill, difficulty=round(pick.target_difficulty, 2), prompt="Just right"
    )

    with django_capture_on_commit_callbacks(execute=True):
        [schedule] = schedule_practice(weak_agent, now=NOW)

    assert schedule.picks[0].scenario.prompt == "Just right"
    assert llm.requests == []


def test_a_proposed_variant_is_never_scheduled(original):
    agent = AgentFactory(name="retail-agent", boundaries=["retail"])
    original.status = PracticeScenario.Status.RETIRED
    original.save()
    proposed = proposed_variant(original, 0.3, "Awaiting review")

    assert plan_practice(agent, now=NOW, budget=5) == []
    proposed.status = PracticeScenario.Status.APPROVED
    proposed.save()
    assert [pick.scenario for pick in plan_practice(agent, now=NOW, budget=5)] == [proposed]


# --- operators: the admin and the command ----------------------------------------------------


def changelist():
    return reverse("admin:practice_practicescenario_changelist")


def shown_messages(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


def test_the_admin_action_asks_for_the_difficulty_then_requests_variants(
    llm, original, admin_client, admin_user, django_capture_on_commit_callbacks
):
    selected = {"action": "ask_for_variant", "_selected_action": [original.pk]}

    page = admin_client.post(changelist(), selected)

    assert page.status_code == 200
    assert 'name="difficulty"' in page.content.decode()
    assert str(original) in page.content.decode()

    refused = admin_client.post(changelist(), {**selected, "apply": "1", "difficulty": "1.5"})
    assert refused.status_code == 200
    assert "less than or equal to 1" in refused.content.decode()

    llm.reply(ANSWER)
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(
            changelist(), {**selected, "apply": "1", "difficulty": "0.7"}, follow=True
        )

    assert (
        "success",
        "Asked the LLM coach for 1 variant(s); they will appear as proposed "
        "scenarios in the review queue.",
    ) in shown_messages(done)
    variant = variants().get()
    assert (variant.difficulty, variant.variant_of) == (0.7, original)
    assert admin_user.username in AuditEvent.objects.get(action="scenario.proposed").reason


def test_the_admin_action_warns_about_scenarios_it_cannot_vary(
    llm, original, admin_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(
            changelist(),
            {
                "action": "ask_for_variant",
                "_selected_action": [original.pk],
                "apply": "1",
                "difficulty": "0.42",
            },
            follow=True,
        )

    [(level, text)] = shown_messages(done)
    assert level == "warning" and "at least 0.05" in text
    assert llm.requests == []


def test_the_admin_action_says_when_no_llm_coach_is_configured(original, admin_client):
    done = admin_client.post(
        changelist(), {"action": "ask_for_variant", "_selected_action": [original.pk]}, follow=True
    )

    assert shown_messages(done) == [("error", NO_LLM_COACH)]


def test_the_status_of_a_proposed_variant_is_read_only_in_the_admin(original, admin_client):
    proposed = proposed_variant(original, 0.7, "Awaiting review")

    def form_fields(scenario):
        page = admin_client.get(
            reverse("admin:practice_practicescenario_change", args=[scenario.pk])
        )
        return page.context["adminform"].form.fields

    assert "status" not in form_fields(proposed)
    assert "prompt" in form_fields(proposed)
    assert "status" in form_fields(original)
    proposed.status = PracticeScenario.Status.APPROVED
    proposed.save()
    assert "status" in form_fields(proposed)


def test_the_command_queues_a_variant(llm, original, django_capture_on_commit_callbacks):
    llm.reply(ANSWER)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("write_variant", "returns-one-item", "--difficulty", "0.7", stdout=out)

    assert "Queued a variant of returns-one-item" in out.getvalue()
    assert "review queue" in out.getvalue()
    assert "manage.py write_variant" in AuditEvent.objects.get(action="scenario.proposed").reason
    assert variants().get().difficulty == 0.7


def test_the_command_writes_now_and_prints_the_variant(llm, original):
    llm.reply(ANSWER)
    out = StringIO()

    call_command("write_variant", str(original.pk), "--difficulty", "0.7", "--now", stdout=out)

    variant = variants().get()
    printed = out.getvalue()
    assert f"Proposed scenario {variant.key} (#{variant.pk})" in printed
    assert VARIANT_TASK in printed
    assert ANSWER["note"] in printed
    assert "paypal_3024827" in printed


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["no-such-scenario", "--difficulty", "0.7"], "No scenario with the key or id"),
        (["999999", "--difficulty", "0.7"], "No scenario with the key or id"),
        (["returns-one-item", "--difficulty", "1.2"], "must be a number from 0 to 1"),
        (["returns-one-item", "--difficulty", "0.41", "--now"], "at least 0.05"),
    ],
)
def test_the_command_refuses_bad_input(llm, original, arguments, said):
    with pytest.raises(CommandError) as raised:
        call_command("write_variant", *arguments, stdout=StringIO())

    assert said in str(raised.value)
    assert llm.requests == []


def test_the_command_reports_a_missing_llm_coach_and_a_failed_call(settings, llm, original):
    llm.reply("no JSON here")
    with pytest.raises(CommandError) as raised:
        call_command("write_variant", "returns-one-item", "--difficulty", "0.7", "--now")
    assert "not JSON" in str(raised.value)

    settings.OPENAI_BASE_URL = None
    settings.ETUDE_COACH_MODEL = None
    with pytest.raises(CommandError) as raised:
        call_command("write_variant", "returns-one-item", "--difficulty", "0.7")
    assert str(raised.value) == NO_LLM_COACH
    assert not variants().exists()


def test_logging_names_the_request(llm, original, caplog):
    caplog.set_level(logging.INFO, logger="practice.services.scenarios")
    llm.reply(ANSWER)

    write_variant(original.pk, 0.7, "logged")

    assert "Proposed variant variant-logged of scenario returns-one-item" in caplog.text
