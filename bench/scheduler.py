"""Benchmark of the practice scheduler: `.venv/bin/python bench/scheduler.py`.

It runs the simulation (oversight.simulation, through the real service layer: Etude's
scheduler, competency estimator, FSRS reviews, offline coach and auto-approval) with the same
seeds under four practice policies, each in its own throwaway SQLite database:

- etude: practice.scheduler.schedule_practice queues the day's practice, the agents claim it;
- random: the same daily budget on skills and scenarios drawn uniformly from each agent's bank;
- round-robin: the same budget on each agent's skills in turn;
- oracle: a ceiling, not a rival: the same budget spent knowing the hidden levels (only on
  skills truly below mastery plus the scheduler's margin, the farthest below first, each at
  the difficulty that teaches most). It shows how far any scheduler could go in this simulation.
  ``--oracle-errors 0.3 0.5`` adds oracles that read each level with a fixed error of that sd
  (logits), drawn once per agent and skill: what an estimate right on average but wrong for a
  given skill would cost. ``SD:MARGIN`` (e.g. ``0.3:0.6``) has such an oracle practice each
  skill to MARGIN logits above its mastery level instead of the scheduler's 0.3: how far a
  policy that knew the size of its error could make up for it.

Every policy draws from the same kind of bank: the operators' scenarios and the replays of
failed live tasks (see oversight.simulation.policies).

Every agent also does the same number of live tasks a day under every policy. Each run has
three phases: learning (LEARNING_DAYS), idle (IDLE_DAYS without any attempt: hidden levels
fade, estimates decay), then review (REVIEW_DAYS of the policy's practice, no live tasks).

Definitions (pairs are an agent and a skill with a scenario bank in its boundaries):

- initially weak: the pair's hidden level gives a success on a medium task below the skill's
  mastery threshold at the start.
- mastered, at three levels of how far the product has caught up with the truth:
  truly: the hidden level gives a medium-task success at or above the threshold;
  recognized: truly, and the competency estimate as the product shows it (decayed to the end
  of the day) is at or above the threshold;
  classified: truly, and practice.estimator.classify calls the estimate "mastered"
  (confidently above the threshold).
- attempts to master (one figure per level): for each agent, its practice attempts up to the
  end of the first day on which all its initially weak pairs are mastered at once; summed over
  agents. An agent that never gets there counts all its practice attempts of the learning
  phase, and the figure is shown as a lower bound (">").
- AULC: the area under the learning curve, as a share of the best possible area: the mean,
  over the learning days, of the mean true medium-task success of the initially weak pairs.
- retention: of the initially weak pairs truly mastered at the end of the learning phase, the
  share whose hidden level is still at or above the threshold after the idle and review phases;
  kept: the same pairs still above the threshold, as a share of all initially weak pairs (a
  policy that masters fewer skills, more deeply, retains a larger share of fewer).
- estimate error: how far the competency estimates the scheduler reads (on the agent's own
  prior, as practice.scheduler.planning.read_skills gives them) lie from the hidden levels, in
  logits: the root mean square over the initially weak pairs with at least three attempts,
  sampled every ten learning days. The scheduler can only be as good as these.
- spent on mastered: the share of the learning phase's practice attempts made on a skill the
  agent had truly mastered already (hidden level at or above the threshold).
  (Skills mastered from the start are left out: in the model an agent never forgets below where
  it started, so they would count as retained whatever the policy did.)

Target (issue 6): the etude policy needs at most half the attempts of random and keeps at
least 95% of mastered skills above threshold. Each run also lists the initially weak pairs that
were mastered after learning but lost by the end (level at the end of learning -> at the end). Prints the table and exits 0: a benchmark, not a
test.
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import mean

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ("etude", "random", "round-robin", "oracle")
LEARNING_DAYS = 90
IDLE_DAYS = 60
REVIEW_DAYS = 21
AGENTS = 3
SEEDS = (1, 2)
LIVE_TASKS_PER_DAY = 3


def main():
    options = _parse_arguments()
    if options.child:
        return _child(options)
    if options.prepare:
        return _prepare(options)
    return _parent(options)


def _parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--agents", type=int, default=AGENTS, help="simulated agents per run")
    parser.add_argument("--learning-days", type=int, default=LEARNING_DAYS)
    parser.add_argument("--idle-days", type=int, default=IDLE_DAYS)
    parser.add_argument("--review-days", type=int, default=REVIEW_DAYS)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="runs at once")
    parser.add_argument(
        "--oracle-errors",
        nargs="*",
        default=[],
        type=_error_and_margin,
        metavar="SD[:MARGIN]",
        help="also run the oracle reading each hidden level with a fixed error of this sd "
        "(logits), practicing to MARGIN logits above mastery (default: the scheduler's)",
    )
    parser.add_argument("--oracle-error", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--oracle-margin", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, metavar=("POLICY", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    return parser.parse_args()


# --- the parent: databases, runs, table ---------------------------------------------------------


def _parent(options):
    workdir = Path(tempfile.mkdtemp(prefix="etude-bench-scheduler."))
    started = time.monotonic()
    try:
        template = workdir / "template.sqlite3"
        print("Preparing a database with the demo taxonomy and scenario bank ...", flush=True)
        _run_child(["--prepare"], template, workdir)
        variants = [(policy, 0.0, None) for policy in POLICIES]
        variants += [("oracle", error, margin) for error, margin in options.oracle_errors]
        runs = [(variant, seed) for seed in options.seeds for variant in variants]
        print(
            f"Running {len(runs)} simulations ({options.agents} agents, "
            f"{options.learning_days} learning + {options.idle_days} idle + "
            f"{options.review_days} review days each, {options.jobs} at a time) ...",
            flush=True,
        )

        def run(variant_and_seed):
            (policy, error, margin), seed = variant_and_seed
            database = workdir / f"{policy}-{error}-{margin}-{seed}.sqlite3"
            shutil.copyfile(template, database)
            begun = time.monotonic()
            arguments = _child_arguments(options, policy, seed, error, margin)
            result = _run_child(arguments, database, workdir)
            print(
                f"  {_label(policy, error, margin):<29} seed {seed}: done in "
                f"{time.monotonic() - begun:.0f} s",
                flush=True,
            )
            return result

        with ThreadPoolExecutor(max_workers=max(options.jobs, 1)) as pool:
            results = list(pool.map(run, runs))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    _report(options, results, time.monotonic() - started)
    return 0


def _error_and_margin(text):
    error, _, margin = text.partition(":")
    try:
        return float(error), (float(margin) if margin else None)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected SD or SD:MARGIN in logits, like 0.3 or 0.3:0.6, not {text!r}"
        ) from None


def _label(policy, error, margin=None):
    if policy != "oracle":
        return policy
    if not error and margin is None:
        return "oracle (ceiling)"
    label = f"oracle, error {error:g}"
    return label if margin is None else f"{label}, margin {margin:g}"


def _estimate_error(runs):
    rmse = [run["estimate_rmse"] for run in runs if run["estimate_rmse"] is not None]
    bias = [run["estimate_bias"] for run in runs if run["estimate_bias"] is not None]
    return f"{mean(rmse):.2f} ({mean(bias):+.2f})" if rmse else "-"


def _child_arguments(options, policy, seed, error, margin):
    return [
        "--child",
        policy,
        str(seed),
        "--oracle-error",
        str(error),
        *(["--oracle-margin", str(margin)] if margin is not None else []),
        "--agents",
        str(options.agents),
        "--learning-days",
        str(options.learning_days),
        "--idle-days",
        str(options.idle_days),
        "--review-days",
        str(options.review_days),
    ]


def _run_child(arguments, database, workdir):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "etude_site.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{database}",
        "ETUDE_VAR_DIR": str(workdir),
        "LOG_LEVEL": "WARNING",
    }
    finished = subprocess.run(
        [sys.executable, __file__, *arguments, "--database", str(database)],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        sys.stderr.write(finished.stdout + finished.stderr)
        raise SystemExit(f"bench/scheduler.py {' '.join(arguments)} failed")
    lines = finished.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else None


def _report(options, results, elapsed):
    labels = list(dict.fromkeys(result["label"] for result in results))
    by_policy = {
        label: [result for result in results if result["label"] == label] for label in labels
    }
    first = results[0]
    print()
    print(
        f"Scheduler efficiency: {options.agents} simulated agents, seeds "
        f"{', '.join(map(str, options.seeds))}; {first['budget']} practice items per agent per "
        f"day, {LIVE_TASKS_PER_DAY} live tasks; {options.learning_days} learning days, then "
        f"{options.idle_days} idle and {options.review_days} review days. Means over the seeds."
    )
    print(
        "Practice attempts until every initially weak skill is mastered: truly (hidden level), "
        "also recognized (estimate >= threshold), also classified mastered (confidently above)."
    )
    print()
    columns = (
        ("policy", max(len(label) for label in labels)),
        ("weak pairs", 10),
        ("truly", 7),
        ("recognized", 10),
        ("classified", 10),
        ("AULC", 5),
        (f"mastered day {options.learning_days}", 15),
        ("retention", 9),
        ("kept", 5),
        ("estimate error", 14),
        ("spent on mastered", 17),
    )
    print("| " + " | ".join(f"{name:>{width}}" for name, width in columns) + " |")
    print("|" + "|".join("-" * (width + 2) for _, width in columns) + "|")
    summary = {}
    for policy, runs in by_policy.items():
        attempts = {}
        for level in LEVELS:
            reached = all(run[f"reached_{level}"] for run in runs)
            figure = mean(run[f"attempts_{level}"] for run in runs)
            attempts[level] = (figure, reached)
        retentions = [run["retention"] for run in runs if run["retention"] is not None]
        retention = mean(retentions) if retentions else float("nan")
        summary[policy] = (attempts, retention)
        cells = (
            policy,
            f"{mean(run['weak_pairs'] for run in runs):.0f}/{mean(run['pairs'] for run in runs):.0f}",
            *(("" if reached else "> ") + f"{figure:.0f}" for figure, reached in attempts.values()),
            f"{mean(run['aulc'] for run in runs):.3f}",
            f"{mean(run['share_true'] for run in runs):.0%}",
            f"{retention:.1%}",
            f"{mean(run['kept'] for run in runs):.0%}",
            _estimate_error(runs),
            f"{mean(run['practice_on_mastered'] for run in runs):.0%}",
        )
        print(
            "| "
            + " | ".join(
                f"{cell:<{width}}" if index == 0 else f"{cell:>{width}}"
                for index, (cell, (_, width)) in enumerate(zip(cells, columns, strict=True))
            )
            + " |"
        )
    print()
    for run in results:
        print(
            f"  {run['label']:<29} seed {run['seed']}: practice attempts to master "
            + ", ".join(
                f"{level} {run[f'attempts_{level}']}{'' if run[f'reached_{level}'] else '+'}"
                for level in LEVELS
            )
            + f" (of {run['practice_attempts']} in all); AULC {run['aulc']:.3f}; retained "
            f"{run['retained']}/{run['learned']}; {run['live_strategies']} strategies live"
        )
        if run["never_mastered"]:
            print(f"    not truly mastered after learning: {'; '.join(run['never_mastered'])}")
        if run["lost"]:
            print(f"    mastered after learning, lost by the end: {'; '.join(run['lost'])}")
    print("  (+: not every agent got there in the learning phase; the figure is a lower bound)")
    print()
    (etude, etude_retention), (random_policy, _) = summary["etude"], summary["random"]
    for level in LEVELS:
        (mine, mine_reached), (theirs, theirs_reached) = etude[level], random_policy[level]
        ratio = mine / theirs if theirs else float("nan")
        verdict = "met" if ratio <= 0.5 and mine_reached else "not met"
        if not mine_reached:
            verdict += " (etude did not get there)"
        elif not theirs_reached:
            verdict += " (random did not get there: the ratio is an upper bound)"
        print(f"Target etude/random <= 50%, {level}: {ratio:.0%}, {verdict}.")
    print(
        f"Target etude retention >= 95%: {etude_retention:.1%}, "
        f"{'met' if etude_retention >= 0.95 else 'not met'}."
    )
    (oracle, oracle_retention) = summary[_label("oracle", 0.0)]
    (ceiling, ceiling_reached), (theirs, _) = oracle["true"], random_policy["true"]
    print(
        f"Ceiling: the oracle needed {ceiling / theirs if theirs else float('nan'):.0%} of "
        f"random's attempts (truly{'' if ceiling_reached else ', lower bound'}) and retained "
        f"{oracle_retention:.1%}."
    )
    print(f"Total time {elapsed:.0f} s.")


# --- the children: one database each ----------------------------------------------------------


def _setup_django():
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _prepare(options):
    _setup_django()
    from django.core.management import call_command

    from oversight.demo import DEMO_SCENARIOS, DEMO_TAXONOMY
    from practice.scenario_file import parse_scenarios
    from practice.services.scenarios import load_scenarios
    from taxonomy import services as taxonomy_services
    from taxonomy.taxonomy_file import parse_taxonomy

    call_command("migrate", verbosity=0)
    taxonomy_services.load_taxonomy(
        parse_taxonomy(DEMO_TAXONOMY.read_text(encoding="utf-8")), actor="benchmark"
    )
    load_scenarios(parse_scenarios(DEMO_SCENARIOS.read_text(encoding="utf-8")))
    print(json.dumps({"prepared": options.database}))
    return 0


def _child(options):
    _setup_django()
    from django.conf import settings

    from oversight.simulation import Simulation, SimulationConfig
    from oversight.simulation.runner import background_hooks_detached
    from practice.scheduler.queue import daily_budget

    # The benchmark is a simulation: strategies go live as in the demo.
    settings.ETUDE_SIMULATION_AUTO_APPROVE = True
    policy, seed = options.child[0], int(options.child[1])
    total = options.learning_days + options.idle_days + options.review_days
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    config = SimulationConfig(
        days=total,
        agents=options.agents,
        seed=seed,
        policy=policy,
        live_tasks_per_day=LIVE_TASKS_PER_DAY,
        start=today - timedelta(days=total),
        oracle_error=options.oracle_error,
        oracle_margin=options.oracle_margin,
    )
    simulation = Simulation(config)
    with background_hooks_detached():
        simulation.set_up()
        measure = _Measure(simulation)
        for number in range(options.learning_days):
            simulation.run_day(number)
            measure.learning_day(number)
        simulation.idle(options.idle_days)
        for number in range(options.learning_days + options.idle_days, total):
            simulation.run_day(number, live_tasks=0)
    result = measure.result(policy, seed)
    result["budget"] = daily_budget()
    result["label"] = _label(policy, options.oracle_error, options.oracle_margin)
    print(json.dumps(result))
    return 0


# The estimate error is sampled every ERROR_SAMPLE_DAYS learning days, on pairs with at least
# ERROR_MIN_ATTEMPTS attempts.
ERROR_SAMPLE_DAYS = 10
ERROR_MIN_ATTEMPTS = 3
# How far the product must have caught up with a hidden mastery for it to count (see above).
LEVELS = ("true", "recognized", "confident")


class _Measure:
    """The figures of one run, read from the simulation's hidden levels and the estimates."""

    def __init__(self, simulation):
        from oversight.simulation import model
        from taxonomy.models import Skill

        self.model = model
        self.simulation = simulation
        self.thresholds = dict(Skill.objects.values_list("key", "mastery_threshold"))
        self.weak = {
            state.agent.name: sorted(
                key
                for key in state.live_skills
                if not model.is_mastered(state.hidden[key], self.thresholds[key])
            )
            for state in simulation.states
        }
        self.curve = []
        self.done = {level: {} for level in LEVELS}  # level -> agent name -> practice attempts
        self.practice_attempts = {}  # agent name -> practice attempts so far
        self.learned = []  # (agent name, skill key) truly mastered at the end of learning
        self.mastered_now = dict.fromkeys(LEVELS, 0)
        self.final_levels = {
            (state.agent.name, key): state.hidden[key].level
            for state in simulation.states
            for key in self.weak[state.agent.name]
        }
        self.final_practice = dict.fromkeys(self.final_levels, 0)
        self.learning_outcomes = 0
        self.errors = []  # estimate - hidden level (logits), see estimate_errors

    def estimate_errors(self, state, now):
        """How far the scheduler's readings of the agent's initially weak skills (with at least
        ERROR_MIN_ATTEMPTS attempts) lie from their hidden levels, in logits."""
        from practice.models import CompetencyEstimate
        from practice.scheduler.planning import read_skills
        from taxonomy.models import Skill

        weak = self.weak[state.agent.name]
        tried = set(
            CompetencyEstimate.objects.filter(
                agent=state.agent, skill__key__in=weak, attempts__gte=ERROR_MIN_ATTEMPTS
            ).values_list("skill__key", flat=True)
        )
        skills = list(Skill.objects.filter(key__in=weak).order_by("key"))
        return [
            reading.state["mu"] - state.hidden[reading.skill.key].level
            for reading in read_skills(state.agent, skills, now)
            if reading.skill.key in tried
        ]

    def readings(self, state, now):
        """The agent's initially weak skills mastered at each level, as of ``now``."""
        from practice import estimator
        from practice.models import CompetencyEstimate

        states = dict(
            CompetencyEstimate.objects.filter(agent=state.agent).values_list(
                "skill__key", "model_state"
            )
        )
        found = {level: set() for level in LEVELS}
        for key in self.weak[state.agent.name]:
            threshold = self.thresholds[key]
            if not self.model.is_mastered(state.hidden[key], threshold):
                continue
            found["true"].add(key)
            reading = estimator.decay(states.get(key) or {}, now)
            if estimator.competency(reading)[0] >= threshold:
                found["recognized"].add(key)
            if estimator.classify(reading, threshold) == "mastered":
                found["confident"].add(key)
        return found

    def learning_day(self, number):
        now = self.simulation.start + timedelta(days=number + 1)
        successes = []
        self.learned = []
        self.mastered_now = dict.fromkeys(LEVELS, 0)
        for state in self.simulation.states:
            name = state.agent.name
            weak = set(self.weak[name])
            successes += [self.model.medium_success(state.hidden[key].level) for key in weak]
            self.practice_attempts[name] = state.practice_attempts
            found = self.readings(state, now)
            self.learned += [(name, key) for key in sorted(found["true"])]
            if (number + 1) % ERROR_SAMPLE_DAYS == 0:
                self.errors += self.estimate_errors(state, now)
            for level in LEVELS:
                self.mastered_now[level] += len(found[level])
                if name not in self.done[level] and found[level] >= weak:
                    self.done[level][name] = state.practice_attempts
        self.curve.append(mean(successes) if successes else 1.0)
        self.learning_outcomes = len(self.simulation.report.outcomes)
        self.final_levels = {
            (state.agent.name, key): state.hidden[key].level
            for state in self.simulation.states
            for key in self.weak[state.agent.name]
        }
        self.final_practice = {
            (state.agent.name, key): state.practiced.get(key, 0)
            for state in self.simulation.states
            for key in self.weak[state.agent.name]
        }

    def result(self, policy, seed):
        from practice.models import Strategy

        states = {state.agent.name: state for state in self.simulation.states}
        weak_pairs = sum(len(keys) for keys in self.weak.values())
        result = {
            "policy": policy,
            "seed": seed,
            "pairs": sum(len(state.live_skills) for state in states.values()),
            "weak_pairs": weak_pairs,
            "aulc": mean(self.curve),
            "practice_attempts": sum(state.practice_attempts for state in states.values()),
            "live_strategies": Strategy.objects.filter(status=Strategy.Status.LIVE).count(),
        }
        for level in LEVELS:
            done = self.done[level]
            result[f"attempts_{level}"] = sum(
                done.get(name, self.practice_attempts[name]) for name in states
            )
            result[f"reached_{level}"] = len(done) == len(states)
            result[f"share_{level}"] = self.mastered_now[level] / weak_pairs if weak_pairs else 1.0
        retained = sum(
            1
            for name, key in self.learned
            if self.model.is_mastered(states[name].hidden[key], self.thresholds[key])
        )
        result["lost"] = [
            f"{name}:{key} ({self.model.medium_success(self.final_levels[(name, key)]):.2f}"
            f"->{self.model.medium_success(states[name].hidden[key].level):.2f}"
            f" of {self.thresholds[key]:.2f})"
            for name, key in self.learned
            if not self.model.is_mastered(states[name].hidden[key], self.thresholds[key])
        ]
        learned = set(self.learned)
        result["never_mastered"] = [
            f"{name}:{key} ({self.model.medium_success(states[name].hidden[key].start):.2f}"
            f"->{self.model.medium_success(self.final_levels[(name, key)]):.2f}"
            f" of {self.thresholds[key]:.2f}, practiced {self.final_practice[(name, key)]})"
            for name, keys in self.weak.items()
            for key in keys
            if (name, key) not in learned
        ]
        practice = [
            outcome
            for outcome in self.simulation.report.outcomes[: self.learning_outcomes]
            if outcome.source == "practice"
        ]
        result["practice_on_mastered"] = (
            sum(
                self.model.medium_success(outcome.level) >= self.thresholds[outcome.skill]
                for outcome in practice
            )
            / len(practice)
            if practice
            else 0.0
        )
        result["estimate_rmse"] = (
            math.sqrt(mean(error * error for error in self.errors)) if self.errors else None
        )
        result["estimate_bias"] = mean(self.errors) if self.errors else None
        result["learned"] = len(self.learned)
        result["retained"] = retained
        result["kept"] = retained / weak_pairs if weak_pairs else 1.0
        result["retention"] = retained / len(self.learned) if self.learned else None
        return result


if __name__ == "__main__":
    sys.exit(main())
