"""Benchmark of the operator dashboards: `.venv/bin/python bench/dashboards.py`.

Without DATABASE_URL it runs itself under scripts/with-postgres (a throwaway PostgreSQL
server). It migrates, then bulk-inserts (COPY, not through the services) 200 agents, a
300-skill taxonomy (6 categories x 7 skills x 6 sub-skills), 1,000,000 attempts over 180 days
with the CompetencyEstimate rows that match them (leaves from their attempts, parents rolled
up), learning-curve snapshots, and two strategies per leaf, one of which went live (its
"strategy.live" audit events form a valid hash chain). It then times, in process with Django's
test Client signed in as an operator (median of several runs after a warm-up): the heatmap
page at the default level and at the leaf level, with the size of its chart JSON (everything the
chart draws and hovers with: the figure, the labels and the deflated hover details, whose
inflated size it also reports); a drill-down (the htmx fragment a click loads, and the full
page); and one raw SQL query fetching the same cells as the heatmap, the floor. It prints a table against the targets of issue 7 and exits 0
whatever the figures: a benchmark, not a test.
"""

import argparse
import base64
import gzip
import json
import math
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THROWAWAY_MARK = "ETUDE_BENCH_THROWAWAY_DB"

CATEGORIES, SKILLS_PER_CATEGORY, SUBSKILLS_PER_SKILL = 6, 7, 6  # 6 + 42 + 252 = 300 skills
HISTORY_DAYS = 180
PRACTICE_SHARE = 0.3  # attempts that are practice rather than live tasks
SNAPSHOTS_PER_DEPTH = {0: 40, 1: 20, 2: 8}  # learning-curve points per agent and skill
LONG_CURVE = 2_500  # points on the drilled pair, more than a drill-down draws
STRATEGY_LIFT = 0.1  # success rate gained on a leaf once its strategy is live

TARGETS = {"heatmap_ms": 300, "payload_kb": 300, "drilldown_ms": 150}


def main():
    options = _parse_arguments()
    if not os.environ.get("DATABASE_URL") and os.environ.get(THROWAWAY_MARK) != "1":
        _rerun_under_throwaway_postgres()
    workdir = Path(tempfile.mkdtemp(prefix="etude-bench-dash."))
    _configure_environment(workdir)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench: DATABASE_URL must name a PostgreSQL database.")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0].split()[0]
    print(f"Building the benchmark database (PostgreSQL {version})", flush=True)
    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    from practice.models import Agent

    if Agent.objects.exists():
        sys.exit("bench: the database already holds agents; give it an empty database.")
    world = build(options, say=lambda line: print(line, flush=True))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Built in {time.monotonic() - started:.1f} s\n", flush=True)
    _report(measure(options, world), world, options)
    return 0


def _parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9, help="timed runs per measure")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def _rerun_under_throwaway_postgres():
    """Without DATABASE_URL, never guess a database: start a fresh server for this run."""
    os.environ[THROWAWAY_MARK] = "1"
    script = str(ROOT / "scripts" / "with-postgres")
    os.execv(script, [script, sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]])


def _configure_environment(workdir):
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "etude_site.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "0",  # the test Client speaks plain HTTP
            "ETUDE_VAR_DIR": str(workdir),
            "CELERY_BROKER_URL": "filesystem://",
            "LOG_LEVEL": "WARNING",
        }
    )
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ETUDE_COACH_MODEL"):
        os.environ.pop(name, None)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


# --- Data ----------------------------------------------------------------------------------------


class World:
    """What the measures need from the built database."""

    def __init__(self):
        self.operator = None
        self.drilled = None  # (agent name, skill key) with the long curve and a live strategy
        self.counts = {}


def build(options, *, say):
    from django.db import transaction

    rng = random.Random(options.seed)
    now = datetime.now(UTC)
    world = World()
    with transaction.atomic():
        skills = _skills(say)
        agents = _agents(options.agents, skills, say)
        leaves = [skill for skill in skills if skill.depth == 2]
        live_at = _strategies(leaves, now, rng, say)
        totals = _attempts(agents, leaves, live_at, options.attempts, now, rng, say)
        _competencies(agents, skills, totals, now, rng, say)
        drilled_skill = next(skill for skill in skills if skill.depth == 1)
        _snapshots(agents, skills, totals, (agents[0], drilled_skill), now, rng, say)
        world.operator = _operator()
    world.drilled = (agents[0].name, drilled_skill.key)
    world.counts = {"agents": len(agents), "skills": len(skills), "leaves": len(leaves)}
    return world


