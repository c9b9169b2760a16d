"""Benchmark of the agent API: `make bench-api` (`.venv/bin/python bench/api.py`).

It runs itself under scripts/with-postgres (a throwaway PostgreSQL server, whatever DATABASE_URL
says), migrates, builds 50 agents, 510 skills and 20,000 live strategies in one memory release
and stores 10,000 attempts beforehand, serves the project with gunicorn (sync workers, DEBUG off)
on loopback, and drives it with wrk from a second process. It measures memory pulls with a
context and memory pulls answered 304, each in slices alternating with a bare Django view (the
ceiling, bench/ceiling_urls.py), and bulk attempt ingestion; it prints requests/s, p50 and p99
against the targets of issue 3, with the CPU time per request of gunicorn, PostgreSQL and wrk (a
figure other work on the machine hardly moves). It exits 0 whatever the figures: a benchmark,
not a test.
No Celery worker runs: the after-commit hook enqueues into a filesystem broker folder under the
run's temporary folder, and that enqueueing is part of the measured ingestion cost.

Two choices keep the figures to what the clients of a service in use see:
- The attempts stored beforehand. Started on an empty attempts table, a gunicorn worker whose
  database connection first stored attempts while the table held a few hundred rows planned
  PostgreSQL's foreign-key check of trace steps against attempts as a sequential scan, and kept
  that plan (cached per connection) until autovacuum analyzed the table, up to a minute later:
  the 4,000 checks run at COMMIT then scanned the growing table, and that worker's requests grew
  from 0.2 s to 10 s. A database in use holds attempts, and its connections plan an index scan.
- The latencies are the requests' own. wrk adds to its latency histogram, before handing it to
  the script, samples for requests a fixed-rate client would have sent during a slow answer
  (its "coordinated omission" correction: a 3 s request among 250 ms ones counts 11 times);
  the benchmark removes them (_measured_latencies), so that p50 and p99 are what clients waited.
"""

import argparse
import http.client
import json
import os
import random
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
THROWAWAY_MARK = "ETUDE_BENCH_THROWAWAY_DB"

CATEGORIES = 10
SKILLS_PER_CATEGORY = 50
STRATEGIES_PER_SKILL = 40
AGENTS = 50
PULL_LIMIT = 10
PULL_VARIANTS = 2_000  # distinct (agent, skill, context) pulls the load generator rotates over
CONDITIONAL_VARIANTS = 200  # distinct pulls whose ETag is fetched first for the 304 scenario
STEPS_PER_ATTEMPT = 20
SEEDED_ATTEMPTS = 10_000  # stored before the server starts: the database of a service in use

TARGETS = {
    "pull": "≥ 50% of ceiling, p99 < 25 ms",
    "304": "≥ 80% of ceiling",
    "ingest": "≥ 2,000 attempts/s",
}


def main():
    options = _parse_arguments()
    if os.environ.get(THROWAWAY_MARK) != "1":
        _rerun_under_throwaway_postgres()
    signal.signal(signal.SIGTERM, _exit_on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="etude-bench."))
    server = None
    try:
        _configure_environment(options, workdir)
        wrk = _find_wrk()
        load_before = os.getloadavg()
        workspace = _build_database(options)
        server = Server(workers=options.workers, workdir=workdir)
        server.start()
        results = _measure(options, workspace, server, wrk, workdir)
        load_after = os.getloadavg()
        _report(options, results, load_before, load_after, workdir)
    except KeyboardInterrupt:
        print("\nInterrupted; cleaning up.", file=sys.stderr)
        return 130
    finally:
        # A second Ctrl-C must not cut the clean-up short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn sync workers (2 measured best of 2-4)"
    )
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per scenario")
    parser.add_argument(
        "--slice", type=int, default=2, help="seconds per slice when alternating with the ceiling"
    )
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per scenario")
    parser.add_argument("--batch", type=int, default=200, help="attempts per bulk request")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=None,
        help="override the database CONN_MAX_AGE (the product's default is 60 s)",
    )
    parser.add_argument(
        "--only",
        choices=["pull", "304", "ingest"],
        action="append",
        help="run only these scenarios (repeatable); the ceiling runs alongside pull and 304",
    )
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def _measured_latencies(histogram, requests, duration_us, connections):
    """wrk's latency histogram (µs -> count) without the samples wrk's own correction added.

    Before the script sees it, wrk 4 runs stats_correct(latency, interval) with interval =
    duration / (requests / connections): every recorded latency n >= 2 * interval adds one
    sample at each of n - interval, n - 2 * interval, ... while above interval. Added samples
    go below their source only, so going down from the highest value, a value's added count is
    the sum of the measured counts above it at a whole number of intervals."""
    if connections <= 0 or requests // connections == 0:
        return Counter(histogram)
    interval = duration_us // (requests // connections)
    measured = Counter()
    above = Counter()  # value % interval -> measured count of the values seen so far (higher)
    for value in sorted(histogram, reverse=True):
        added = above[value % interval] if value > interval else 0
        count = histogram[value] - added
        if count > 0:
            measured[value] = count
            above[value % interval] += count
    return measured


