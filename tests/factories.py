"""Factories for the tests; each test builds only what it needs."""

import factory
from django.contrib.auth import get_user_model

from oversight.services import Role, assign_role
from practice.models import Agent, AgentBoundary, Attempt, PracticeScenario, TraceStep
from taxonomy.models import Skill


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"skill{n}")
    name = factory.LazyAttribute(
        lambda skill: skill.key.rsplit(".", 1)[-1].replace("_", " ").title()
    )
    parent = factory.LazyAttribute(
        lambda skill: SkillFactory(key=skill.key.rsplit(".", 1)[0]) if "." in skill.key else None
    )


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        django_get_or_create = ("name",)
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"agent-{n}")

    @factory.post_generation
    def boundaries(agent, create, keys, **kwargs):
        for key in keys or ():
            AgentBoundary.objects.get_or_create(agent=agent, skill=SkillFactory(key=key))


class AttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attempt

    agent = factory.SubFactory(AgentFactory)
    skill = factory.SubFactory(SkillFactory)
    success = False
    score = 0.0
    trace_format = Attempt.TraceFormat.STEPS


class TraceStepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TraceStep

    attempt = factory.SubFactory(AttemptFactory)
    position = factory.Sequence(int)
    action = "lookup_order"


class PracticeScenarioFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PracticeScenario

    skill = factory.SubFactory(SkillFactory)
    difficulty = 0.3
    prompt = factory.Sequence(lambda n: f"Hi, where is my order #W{n}?")
    status = PracticeScenario.Status.APPROVED


class ScenarioVariantFactory(PracticeScenarioFactory):
    """An LLM-written variant of another scenario, awaiting review."""

    variant_of = factory.SubFactory(PracticeScenarioFactory)
    skill = factory.LazyAttribute(lambda variant: variant.variant_of.skill)
    origin = PracticeScenario.Origin.VARIANT
    status = PracticeScenario.Status.PROPOSED
    difficulty = 0.7
    note = "Harder: the order number is missing and the customer names two orders."


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def role(user, create, role, **kwargs):
        if role:
            assign_role(user, role)


def reviewer(**kwargs):
    return UserFactory(role=Role.REVIEWER, **kwargs)


def operator(**kwargs):
    return UserFactory(role=Role.OPERATOR, **kwargs)


def auditor(**kwargs):
    return UserFactory(role=Role.AUDITOR, **kwargs)
