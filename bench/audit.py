"""Benchmark of the audit log: `.venv/bin/python bench/audit.py [--events N]`.

Without DATABASE_URL it runs itself under scripts/with-postgres (a throwaway PostgreSQL
server); with DATABASE_URL it uses that database, whose audit log must be empty (events can
never be deleted afterwards). It migrates, writes N (1,000,000) chained audit events with one
COPY of precomputed rows, then measures, each in a fresh process so the peak memory is the
phase's own:

- export: events/s through the streaming export (StreamingHttpResponse over the JSON Lines and
  CSV generators) and the process's peak RSS; target >= 50,000 events/s under 200 MB;
- verification: events/s of verify_chain(), the path behind `manage.py verify_audit` and the
  auditor's button (on a chain this long it checks ranges in one worker process per CPU);
  target >= 200,000 events/s; and offline verification of the JSONL export.

CPU figures count the phase's process and its worker processes, not the PostgreSQL server,
which shares the same CPUs.

It prints a table and exits 0 whatever the figures: a benchmark, not a test.
"""

import argparse
import datetime
import hashlib
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
THROWAWAY_MARK = "ETUDE_BENCH_THROWAWAY_DB"
COPY_BLOCK = 20_000
TARGETS = {
    "export": (50_000, 200),
    "verify": (200_000, None),
}


def main():
    options = _parse_arguments()
    if options.phase:
        _setup_django()
        print(json.dumps(PHASES[options.phase](options)))
        return 0
    if not os.environ.get("DATABASE_URL") and os.environ.get(THROWAWAY_MARK) != "1":
        os.environ[THROWAWAY_MARK] = "1"
        script = str(ROOT / "scripts" / "with-postgres")
        os.execv(script, [script, sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]])
    _configure_environment()
    # Every phase runs in a child process of this one, which never loads Django: the peak RSS
    # a child reports (which Linux carries over from the parent at fork) is then its own.
    load_before = os.getloadavg()
    built = _run_phase("build", options)
    results = [
        _run_phase("export-jsonl", options),
        _run_phase("export-csv", options),
        _run_phase("verify", options),
        _run_phase("verify-file", options),
    ]
    _report(options, built, results, load_before, os.getloadavg())
    return 0


def _parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    return parser.parse_args()


def _configure_environment():
    var = Path(tempfile.mkdtemp(prefix="etude-bench-audit."))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "etude_site.settings",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(48),
            "ETUDE_VAR_DIR": str(var),
            "LOG_LEVEL": "WARNING",
        }
    )


def _setup_django():
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etude_site.settings")
    import django

    django.setup()


# --- Building the chain ----------------------------------------------------------------------------