def _rerun_under_throwaway_postgres():
    """Never touch a database named by the caller's DATABASE_URL: always use a fresh server."""
    os.environ[THROWAWAY_MARK] = "1"
    script = str(ROOT / "scripts" / "with-postgres")
    os.execv(script, [script, sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]])


def _exit_on_signal(signum, frame):
    raise KeyboardInterrupt


def _configure_environment(options, workdir):
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1",
            "ETUDE_VAR_DIR": str(workdir / "var"),
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "ETUDE_COACH_MODEL"):
        os.environ.pop(name, None)
    if options.conn_max_age is not None:
        os.environ["CONN_MAX_AGE"] = str(options.conn_max_age)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("bench: DATABASE_URL must name the throwaway PostgreSQL server.")
    (workdir / "var").mkdir()
    # Run as a script, Python put bench/ first on the path; the project root is what we need.
    sys.path[:] = [
        str(ROOT),
        *(entry for entry in sys.path if entry not in {str(BENCH), str(ROOT)}),
    ]


def _find_wrk():
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("bench: wrk is missing; install Debian's 'wrk' package (apt-get install wrk).")
    print("bench: installing wrk with apt-get...")
    quiet = {
        "stdout": subprocess.DEVNULL,
        "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    }
    if subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], **quiet).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, **quiet)
    return shutil.which("wrk") or sys.exit("bench: wrk could not be installed.")


# --- Database ---------------------------------------------------------------------------------------


