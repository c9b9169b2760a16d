import json
import re

from django.core.management.base import BaseCommand, CommandError

from practice.models import PracticeScenario
from practice.services.errors import PracticeError
from practice.services.scenarios import (
    check_variant_request,
    new_request_key,
    request_variant,
    scenario_label,
    write_variant,
)

REQUESTER = "manage.py write_variant"


class Command(BaseCommand):
    help = (
        "Ask the LLM coach for a variant of an approved scenario at another difficulty. The "
        "variant arrives as a proposed scenario in the review queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("scenario", help="the original scenario's key or id")
        parser.add_argument(
            "--difficulty", type=float, required=True, help="the variant's difficulty, 0 to 1"
        )
        parser.add_argument(
            "--now",
            action="store_true",
            help="write the variant in this process and print it, instead of queueing it",
        )

    def handle(self, *args, scenario, difficulty, now=False, **options):
        original = _find(scenario)
        try:
            if not now:
                request_key = request_variant(original, difficulty, requested_by=REQUESTER)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Queued a variant of {scenario_label(original)} at difficulty "
                        f"{difficulty:.2f} (request {request_key}); it will appear as a "
                        "proposed scenario in the review queue."
                    )
                )
                return
            check_variant_request(original, difficulty)
            variant, _ = write_variant(
                original.pk, difficulty, new_request_key(), requested_by=REQUESTER
            )
        except PracticeError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Proposed scenario {scenario_label(variant)}: a variant of "
                f"{scenario_label(original)} at difficulty {variant.difficulty:.2f}, "
                "awaiting review."
            )
        )
        self.stdout.write(f"Note: {variant.note}")
        self.stdout.write(f"Prompt:\n{variant.prompt}")
        self.stdout.write(
            "Expected actions: "
            + json.dumps(variant.expected_actions, ensure_ascii=False, indent=2)
        )


def _find(reference):
    """The scenario with this key, or else with this id."""
    found = PracticeScenario.objects.select_related("skill").filter(key=reference).first()
    if found is None and re.fullmatch(r"[0-9]{1,18}", reference):
        found = PracticeScenario.objects.select_related("skill").filter(pk=int(reference)).first()
    if found is None:
        raise CommandError(f"No scenario with the key or id {reference!r}.")
    return found
