"""The agent API's request and response shapes. Attempt payloads are validated by
practice.attempt_input (fast, every problem with its path); the attempt serializers here
document that shape in the OpenAPI schema."""

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from practice.attempt_input import (
    MAX_ATTEMPTS_PER_BATCH,
    MAX_EXPECTED_ACTIONS,
    MAX_EXTERNAL_ID_CHARS,
    MAX_ID,
    MAX_MESSAGES,
    MAX_SKILL_KEY_CHARS,
    MAX_STEP_TEXT_CHARS,
    MAX_STEPS,
    MAX_TASK_INPUT_CHARS,
    MAX_USED_STRATEGIES,
    MESSAGE_ROLES,
)
from practice.models import StrategyFeedback
from taxonomy.models import KEY_PATTERN, Skill


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know, naming them."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class _ExactJSONType:
    """DRF reads 7 as "7" for a string field and "7" or 7.0 as 7 for an integer field; a JSON
    body must send the documented type instead."""

    json_types = ()

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, self.json_types):
            self.fail("invalid")
        return super().to_internal_value(data)


class JSONText(_ExactJSONType, serializers.CharField):
    json_types = (str,)
    default_error_messages = {"invalid": "Not a valid string."}


class JSONSkillKey(_ExactJSONType, serializers.RegexField):
    json_types = (str,)
    default_error_messages = {
        "invalid": "Must be a dotted skill key such as support.intent.ambiguity."
    }

    def __init__(self, **kwargs):
        super().__init__(KEY_PATTERN, max_length=MAX_SKILL_KEY_CHARS, **kwargs)


class JSONId(_ExactJSONType, serializers.IntegerField):
    json_types = (int,)

    def __init__(self, **kwargs):
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


# --- Attempts (documentation of the payload) ----------------------------------------------------
# An optional field sent as null counts as absent.


class ExpectedActionSerializer(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=MAX_STEP_TEXT_CHARS)
    arguments = serializers.DictField(required=False, allow_null=True)


class StepSerializer(serializers.Serializer):
    action = serializers.CharField(
        min_length=1,
        max_length=MAX_STEP_TEXT_CHARS,
        help_text="What the agent did: a tool name or a move.",
    )
    expected = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_STEP_TEXT_CHARS
    )
    actual = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_STEP_TEXT_CHARS
    )
    ok = serializers.BooleanField(required=False, allow_null=True)
    note = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_STEP_TEXT_CHARS
    )
    arguments = serializers.DictField(required=False, allow_null=True)


class StepsTraceSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["steps"])
    steps = serializers.ListField(child=StepSerializer(), min_length=1, max_length=MAX_STEPS)


class ChatMessageSerializer(serializers.Serializer):
    """An OpenAI chat-completions message, as the `openai` package builds and returns it."""

    role = serializers.ChoiceField(choices=MESSAGE_ROLES)
    content = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="Text or a list of content parts; null only on an assistant message with "
        "tool_calls.",
    )
    tool_calls = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        allow_null=True,
        help_text="Assistant only: {id, type: function, function: {name, arguments}}.",
    )
    tool_call_id = serializers.CharField(
        required=False, help_text="Tool only: the id of the call this message answers."
    )


class ChatTraceSerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["openai-chat"])
    messages = serializers.ListField(
        child=ChatMessageSerializer(),
        min_length=1,
        max_length=MAX_MESSAGES,
        help_text="The chat-completions message list (system / user / assistant with "
        f"tool_calls / tool), normalized into at most {MAX_STEPS} steps and kept as sent.",
    )


