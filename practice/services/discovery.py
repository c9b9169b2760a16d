"""Taxonomy discovery: a failure mode that keeps coming back in the reflections on failed attempts
at a skill becomes a taxonomy proposal for a failure-mode node under that skill.
"""

import logging
import re
from collections import Counter

from django.conf import settings
from django.db import IntegrityError, transaction

from practice.models import Reflection
from taxonomy import services as taxonomy_services
from taxonomy.models import Skill, TaxonomyProposal

logger = logging.getLogger(__name__)

MAX_FAILURE_MODE_SLUG_CHARS = 60
MAX_DISCOVERY_EVIDENCE = 1_000
# Failure modes that name no particular failure; a taxonomy node for them would say nothing.
UNINFORMATIVE_FAILURE_MODES = frozenset({"none", "other", "unknown"})


def failure_mode_slug(failure_mode):
    """A failure mode as one skill key segment: lowercase, [a-z][a-z0-9_]*, at most 60
    characters; "" when nothing usable is left."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(failure_mode or "").casefold()).strip("_")
    slug = re.sub(r"^[^a-z]+", "", slug)
    return slug[:MAX_FAILURE_MODE_SLUG_CHARS].rstrip("_")


def discover_failure_mode(attempt, reflection):
    """File a taxonomy proposal for the reflection's failure mode under the attempt's skill
    once enough failed attempts show it, and only once per key."""
    slug = failure_mode_slug(reflection.failure_mode)
    if not slug or slug in UNINFORMATIVE_FAILURE_MODES:
        return None
    skill = attempt.skill
    key = f"{skill.key}.{slug}"
    if len(key) > Skill._meta.get_field("key").max_length:
        return None
    # A proposal first: once discovery has filed one, it is there whatever became of it.
    if TaxonomyProposal.objects.filter(key=key).exists() or Skill.objects.filter(key=key).exists():
        return None
    showing = Reflection.objects.filter(
        status=Reflection.Status.SUCCEEDED,
        failure_mode=reflection.failure_mode,
        attempt__skill=skill,
        attempt__success=False,
        attempt__out_of_bounds=False,
    )
    evidence = sorted(set(showing.values_list("attempt_id", flat=True)[:MAX_DISCOVERY_EVIDENCE]))
    if len(evidence) < getattr(settings, "ETUDE_DISCOVERY_MIN_EVIDENCE", 3):
        return None
    fault_type, _ = Counter(showing.values_list("fault_type", flat=True)).most_common(1)[0]
    fault_label = Reflection.FaultType(fault_type).label.lower()
    try:
        # A savepoint: a refused proposal must not undo the reflection stored before it.
        with transaction.atomic():
            return taxonomy_services.propose_skill(
                parent=skill,
                key=key,
                name=slug.replace("_", " ").capitalize(),
                description=(
                    f'Failures on {skill.key} that reflection traced to "{reflection.failure_mode}".'
                ),
                rationale=(
                    f"{len(evidence)} failed attempts on {skill.key} were reflected on with the "
                    f'failure mode "{reflection.failure_mode}" (fault type: {fault_label}), '
                    "which no skill or failure mode in the taxonomy covers yet."
                ),
                kind=Skill.Kind.FAILURE_MODE,
                evidence=evidence,
                proposer_type=TaxonomyProposal.ProposerType.COACH,
                proposer_name=f"{reflection.coach_name} {reflection.coach_version}",
            )
    except (taxonomy_services.TaxonomyError, IntegrityError) as error:
        logger.info("No taxonomy proposal for %s: %s", key, error)
        return None