def _phase_build(options):
    """Write the chained events with COPY."""
    events = options.events
    from django.core.management import call_command
    from django.db import DatabaseError, connection

    from oversight.models import AuditEvent

    if connection.vendor != "postgresql":
        sys.exit("bench: the audit benchmark runs on PostgreSQL (unset DATABASE_URL for one).")
    call_command("migrate", verbosity=0)
    if AuditEvent.objects.exists():
        sys.exit("bench: this database's audit log is not empty; unset DATABASE_URL.")
    print(f"bench: writing {events:,} chained audit events…", file=sys.stderr, flush=True)
    started = time.monotonic()
    columns = (
        "sequence, created_at, actor_type, actor_label, action, object_type, object_id, "
        "before, after, reason, previous_hash, hash"
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY oversight_auditevent ({columns}) FROM STDIN") as copy:
            block = []
            for line in _chained_rows(events):
                block.append(line)
                if len(block) == COPY_BLOCK:
                    copy.write("".join(block))
                    block = []
            if block:
                copy.write("".join(block))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE oversight_auditevent")
    seconds = time.monotonic() - started
    # The load leaves over a gigabyte of table and WAL to write out: do it now, so that the
    # kernel's writeback does not share the CPUs with the phases measured next.
    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError:  # needs a superuser (or pg_checkpoint): the sync still helps
        pass
    os.sync()
    return {"seconds": seconds}


ACTIONS = [
    ("user", "reviewer-{n}", "strategy.live", "strategy", "clear and specific"),
    ("user", "reviewer-{n}", "strategy.edited", "strategy", ""),
    ("agent", "agent:support-bot-{n}", "strategy.proposed", "strategy", ""),
    ("system", "system", "release.published", "memory_release", "nightly release"),
    ("user", "operator-{n}", "agent.boundaries_changed", "agent", "scope widened"),
    ("user", "opérateur-{n}", "skill.created", "skill", "taxonomy file"),
]


def _chained_rows(events):
    """COPY text lines of a valid chain, each hashed with Python's json (the reference form)."""
    from oversight.services.audit import GENESIS_HASH, canonical_event

    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    previous_hash = GENESIS_HASH
    sha256 = hashlib.sha256
    for sequence in range(1, events + 1):
        actor_type, label, action, object_type, reason = ACTIONS[sequence % len(ACTIONS)]
        label = label.format(n=sequence % 17)
        object_id = str(sequence // 3)
        created_at = (start + datetime.timedelta(microseconds=sequence * 31_337)).isoformat()
        before, after = _snapshots(sequence)
        fields = {
            "sequence": sequence,
            "created_at": created_at,
            "actor_type": actor_type,
            "actor_label": label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "before": before,
            "after": after,
            "reason": reason,
            "previous_hash": previous_hash,
        }
        digest = sha256(canonical_event(fields)).hexdigest()
        copied = (sequence, created_at, actor_type, label, action, object_type, object_id)
        copied = (*map(str, copied), _copy_json(before), _copy_json(after), reason)
        yield "\t".join((*copied, previous_hash, digest)) + "\n"
        previous_hash = digest


def _snapshots(sequence):
    """A realistic before/after pair of strategy snapshots (before is None for a new one)."""

    def snapshot(revision, status, version):
        return {
            "when": f"the customer gives two order numbers — réf. {sequence}",
            "do": "ask which order the request is about before calling lookup_order",
            "because": f"acting on the wrong order changes someone else's purchase "
            f"(case {sequence})",
            "skill": "support.intent.ambiguity",
            "boundaries": ["support", "tools.orders"],
            "status": status,
            "version": version,
            "revision": revision,
        }

    if sequence % 4 == 0:
        return None, snapshot(1, "proposed", 1)
    return snapshot(2, "proposed", 1), snapshot(3, "live", 2)


def _copy_json(value):
    if value is None:
        return "\\N"
    # COPY's text format: a backslash stands for itself when doubled.
    return json.dumps(value, ensure_ascii=False).replace("\\", "\\\\")


# --- Phases, each in its own process -----------------------------------------------------------------


def _run_phase(phase, options):
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", phase]
    command += ["--events", str(options.events), "--file", _export_path()]
    print(f"bench: {phase}…", flush=True)
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _export_path():
    return str(Path(os.environ["ETUDE_VAR_DIR"]) / "audit-export.jsonl")


def _phase_export(export_format):
    def measure(options):
        from django.http import StreamingHttpResponse

        from oversight.models import AuditEvent
        from oversight.services.audit_export import export_chunks

        # The JSON Lines export is kept for the offline verification phase.
        target = options.file if export_format == "jsonl" else os.devnull
        with open(target, "wb") as sink:
            started, cpu = time.monotonic(), _cpu_seconds()
            response = StreamingHttpResponse(export_chunks(AuditEvent.objects.all(), export_format))
            size = 0
            for chunk in response:
                size += len(chunk)
                sink.write(chunk)
            seconds, cpu = time.monotonic() - started, _cpu_seconds() - cpu
        events = AuditEvent.objects.count()
        return _result(f"export ({export_format}, {size / 1e6:,.0f} MB)", events, seconds, cpu)

    return measure


def _phase_verify(options):
    from oversight.services.audit_verify import verify_chain

    started, cpu = time.monotonic(), _cpu_seconds()
    count, broken = verify_chain()
    seconds, cpu = time.monotonic() - started, _cpu_seconds() - cpu
    return _result("verify (database)", count, seconds, cpu, broken)


def _phase_verify_file(options):
    from oversight.services.audit_export import read_events
    from oversight.services.audit_verify import verify_events

    started, cpu = time.monotonic(), _cpu_seconds()
    count, broken = verify_events(read_events(options.file))
    seconds, cpu = time.monotonic() - started, _cpu_seconds() - cpu
    return _result("verify offline (JSONL file)", count, seconds, cpu, broken)


def _cpu_seconds():
    """CPU time of this process and of the worker processes it has waited for."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _result(phase, events, seconds, cpu, broken=None):
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "phase": phase,
        "events": events,
        "seconds": seconds,
        "rate": events / seconds,
        "cpu_rate": events / cpu if cpu else 0,
        "broken": str(broken) if broken else None,
        "peak_rss_mb": own,
        "worker_peak_rss_mb": worker,
    }


PHASES = {
    "build": _phase_build,
    "export-jsonl": _phase_export("jsonl"),
    "export-csv": _phase_export("csv"),
    "verify": _phase_verify,
    "verify-file": _phase_verify_file,
}


# --- Report ------------------------------------------------------------------------------------------


def _report(options, built, results, load_before, load_after):
    print()
    print(f"Audit log benchmark: {options.events:,} events on PostgreSQL, {os.cpu_count()} CPUs")
    print(f"chain written in {built['seconds']:.1f} s with COPY")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print(
        "events/s: wall clock; per CPU-s: events per second of the phase's CPU time (its "
        "process and workers; PostgreSQL's not counted)"
    )
    print()
    header = (
        f"{'phase':<32} {'events/s':>9} {'per CPU-s':>10} {'seconds':>8} {'peak RSS':>9}  target"
    )
    print(header)
    print("-" * (len(header) + 24))
    for result in results:
        kind = result["phase"].split(" (")[0]  # export, verify or verify offline
        verdict = "none (not in the issue)"
        if kind in TARGETS:
            rate_target, memory_target = TARGETS[kind]
            met = result["rate"] >= rate_target and (
                memory_target is None or result["peak_rss_mb"] < memory_target
            )
            verdict = f">= {rate_target:,}/s" + (f", < {memory_target} MB" if memory_target else "")
            verdict += f": {'met' if met else 'NOT met'}"
        print(
            f"{result['phase']:<32} {result['rate']:>9,.0f} {result['cpu_rate']:>10,.0f} "
            f"{result['seconds']:>8.1f} {result['peak_rss_mb']:>6.0f} MB  {verdict}"
        )
        if result.get("worker_peak_rss_mb"):
            print(f"  worker processes: peak RSS {result['worker_peak_rss_mb']:,.0f} MB each")
        if result.get("broken"):
            print(f"  chain reported broken: {result['broken']}")


if __name__ == "__main__":
    sys.exit(main())