def _build_database(options):
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from bench import dataset

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    print(f"Building the benchmark database (PostgreSQL {version.split()[0]})")
    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"  migrated in {time.monotonic() - started:.1f} s")
    workspace = dataset.build(
        categories=CATEGORIES,
        skills_per_category=SKILLS_PER_CATEGORY,
        strategies_per_skill=STRATEGIES_PER_SKILL,
        agents=AGENTS,
        seed=options.seed,
        say=lambda line: print(line, flush=True),
    )
    _store_attempts_beforehand(workspace, random.Random(options.seed + 1), options.batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connections.close_all()
    print(f"Built in {time.monotonic() - started:.1f} s")
    return workspace


def _store_attempts_beforehand(workspace, rng, batch):
    """SEEDED_ATTEMPTS attempts, spread over the agents, stored through the service as the API
    stores them; the after-commit hooks are left out (no message for attempts of the past)."""
    from practice.models import Agent
    from practice.services import attempts as attempt_services

    started = time.monotonic()
    agents = list(Agent.objects.filter(name__startswith="bench-agent-").order_by("name"))
    hooks = list(attempt_services.after_commit_hooks)
    attempt_services.after_commit_hooks.clear()
    try:
        for number in range(SEEDED_ATTEMPTS // batch):
            payloads = _bulk_attempts(workspace, rng, batch)
            for index, payload in enumerate(payloads):
                payload["external_id"] = f"before-{number}-{index}"
            attempt_services.record_attempts(agents[number % len(agents)], payloads)
    finally:
        attempt_services.after_commit_hooks[:] = hooks
    stored = SEEDED_ATTEMPTS // batch * batch
    print(f"  {stored:,} attempts stored beforehand in {time.monotonic() - started:.1f} s")


# --- Server -----------------------------------------------------------------------------------------


class Server:
    """gunicorn with sync workers on a free loopback port, in its own session so that Ctrl-C
    reaches the benchmark, which then stops it."""

    def __init__(self, *, workers, workdir):
        self.workers = workers
        self.workdir = workdir
        self.port = _free_port()
        self.log = workdir / "server.log"
        self.process = None

    def start(self):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "etude_site.wsgi:application",
            f"--bind=127.0.0.1:{self.port}",
            f"--workers={self.workers}",
            "--worker-class=sync",
            f"--chdir={ROOT}",
            f"--worker-tmp-dir={self.workdir}",
            "--timeout=60",
            "--graceful-timeout=5",
            "--no-control-socket",
            "--log-level=warning",
        ]
        with self.log.open("ab") as output:
            # Django's own log lines (to stderr) join gunicorn's in the same file.
            self.process = subprocess.Popen(
                command, cwd=ROOT, start_new_session=True, stdout=output, stderr=output
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: gunicorn exited at start:\n{self.log.read_text()}")
            try:
                status, _, _ = self.get("/bench/ceiling/")
                if status == 200:
                    print(f"gunicorn: {self.workers} sync workers on 127.0.0.1:{self.port}")
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"bench: gunicorn did not answer in 60 s:\n{self.log.read_text()}")

    def stop(self):
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def request(self, method, path, *, headers=None, body=None):
        client = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            client.request(method, path, body=body, headers=headers or {})
            answer = client.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        finally:
            client.close()


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Scenarios --------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """wrk runs of one scenario merged: totals and the measured latencies (µs -> count)."""

    scenario: str
    requests: int = 0
    duration_us: int = 0
    errors: int = 0
    histogram: Counter = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    items_per_request: int = 1
    ceiling: "Measurement | None" = None  # the ceiling slices interleaved with this scenario
    cpu: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # server, database, wrk

    @property
    def cpu_ms_per_request(self):
        return sum(self.cpu) * 1000 / self.requests if self.requests else 0.0

    @property
    def requests_per_second(self):
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def items_per_second(self):
        return self.requests_per_second * self.items_per_request

    def percentile_ms(self, percent):
        wanted = sum(self.histogram.values()) * percent / 100
        seen = 0
        for value, count in sorted(self.histogram.items()):
            seen += count
            if seen >= wanted:
                return value / 1000
        return 0.0

    def merge(self, other):
        self.requests += other.requests
        self.duration_us += other.duration_us
        self.errors += other.errors
        self.histogram.update(other.histogram)
        self.notes += other.notes
        self.cpu = [total + spent for total, spent in zip(self.cpu, other.cpu, strict=True)]

    def add(self, result_file, cpu_seconds, connections):
        """Add one wrk run, as written by bench/wrk/report.lua, and the CPU time it took."""
        self.cpu = [total + spent for total, spent in zip(self.cpu, cpu_seconds, strict=True)]
        histogram = Counter()
        requests = duration_us = 0
        for line in Path(result_file).read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == "latency":
                latency, count = value.split()
                histogram[int(latency)] += int(count)
            elif name == "requests":
                requests = int(value)
            elif name == "duration_us":
                duration_us = int(value)
            elif name in {"socket_errors", "unexpected"}:
                self.errors += int(value)
            elif name == "sample" and value.strip() and len(self.notes) < 1:
                self.notes.append(f"first unexpected answer: {value.strip()[:200]}")
        self.requests += requests
        self.duration_us += duration_us
        self.histogram.update(_measured_latencies(histogram, requests, duration_us, connections))


def _measure(options, workspace, server, wrk, workdir):
    rng = random.Random(options.seed)
    chosen = set(options.only or ["pull", "304", "ingest"])
    load = LoadGenerator(options, wrk, server, workdir)
    results = {}
    pulls = _pull_requests(workspace, rng)
    if "pull" in chosen:
        _check_pull(server, pulls[0])
        lines = [f"{path}\t{authorization}\t-" for path, authorization in pulls]
        results["pull"] = load.against_ceiling("pull", _write_lines(workdir / "pulls.tsv", lines))
    if "304" in chosen:
        lines = _conditional_requests(server, pulls[:CONDITIONAL_VARIANTS])
        results["304"] = load.against_ceiling(
            "304", _write_lines(workdir / "etags.tsv", lines), expect=304
        )
    if "ingest" in chosen:
        body = _bulk_body(workspace, rng, options.batch)
        _check_ingest(server, body, workspace.agent_secrets[0], options.batch)
        (workdir / "bulk.json").write_text(body)
        keys = [f"Bearer {secret}" for secret in workspace.agent_secrets]
        queue = workdir / "var" / "broker" / "queue"
        queued_before = _count_files(queue)
        results["ingest"] = load.ingest(
            workdir / "bulk.json", _write_lines(workdir / "keys.tsv", keys), options.batch
        )
        queued = _count_files(queue) - queued_before
        results["ingest"].notes.append(f"{queued:,} Celery messages enqueued (filesystem broker)")
    return results


class LoadGenerator:
    """wrk in a second process on loopback, with the benchmark's fixed settings."""

    def __init__(self, options, wrk, server, workdir):
        self.options = options
        self.wrk = wrk
        self.server = server
        self.workdir = workdir
        self.cpu_meter = CpuMeter(
            server.process.pid, urllib.parse.urlsplit(os.environ["DATABASE_URL"]).port
        )
        self.ceiling_requests = _write_lines(workdir / "ceiling.tsv", ["/bench/ceiling/\t-\t-"])

    def against_ceiling(self, scenario, requests_file, expect=200):
        """GET the prepared requests in turn, in slices alternating with slices of the ceiling:
        other work on the machine comes and goes, and this way it weighs on both alike."""
        options = self.options
        print(
            f"Measuring {scenario}: {options.warmup} s warm-up, then {options.duration} s "
            f"in {options.duration // options.slice} slices alternating with the ceiling",
            flush=True,
        )
        rotate = {"BENCH_REQUESTS": requests_file, "BENCH_EXPECT": str(expect)}
        ceiling = {"BENCH_REQUESTS": self.ceiling_requests, "BENCH_EXPECT": "200"}
        self._wrk("rotate.lua", ceiling, options.warmup)
        self._wrk("rotate.lua", rotate, options.warmup)
        measurement = Measurement(scenario, ceiling=Measurement("ceiling"))
        for _ in range(max(1, options.duration // options.slice)):
            measurement.ceiling.add(*self._wrk("rotate.lua", ceiling, options.slice))
            measurement.add(*self._wrk("rotate.lua", rotate, options.slice))
        return measurement

    def ingest(self, body_file, keys_file, batch):
        """POST the bulk body again and again with fresh external ids, rotating the agents."""
        options = self.options
        print(
            f"Measuring ingest: {options.warmup} s warm-up, then {options.duration} s", flush=True
        )
        environment = {"BENCH_BODY": str(body_file), "BENCH_KEYS": keys_file, "BENCH_EXPECT": "201"}
        self._wrk("ingest.lua", environment, options.warmup)
        measurement = Measurement("ingest", items_per_request=batch)
        measurement.add(*self._wrk("ingest.lua", environment, options.duration))
        return measurement

    def _wrk(self, script, environment, seconds):
        """Run wrk; returns its result file and the CPU seconds (server, database, wrk) used."""
        result = self.workdir / "wrk-result.txt"
        result.unlink(missing_ok=True)
        before = self.cpu_meter.read()
        subprocess.run(
            [
                self.wrk,
                f"--threads={self.options.threads}",
                f"--connections={self.options.connections}",
                f"--duration={seconds}s",
                "--timeout=10s",
                f"--script={BENCH / 'wrk' / script}",
                self.server.url,
            ],
            env={
                **os.environ,
                **environment,
                "BENCH_RESULT": str(result),
                "BENCH_RUN": f"run{time.time_ns()}",
            },
            check=True,
            stdout=subprocess.DEVNULL,
        )
        after = self.cpu_meter.read()
        cpu = [later - earlier for earlier, later in zip(before, after, strict=True)]
        return result, cpu, self.options.connections


class CpuMeter:
    """CPU seconds used so far by gunicorn (master and workers), by the PostgreSQL server
    (postmaster and backends, live or ended) and by wrk. CPU per request barely moves when
    other work shares the machine, unlike requests per second, so it is reported too."""

    def __init__(self, gunicorn_pid, database_port):
        self.gunicorn_pid = gunicorn_pid
        self.postmaster_pid = _postmaster_pid(database_port)

    def read(self):
        server = database = 0.0
        for pid, parent, group, seconds in _processes():
            if group == self.gunicorn_pid:
                server += seconds
            elif self.postmaster_pid in {pid, parent}:
                database += seconds
        # wrk runs are this process's only children that have ended.
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return [server, database, children.ru_utime + children.ru_stime]


def _processes():
    """(pid, parent pid, process group, CPU seconds with ended children) of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
        times = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        yield int(stat.parent.name), int(fields[1]), int(fields[2]), times / tick


def _postmaster_pid(port):
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if Path(arguments[0]).name == "postgres" and f"-p {port} " in " ".join(arguments) + " ":
            return int(cmdline.parent.name)
    return None


def _pull_requests(workspace, rng):
    from bench.dataset import context_for

    pulls = []
    for index in range(PULL_VARIANTS):
        skill = rng.choice(workspace.leaf_keys)
        query = urllib.parse.urlencode(
            {
                "skill": skill,
                "context": context_for(rng, workspace.topics[skill]),
                "limit": PULL_LIMIT,
            }
        )
        secret = workspace.agent_secrets[index % len(workspace.agent_secrets)]
        pulls.append((f"/api/v1/memory/?{query}", f"Bearer {secret}"))
    return pulls


def _check_pull(server, pull):
    path, authorization = pull
    status, _, body = server.get(path, {"Authorization": authorization})
    if status != 200:
        raise SystemExit(f"bench: a memory pull answered {status}: {body[:300]!r}")
    strategies = json.loads(body)["strategies"]
    if len(strategies) != PULL_LIMIT:
        raise SystemExit(f"bench: a memory pull returned {len(strategies)} strategies")


def _conditional_requests(server, pulls):
    lines = []
    for path, authorization in pulls:
        status, headers, body = server.get(path, {"Authorization": authorization})
        etag = headers.get("ETag")
        if status != 200 or not etag:
            raise SystemExit(
                f"bench: a memory pull answered {status} without an ETag: {body[:200]!r}"
            )
        lines.append(f"{path}\t{authorization}\t{etag}")
    path, authorization, etag = lines[0].split("\t")
    status, _, _ = server.get(path, {"Authorization": authorization, "If-None-Match": etag})
    if status != 304:
        raise SystemExit(f"bench: a pull with its own ETag answered {status}, not 304")
    return lines


def _bulk_body(workspace, rng, batch):
    return json.dumps({"attempts": _bulk_attempts(workspace, rng, batch)})


def _bulk_attempts(workspace, rng, batch):
    """`batch` attempt payloads of STEPS_PER_ATTEMPT steps each, external_id "@ID@"."""
    from bench.dataset import CHECKS, NOUNS, TOOLS

    attempts = []
    for _ in range(batch):
        skill = rng.choice(workspace.leaf_keys)
        success = rng.random() < 0.6
        steps = []
        for position in range(STEPS_PER_ATTEMPT):
            ok = success or position < STEPS_PER_ATTEMPT - 3
            noun = rng.choice(NOUNS)
            steps.append(
                {
                    "action": rng.choice(TOOLS),
                    "expected": f"{rng.choice(CHECKS)} the {noun} and find it {rng.choice(['open', 'valid', 'paid'])}",
                    "actual": f"the {noun} was {'as expected' if ok else rng.choice(['missing', 'expired', 'locked'])}",
                    "ok": ok,
                    "note": "" if ok else f"step {position} went wrong on the {noun}",
                }
            )
        attempts.append(
            {
                "skill": skill,
                "source": "live",
                "success": success,
                "score": 1.0 if success else round(rng.random() * 0.6, 3),
                "difficulty": round(rng.random(), 3),
                "external_id": "@ID@",
                "task_input": f"help the customer with a {rng.choice(NOUNS)} problem",
                "trace": {"format": "steps", "steps": steps},
            }
        )
    return attempts


def _check_ingest(server, body, secret, batch):
    status, _, answer = server.request(
        "POST",
        "/api/v1/attempts/bulk/",
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        body=_unique_ids(body, f"check-{time.time_ns()}"),
    )
    if status != 201 or json.loads(answer)["created"] != batch:
        raise SystemExit(f"bench: a bulk request answered {status}: {answer[:300]!r}")


def _unique_ids(body, prefix):
    parts = body.split("@ID@")
    return "".join(
        part if index == len(parts) - 1 else f"{part}{prefix}-{index}"
        for index, part in enumerate(parts)
    )


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _count_files(folder):
    return sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0


# --- Report -----------------------------------------------------------------------------------------


def _report(options, results, load_before, load_after, workdir):
    ceiling = Measurement("ceiling")
    for measurement in results.values():
        if measurement.ceiling is not None:
            ceiling.merge(measurement.ceiling)
    rows = [
        (
            "scenario",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "vs ceiling",
            "CPU ms/req",
            "CPU-based",
            "errors",
            "target",
            "",
        )
    ]
    if ceiling.requests:
        rows.append(_row("ceiling: bare Django view", ceiling, "100%", "100%", "", None))
    for key, measurement in results.items():
        if key == "ingest":
            label = f"bulk ingestion, {options.batch} attempts x {STEPS_PER_ATTEMPT} steps"
            compared = f"{measurement.items_per_second:,.0f} att/s"
            alone = os.cpu_count() * 1000 / measurement.cpu_ms_per_request * options.batch
            by_cpu = f"{alone:,.0f} att/s"
            passed = measurement.items_per_second >= 2_000
        else:
            share = measurement.requests_per_second / measurement.ceiling.requests_per_second
            label = "memory pull with context" if key == "pull" else "memory pull answered 304"
            compared = f"{share:.0%} ({measurement.ceiling.requests_per_second:,.0f})"
            cpu_share = measurement.ceiling.cpu_ms_per_request / measurement.cpu_ms_per_request
            by_cpu = f"{cpu_share:.0%}"
            if key == "pull":
                passed = share >= 0.5 and measurement.percentile_ms(99) < 25
            else:
                passed = share >= 0.8
        rows.append(_row(label, measurement, compared, by_cpu, TARGETS[key], passed))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    print()
    for number, row in enumerate(rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if number == 0:
            print("  ".join("-" * width for width in widths))
    print(
        f"""
vs ceiling: requests/s against the ceiling's (in brackets), measured in {options.slice} s slices
  alternating with the scenario's, so that other work on the machine weighs on both alike.
CPU ms/req: CPU time of gunicorn, PostgreSQL and wrk per request. CPU-based: the ratio (for
  ingestion, the rate) these would give with the {os.cpu_count()} CPUs to themselves; a guide
  when the load average shows other work, not what the targets are judged on."""
    )
    for measurement in [ceiling, *results.values()]:
        server, database, generator = (
            seconds * 1000 / measurement.requests if measurement.requests else 0.0
            for seconds in measurement.cpu
        )
        print(
            f"  {measurement.scenario}: {measurement.requests:,} requests; CPU ms/req: "
            f"gunicorn {server:.2f}, PostgreSQL {database:.2f}, wrk {generator:.2f}"
        )
        for note in measurement.notes:
            print(f"  {measurement.scenario}: {note}")
    conn = os.environ.get("CONN_MAX_AGE") or "60 (product default)"
    print(
        f"gunicorn {options.workers} sync workers; wrk {options.threads} thread(s), "
        f"{options.connections} connections; CONN_MAX_AGE {conn}; {os.cpu_count()} CPUs"
    )
    print(
        "load average (1, 5, 15 min): before "
        + ", ".join(f"{value:.2f}" for value in load_before)
        + "; after "
        + ", ".join(f"{value:.2f}" for value in load_after)
    )
    _show_server_output(workdir)


def _row(label, measurement, compared, by_cpu, target, passed):
    verdict = "" if passed is None else ("pass" if passed and not measurement.errors else "FAIL")
    return (
        label,
        f"{measurement.requests_per_second:,.0f}",
        f"{measurement.percentile_ms(50):.1f}",
        f"{measurement.percentile_ms(99):.1f}",
        compared,
        f"{measurement.cpu_ms_per_request:.2f}",
        by_cpu,
        f"{measurement.errors}",
        target,
        verdict,
    )


def _show_server_output(workdir):
    """The server's log lines, each distinct message once with its count."""
    log = workdir / "server.log"
    if not log.exists():
        return
    messages = Counter(
        re.sub(r"^[\d-]+ [\d:,]+ ", "", line) for line in log.read_text().splitlines() if line
    )
    if messages:
        print("server log:")
        for message, count in messages.most_common(10):
            print(f"  {count:>6} x {message[:200]}")


if __name__ == "__main__":
    sys.exit(main())