def _skills(say):
    from taxonomy.models import Skill

    started = time.monotonic()
    words = "orders billing shipping returns accounts policy".split()
    roots = Skill.objects.bulk_create(
        Skill(key=word, name=word.title(), kind=Skill.Kind.CATEGORY, depth=0)
        for word in words[:CATEGORIES]
    )
    middles = Skill.objects.bulk_create(
        Skill(key=f"{root.key}.skill_{n}", name=f"{root.name} skill {n}", parent=root, depth=1)
        for root in roots
        for n in range(SKILLS_PER_CATEGORY)
    )
    leaves = Skill.objects.bulk_create(
        Skill(
            key=f"{middle.key}.case_{n}",
            name=f"{middle.name}, case {n}",
            kind=Skill.Kind.FAILURE_MODE if n % 3 == 2 else Skill.Kind.SKILL,
            parent=middle,
            depth=2,
        )
        for middle in middles
        for n in range(SUBSKILLS_PER_SKILL)
    )
    skills = [*roots, *middles, *leaves]
    say(f"  {len(skills)} skills in {time.monotonic() - started:.1f} s")
    return skills


def _agents(count, skills, say):
    from practice.models import Agent, AgentBoundary

    started = time.monotonic()
    agents = Agent.objects.bulk_create(
        Agent(name=f"agent-{n:03d}", description="Benchmark agent", simulated=n % 4 == 3)
        for n in range(count)
    )
    AgentBoundary.objects.bulk_create(
        AgentBoundary(agent=agent, skill=skill)
        for agent in agents
        for skill in skills
        if skill.depth == 0
    )
    say(f"  {len(agents)} agents in {time.monotonic() - started:.1f} s")
    return agents


def _strategies(leaves, now, rng, say):
    """Two strategies per leaf, one live since a moment inside the history. Returns the moment
    each leaf's strategy went live."""
    from oversight.models import AuditEvent
    from oversight.services import event_hash
    from oversight.services.audit import GENESIS_HASH
    from practice.models import Strategy, StrategyVersion

    started = time.monotonic()
    strategies = Strategy.objects.bulk_create(
        Strategy(
            skill=leaf,
            status=Strategy.Status.LIVE if live else Strategy.Status.PROPOSED,
            support_count=rng.randint(1, 6),
            helpful_count=rng.randint(0, 40) if live else 0,
            harmful_count=rng.randint(0, 8) if live else 0,
        )
        for leaf in leaves
        for live in (True, False)
    )
    versions = StrategyVersion.objects.bulk_create(
        StrategyVersion(
            strategy=strategy,
            number=1,
            when_text=f"when the case of {strategy.skill.name.lower()} comes up",
            do_text="look the order up before acting and confirm the details with the customer",
            because_text="acting on an unverified order changes the wrong one",
        )
        for strategy in strategies
    )
    for strategy, version in zip(strategies, versions, strict=True):
        strategy.current_version = version
    Strategy.objects.bulk_update(strategies, ["current_version"], batch_size=1_000)

    # Backdated "went live" events, chained exactly as append_event chains them, so the audit
    # log still verifies; the services would stamp them with the time of the run.
    live = [strategy for strategy in strategies if strategy.status == Strategy.Status.LIVE]
    moments = sorted(
        now - timedelta(days=rng.uniform(20, HISTORY_DAYS - 20)) for _ in range(len(live))
    )
    rng.shuffle(live)
    events, previous, live_at = [], GENESIS_HASH, {}
    for sequence, (strategy, moment) in enumerate(zip(live, moments, strict=True), start=1):
        event = AuditEvent(
            sequence=sequence,
            created_at=moment,
            actor_type=AuditEvent.ActorType.SYSTEM,
            actor_label="benchmark",
            action="strategy.live",
            object_type="strategy",
            object_id=str(strategy.pk),
            before={"status": "proposed"},
            after={"status": "live"},
            previous_hash=previous,
        )
        event.hash = previous = event_hash(event)
        events.append(event)
        live_at[strategy.skill_id] = moment
    AuditEvent.objects.bulk_create(events)
    say(
        f"  {len(strategies)} strategies ({len(live)} live, with audit events) "
        f"in {time.monotonic() - started:.1f} s"
    )
    return live_at