class AttemptInSerializer(serializers.Serializer):
    skill = JSONSkillKey()
    source = serializers.ChoiceField(
        choices=["live", "practice"],
        required=False,
        allow_null=True,
        help_text="practice when a scenario is given (the default then); live otherwise.",
    )
    scenario = JSONId(
        required=False,
        allow_null=True,
        help_text="The scenario of a claimed practice assignment; the attempt completes it.",
    )
    success = serializers.BooleanField()
    score = serializers.FloatField(min_value=0, max_value=1)
    difficulty = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    used_strategies = serializers.ListField(
        child=JSONId(),
        required=False,
        allow_null=True,
        max_length=MAX_USED_STRATEGIES,
        help_text="Ids of the strategy versions applied (version_id in a memory pull), each once.",
    )
    external_id = serializers.CharField(
        required=False,
        allow_null=True,
        min_length=1,
        max_length=MAX_EXTERNAL_ID_CHARS,
        help_text="The agent's own id for the attempt: a retry with the same id stores nothing "
        "new and answers the stored attempt.",
    )
    task_input = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=MAX_TASK_INPUT_CHARS
    )
    expected_actions = serializers.ListField(
        child=ExpectedActionSerializer(),
        required=False,
        allow_null=True,
        max_length=MAX_EXPECTED_ACTIONS,
        help_text="Ground truth, when known: the actions the task called for.",
    )
    trace = PolymorphicProxySerializer(
        component_name="Trace",
        serializers={"steps": StepsTraceSerializer, "openai-chat": ChatTraceSerializer},
        resource_type_field_name="format",
    )


STEPS_ATTEMPT_EXAMPLE = {
    "skill": "support.intent",
    "source": "live",
    "success": False,
    "score": 0.25,
    "external_id": "ticket-4711",
    "expected_actions": [{"name": "get_order", "arguments": {"order_id": "A1"}}],
    "trace": {
        "format": "steps",
        "steps": [
            {
                "action": "get_order",
                "arguments": {"order_id": "alice@example.com"},
                "expected": "the order",
                "actual": "no such order",
                "ok": False,
                "note": "used the email address as the order id",
            }
        ],
    },
}
CHAT_ATTEMPT_EXAMPLE = {
    "skill": "support.intent",
    "success": True,
    "score": 1.0,
    "trace": {
        "format": "openai-chat",
        "messages": [
            {"role": "system", "content": "You are a retail support agent."},
            {"role": "user", "content": "Where is my order A1?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_order", "arguments": '{"order_id": "A1"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"status": "shipped"}'},
            {"role": "assistant", "content": "Your order A1 has shipped."},
        ],
    },
}


class BulkAttemptsInSerializer(serializers.Serializer):
    attempts = serializers.ListField(
        child=AttemptInSerializer(), min_length=1, max_length=MAX_ATTEMPTS_PER_BATCH
    )


class AttemptOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.BooleanField(help_text="False when external_id matched a stored attempt.")
    external_id = serializers.CharField(allow_null=True)
    skill = serializers.CharField()
    source = serializers.CharField()
    success = serializers.BooleanField()
    score = serializers.FloatField()
    out_of_bounds = serializers.BooleanField()
    steps = serializers.IntegerField(help_text="Trace steps stored.")
    scenario = serializers.IntegerField(allow_null=True)


class BulkAttemptsOutSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    replayed = serializers.IntegerField()
    attempts = AttemptOutSerializer(many=True)


# --- Memory -------------------------------------------------------------------------------------


class MemoryQuerySerializer(StrictSerializer):
    skill = serializers.RegexField(KEY_PATTERN, max_length=200)
    context = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=10)
    release = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class MemoryStrategySerializer(serializers.Serializer):
    id = serializers.IntegerField(source="entry.strategy_id")
    version = serializers.IntegerField(source="entry.version")
    version_id = serializers.IntegerField(
        source="entry.version_id", help_text="Report this id in used_strategies."
    )
    skill = serializers.CharField(source="entry.skill_key")
    when = serializers.CharField(source="entry.when")
    do = serializers.CharField(source="entry.do")
    because = serializers.CharField(source="entry.because")
    relevance = serializers.FloatField()
    effectiveness = serializers.FloatField()
    helpful = serializers.IntegerField()
    harmful = serializers.IntegerField()
    uses = serializers.IntegerField()

    @staticmethod
    def represent(item):
        """The same fields as to_representation, without its per-field machinery: a pull is
        the API's busiest answer (tests hold the two equal)."""
        entry = item.entry
        return {
            "id": entry.strategy_id,
            "version": entry.version,
            "version_id": entry.version_id,
            "skill": entry.skill_key,
            "when": entry.when,
            "do": entry.do,
            "because": entry.because,
            "relevance": item.relevance,
            "effectiveness": item.effectiveness,
            "helpful": item.helpful,
            "harmful": item.harmful,
            "uses": item.uses,
        }


