"""Importing attempts recorded elsewhere: the runs of the tau-bench benchmark, stored through
the same service as the agent API."""

from dataclasses import dataclass, field

from practice.attempt_input import MAX_ATTEMPTS_PER_BATCH, validate_attempt
from practice.services.attempts import record_attempts
from practice.services.errors import PracticeError
from practice.tau_bench import RunNotConvertible, attempt_payload, reference_of

SHOWN_PROBLEMS_PER_RUN = 3


@dataclass(frozen=True)
class RefusedRun:
    run: str  # "run #4 (task_id 3, trial 0)"
    reasons: tuple[str, ...]


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0  # already stored: same external id
    refused: list[RefusedRun] = field(default_factory=list)


def import_tau_bench_runs(agent, skill, runs, *, progress=None, chunk_size=MAX_ATTEMPTS_PER_BATCH):
    """Store tau-bench runs as live attempts of `agent` on `skill`: runs that cannot be read are
    refused with their reasons, the others stored in atomic chunks; `progress(done, total,
    report)` follows each chunk. Runs stored by an earlier import are skipped."""
    if not agent.active:
        raise PracticeError(f"Agent {agent.name} is deactivated; nothing was imported.")
    if not skill.active:
        raise PracticeError(f"Skill {skill.key} is deactivated; nothing was imported.")
    if not 1 <= chunk_size <= MAX_ATTEMPTS_PER_BATCH:
        raise PracticeError(f"A chunk holds 1 to {MAX_ATTEMPTS_PER_BATCH} runs.")
    report = ImportReport()
    payloads = _readable_payloads(runs, skill.key, report)
    for start in range(0, len(payloads), chunk_size):
        result = record_attempts(agent, payloads[start : start + chunk_size])
        report.imported += len(result.created)
        report.skipped += len(result.replayed)
        if progress is not None:
            progress(min(start + chunk_size, len(payloads)), len(payloads), report)
    return report


def _readable_payloads(runs, skill_key, report):
    """The payloads of the runs that convert and validate; the others go to report.refused."""
    payloads = []
    position_of_external_id = {}
    for position, run in enumerate(runs, start=1):
        reference = reference_of(run, position)
        try:
            payload = attempt_payload(run, skill_key=skill_key)
        except RunNotConvertible as reason:
            report.refused.append(RefusedRun(str(reference), (str(reason),)))
            continue
        _, problems = validate_attempt(payload)
        if problems:
            shown = [f"{path}: {message}" for path, message in problems[:SHOWN_PROBLEMS_PER_RUN]]
            if len(problems) > SHOWN_PROBLEMS_PER_RUN:
                shown.append(f"and {len(problems) - SHOWN_PROBLEMS_PER_RUN} more problems")
            report.refused.append(RefusedRun(str(reference), tuple(shown)))
            continue
        earlier = position_of_external_id.setdefault(payload["external_id"], position)
        if earlier != position:
            report.refused.append(
                RefusedRun(str(reference), (f"repeats the task_id and trial of run #{earlier}",))
            )
            continue
        payloads.append(payload)
    return payloads