def _attempts(agents, leaves, live_at, total, now, rng, say):
    """COPY `total` attempts, spread evenly over agents and leaves; returns per (agent, leaf):
    [attempts, successes, last attempt, last practice, last failure, first attempt]."""
    from django.db import connection

    from practice.models import Attempt

    started = time.monotonic()
    pairs = [(agent, leaf) for agent in agents for leaf in leaves]
    per_pair, extra = divmod(total, len(pairs))
    ability = {agent.pk: rng.uniform(0.25, 0.85) for agent in agents}
    columns = [
        "agent_id",
        "skill_id",
        "source",
        "success",
        "score",
        "difficulty",
        "task_input",
        "trace_format",
        "out_of_bounds",
        "created_at",
    ]
    totals = {}
    start = now - timedelta(days=HISTORY_DAYS)
    span = HISTORY_DAYS * 86400.0
    with connection.cursor() as cursor:
        sql = f"COPY {Attempt._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for index, (agent, leaf) in enumerate(pairs):
                rate = min(max(ability[agent.pk] + rng.gauss(0, 0.12), 0.02), 0.95)
                went_live = live_at.get(leaf.pk)
                counts = [0, 0, None, None, None, None]
                for _ in range(per_pair + (1 if index < extra else 0)):
                    at = start + timedelta(seconds=rng.random() * span)
                    chance = rate + (STRATEGY_LIFT if went_live and at >= went_live else 0)
                    success = rng.random() < chance
                    practice = rng.random() < PRACTICE_SHARE
                    copy.write_row(
                        (
                            agent.pk,
                            leaf.pk,
                            "practice" if practice else "live",
                            success,
                            1.0 if success else round(rng.random() * 0.5, 3),
                            round(rng.random(), 3),
                            "",
                            "steps",
                            False,
                            at,
                        )
                    )
                    _count(counts, at, success, practice)
                totals[agent.pk, leaf.pk] = counts
    say(f"  {total:,} attempts (COPY) in {time.monotonic() - started:.1f} s")
    return totals


def _count(counts, at, success, practice):
    counts[0] += 1
    counts[1] += success
    counts[2] = max(counts[2] or at, at)
    if practice:
        counts[3] = max(counts[3] or at, at)
    if not success:
        counts[4] = max(counts[4] or at, at)
    counts[5] = min(counts[5] or at, at)


def _competencies(agents, skills, totals, now, rng, say):
    """One estimate per agent and skill: leaves from their attempts, parents rolled up."""
    from practice.models import CompetencyEstimate

    started = time.monotonic()
    children = {}
    for skill in skills:
        if skill.parent_id:
            children.setdefault(skill.parent_id, []).append(skill)
    rows = []
    for agent in agents:
        summary = {}
        for skill in sorted(skills, key=lambda skill: -skill.depth):
            if skill.depth == 2:
                n, s, last, practiced, failed, _ = totals[agent.pk, skill.pk]
                estimate = (s + 1) / (n + 2)
                uncertainty = min(0.5, math.sqrt(estimate * (1 - estimate) / (n + 2)) * 2)
                review = last + timedelta(days=rng.uniform(1, 40))
                rolled_up = False
            else:
                parts = [summary[child.pk] for child in children[skill.pk]]
                n = sum(part[0] for part in parts)
                s = sum(part[1] for part in parts)
                estimate = sum(part[0] * part[2] for part in parts) / n
                uncertainty = math.sqrt(sum(part[0] * part[3] ** 2 for part in parts) / n)
                last = max(part[4] for part in parts)
                practiced = max((part[5] for part in parts if part[5]), default=None)
                failed = max((part[6] for part in parts if part[6]), default=None)
                review, rolled_up = None, True
            summary[skill.pk] = (n, s, estimate, uncertainty, last, practiced, failed)
            mu = math.log(estimate / (1 - estimate))
            rows.append(
                CompetencyEstimate(
                    agent=agent,
                    skill=skill,
                    estimate=estimate,
                    uncertainty=uncertainty,
                    model_state={"mu": mu, "var": 0.3, "updated_at": last.isoformat()},
                    attempts=n,
                    successes=s,
                    rolled_up=rolled_up,
                    last_attempt_at=last,
                    last_practiced_at=practiced,
                    last_failed_at=failed,
                    next_review_at=review,
                )
            )
    CompetencyEstimate.objects.bulk_create(rows, batch_size=5_000)
    say(f"  {len(rows):,} competency estimates in {time.monotonic() - started:.1f} s")