class MemoryOutSerializer(serializers.Serializer):
    release = serializers.IntegerField(allow_null=True)
    skill = serializers.CharField()
    strategies = MemoryStrategySerializer(many=True)


# --- Feedback, practice, proposals, competency -------------------------------------------------------


class FeedbackInSerializer(StrictSerializer):
    verdict = serializers.ChoiceField(choices=StrategyFeedback.Verdict.values)
    attempt = JSONId(
        required=False,
        allow_null=True,
        help_text="The attempt the verdict is about: one verdict per attempt and strategy.",
    )


class FeedbackOutSerializer(serializers.Serializer):
    strategy = serializers.IntegerField(source="strategy_id")
    verdict = serializers.CharField()
    attempt = serializers.IntegerField(source="attempt_id", allow_null=True)
    recorded = serializers.BooleanField()
    helpful = serializers.IntegerField()
    harmful = serializers.IntegerField()


class PracticeScenarioOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    skill = serializers.CharField(source="skill.key")
    difficulty = serializers.FloatField()
    prompt = serializers.CharField()
    origin = serializers.CharField()


class PracticeAssignmentOutSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(source="pk")
    reason = serializers.CharField()
    claimed_at = serializers.DateTimeField()
    scenario = PracticeScenarioOutSerializer()
    instructions = serializers.SerializerMethodField()

    def get_instructions(self, assignment) -> str:
        return (
            f"Attempt the prompt, then POST /api/v1/attempts/ with source 'practice' and "
            f"scenario {assignment.scenario_id} to complete this practice."
        )


class ProposalInSerializer(StrictSerializer):
    parent = JSONSkillKey(help_text="The skill the new one goes under, inside the boundaries.")
    key = JSONSkillKey(help_text="The new skill's key: the parent's key plus one word.")
    name = JSONText(max_length=200)
    description = JSONText(required=False, allow_blank=True, max_length=4000)
    rationale = JSONText(max_length=4000)
    kind = serializers.ChoiceField(
        choices=[Skill.Kind.SKILL, Skill.Kind.FAILURE_MODE], default=Skill.Kind.SKILL
    )
    evidence = serializers.ListField(
        child=JSONId(),
        required=False,
        max_length=100,
        default=list,
        help_text="Ids of this agent's attempts that show the need.",
    )


PROPOSAL_EXAMPLE = {
    "parent": "support.intent",
    "key": "support.intent.sarcasm",
    "name": "Sarcasm",
    "description": "The customer says the opposite of what they mean.",
    "rationale": "Three failed attempts read a sarcastic complaint literally.",
    "kind": "failure_mode",
    "evidence": [],
}


class ProposalOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    parent = serializers.CharField(source="parent.key")
    key = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    evidence = serializers.ListField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()


class CompetencyOutSerializer(serializers.Serializer):
    skill = serializers.CharField(source="skill.key")
    estimate = serializers.FloatField()
    uncertainty = serializers.FloatField()
    attempts = serializers.IntegerField()
    successes = serializers.IntegerField()
    rolled_up = serializers.BooleanField()
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    next_review_at = serializers.DateTimeField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    class ProblemSerializer(serializers.Serializer):
        path = serializers.CharField()
        message = serializers.CharField()

    detail = serializers.CharField()
    errors = ProblemSerializer(many=True)
