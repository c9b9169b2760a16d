"""Agents proposing new skills for the taxonomy."""

from practice.models import Attempt
from practice.services.agents import is_within_boundaries
from practice.services.errors import PracticeError
from taxonomy import services as taxonomy_services
from taxonomy.models import Skill, TaxonomyProposal


class OutOfBoundaries(PracticeError):
    """The agent asked about a skill outside its authorized subtrees."""


def propose_skill_for_agent(
    agent, *, parent_key, key, name, description, rationale, kind, evidence
):
    """An agent's taxonomy proposal: inside its boundaries, backed by its own attempts."""
    parent = Skill.objects.filter(key=parent_key).first()
    if parent is None:
        raise PracticeError(f"Unknown parent skill {parent_key}.")
    if not is_within_boundaries(agent, parent):
        raise OutOfBoundaries(f"Skill {parent_key} is outside this agent's boundaries.")
    evidence = sorted(set(evidence))
    own = set(Attempt.objects.filter(agent=agent, pk__in=evidence).values_list("pk", flat=True))
    foreign = [attempt_id for attempt_id in evidence if attempt_id not in own]
    if foreign:
        raise PracticeError(
            f"Evidence attempts {', '.join(map(str, foreign))} are not this agent's attempts."
        )
    try:
        return taxonomy_services.propose_skill(
            parent=parent,
            key=key,
            name=name,
            description=description,
            rationale=rationale,
            kind=kind,
            evidence=evidence,
            proposer_type=TaxonomyProposal.ProposerType.AGENT,
            proposer_name=agent.name,
            actor=agent,
        )
    except taxonomy_services.TaxonomyError as error:
        raise PracticeError(str(error)) from None