def _snapshots(agents, skills, totals, drilled, now, rng, say):
    """Learning curves: a few points per agent and skill, many on the drilled pair."""
    from django.db import connection

    from practice.models import CompetencyEstimate, CompetencySnapshot

    started = time.monotonic()
    final = {
        (agent_id, skill_id): (estimate, uncertainty)
        for agent_id, skill_id, estimate, uncertainty in CompetencyEstimate.objects.values_list(
            "agent_id", "skill_id", "estimate", "uncertainty"
        )
    }
    columns = ["agent_id", "skill_id", "estimate", "uncertainty", "recorded_at"]
    written = 0
    start = now - timedelta(days=HISTORY_DAYS)
    with connection.cursor() as cursor:
        sql = f"COPY {CompetencySnapshot._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for agent in agents:
                for skill in skills:
                    points = SNAPSHOTS_PER_DEPTH[skill.depth]
                    if (agent, skill) == drilled:
                        points = LONG_CURVE
                    estimate, uncertainty = final[agent.pk, skill.pk]
                    for step in range(points):
                        share = (step + 1) / points
                        copy.write_row(
                            (
                                agent.pk,
                                skill.pk,
                                min(max(0.5 + (estimate - 0.5) * share + rng.gauss(0, 0.02), 0), 1),
                                0.5 - (0.5 - uncertainty) * share,
                                start + timedelta(days=HISTORY_DAYS * share),
                            )
                        )
                    written += points
    say(f"  {written:,} learning-curve snapshots (COPY) in {time.monotonic() - started:.1f} s")


def _operator():
    from django.contrib.auth import get_user_model

    from oversight.services import Role, assign_role, ensure_roles

    ensure_roles()
    user = get_user_model().objects.create_user("bench-operator")
    assign_role(user, Role.OPERATOR)
    return user


# --- Measures ------------------------------------------------------------------------------------


def measure(options, world):
    from django.db import connection
    from django.test import Client, override_settings
    from django.urls import include, path, reverse

    from etude_site import urls as site_urls

    # The site mounts the dashboards at "dash/"; until it does, the benchmark adds them.
    patterns = [*site_urls.urlpatterns]
    if not any(getattr(pattern, "namespace", None) == "dash" for pattern in patterns):
        patterns.append(path("dash/", include("oversight.dashboard_urls")))

    class Urls:
        urlpatterns = patterns

    results = {"load_before": os.getloadavg()}
    with override_settings(ROOT_URLCONF=Urls):
        client = Client()
        client.force_login(world.operator)
        agent, skill = world.drilled
        heatmap = reverse("dash:heatmap")
        drilldown = reverse("dash:drilldown", args=[agent, skill])
        timings, _ = _time_request(client, reverse("dash:overview"), {}, runs=options.runs)
        results["overview"] = {"timings": timings}
        for level in (1, 2):
            timings, response = _time_request(client, heatmap, {"level": level}, runs=options.runs)
            payload = _chart_json(response)
            chart = json.loads(payload)
            details = chart["cells"]["details"]["bdata"]
            results[f"heatmap{level}"] = {
                "timings": timings,
                "bytes": len(payload),
                "figure_bytes": len(json.dumps(chart["figure"], separators=(",", ":"))),
                "details_bytes": len(zlib.decompress(base64.b64decode(details))),
                "details_json": len(details),
                "gzip": len(gzip.compress(payload)),
                "shape": _shape(response),
            }
            results[f"floor{level}"] = {
                "timings": _time_floor(connection, level, runs=options.runs)
            }
        timings, _ = _time_request(
            client, drilldown, {}, runs=options.runs, headers={"HX-Request": "true"}
        )
        results["drilldown"] = {"timings": timings}
        timings, _ = _time_request(client, drilldown, {}, runs=options.runs)
        results["drilldown_page"] = {"timings": timings}
    results["load_after"] = os.getloadavg()
    return results


def _time_request(client, url, query, *, runs, headers=None):
    response = None
    for _ in range(2):  # warm-up: imports, template loading, the database's caches
        response = client.get(url, query, headers=headers or {})
        if response.status_code != 200:
            raise SystemExit(f"bench: {url} answered {response.status_code}")
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, query, headers=headers or {})
        timings.append((time.perf_counter() - started) * 1000)
    return timings, response


def _time_floor(connection, level, *, runs):
    """One raw SQL query fetching the cells the heatmap shows at `level` in the form the page
    asks for them (whole percent, whole days), in one fetch: the database's share alone."""
    sql = """
        SELECT e.agent_id, e.skill_id,
               floor(e.estimate * 100 + 0.5)::integer, floor(e.uncertainty * 100 + 0.5)::integer,
               e.attempts,
               floor(date_part('epoch', %s - e.last_practiced_at) / 86400)::integer,
               floor(date_part('epoch', e.next_review_at - %s) / 86400)::integer
        FROM practice_competencyestimate e
        JOIN taxonomy_skill s ON s.id = e.skill_id
        JOIN practice_agent a ON a.id = e.agent_id
        WHERE s.depth = %s AND s.active AND a.active
    """
    timings = []
    with connection.cursor() as cursor:
        for run in range(runs + 2):
            now = datetime.now(UTC)
            started = time.perf_counter()
            cursor.execute(sql, [now, now, level])
            cursor.fetchall()
            if run >= 2:
                timings.append((time.perf_counter() - started) * 1000)
    return timings


def _chart_json(response):
    found = re.search(
        rb'<script type="application/json" id="heatmap-data">(.*?)</script>', response.content, re.S
    )
    if found is None:
        raise SystemExit("bench: the heatmap page carries no chart JSON")
    return found.group(1)


def _shape(response):
    found = re.search(rb"(\d+) agents? \xc3\x97 (\d+) skills?", response.content)
    return f"{int(found.group(1))}x{int(found.group(2))}" if found else "?"


def _report(results, world, options):
    def ms(key):
        timings = results[key]["timings"]
        return statistics.median(timings), min(timings)

    def verdict(passed):
        return "ok" if passed else "MISSED"

    rows = [("measure", "median", "best", "target", "")]
    for level, label in ((1, "default level"), (2, "leaf level")):
        heatmap = results[f"heatmap{level}"]
        median, best = ms(f"heatmap{level}")
        rows.append(
            (
                f"heatmap page, level {level} ({label}, {heatmap['shape']} cells)",
                f"{median:.0f} ms",
                f"{best:.0f} ms",
                f"< {TARGETS['heatmap_ms']} ms",
                verdict(median < TARGETS["heatmap_ms"]),
            )
        )
        rows.append(
            (
                "  chart JSON (figure with scores + labels and hover details)",
                f"{heatmap['bytes'] / 1000:.0f} KB",
                f"({heatmap['figure_bytes'] / 1000:.0f} + {(heatmap['bytes'] - heatmap['figure_bytes']) / 1000:.0f})",
                f"< {TARGETS['payload_kb']} KB",
                verdict(heatmap["bytes"] < TARGETS["payload_kb"] * 1000),
            )
        )
        rows.append(
            (
                "  of which hover details, deflated (the browser inflates them)",
                f"{heatmap['details_json'] / 1000:.0f} KB",
                f"({heatmap['details_bytes'] / 1000:.0f} KB of arrays)",
                "",
                "",
            )
        )
        rows.append(
            ("  chart JSON, gzip on the wire", f"{heatmap['gzip'] / 1000:.0f} KB", "", "", "")
        )
        median, best = ms(f"floor{level}")
        rows.append(
            ("  floor: one raw SQL query, same cells", f"{median:.0f} ms", f"{best:.0f} ms", "", "")
        )
    agent, skill = world.drilled
    median, best = ms("drilldown")
    rows.append(
        (
            f"drill-down {agent} x {skill} (htmx fragment)",
            f"{median:.0f} ms",
            f"{best:.0f} ms",
            f"< {TARGETS['drilldown_ms']} ms",
            verdict(median < TARGETS["drilldown_ms"]),
        )
    )
    median, best = ms("drilldown_page")
    rows.append(("  the same as a full page", f"{median:.0f} ms", f"{best:.0f} ms", "", ""))
    median, best = ms("overview")
    rows.append(
        (
            "overview page (7-day success over 1M attempts)",
            f"{median:.0f} ms",
            f"{best:.0f} ms",
            "",
            "",
        )
    )
    counts = world.counts
    print(
        f"{counts['agents']} agents, {counts['skills']} skills ({counts['leaves']} leaves), "
        f"{options.attempts:,} attempts. Server time with Django's test Client in process (no "
        f"network), {options.runs} runs after 2 warm-ups; verdicts on the median."
    )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for number, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))
    before, after = results["load_before"], results["load_after"]
    print(
        f"Load average (1 min) {before[0]:.1f} before, {after[0]:.1f} after, on {os.cpu_count()} "
        "CPUs: other work on the machine slows every figure."
    )


if __name__ == "__main__":
    sys.exit(main())
