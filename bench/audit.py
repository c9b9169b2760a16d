"""Benchmark of the audit log: `.venv/bin/python bench/audit.py [--events N]`.

Without DATABASE_URL it runs itself under scripts/with-postgres (a throwaway PostgreSQL
server); with DATABASE_URL it uses that database, whose audit log must be empty (events can
never be deleted afterwards). It migrates, writes N (1,000,000) chained audit events with one
COPY of precomputed rows, then measures, each in a fresh process so the peak memory is the
phase's own:

- export: events/s through the streaming export (StreamingHttpResponse over the JSON Lines and
  CSV generators) and the process's peak RSS; target >= 50,000 events/s under 200 MB;
- verification: events/s of verify_chain(), the path behind `manage.py verify_audit` and the
  auditor's button; target >= 200,000 events/s; and offline verification of the JSONL export.

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
    from django.db import connection

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
    return {"seconds": time.monotonic() - started}


ACTIONS = [
    ("user", "reviewer-{n}", "strategy.live", "strategy", "clear and specific"),
    ("user", "reviewer-{n}", "strategy.edited", "strategy", ""),
    ("agent", "agent:support-bot-{n}", "strategy.proposed", "strategy", ""),
    ("system", "system", "release.published", "memory_release", "nightly release"),
    ("user", "operator-{n}", "agent.boundaries_changed", "agent", "scope widened"),
    ("user", "opérateur-{n}", "skill.created", "skill", "taxonomy file"),
]


def _chained_rows(events):
    """COPY text lines of a valid chain: canonical JSON built from templates, hashed in order."""
    from oversight.services.audit import GENESIS_HASH
    from oversight.services.audit_rows import canonical_row

    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    previous_hash = GENESIS_HASH
    sha256 = hashlib.sha256
    for sequence in range(1, events + 1):
        actor_type, label, action, object_type, reason = ACTIONS[sequence % len(ACTIONS)]
        label = label.format(n=sequence % 17)
        object_id = str(sequence // 3)
        created_at = (start + datetime.timedelta(microseconds=sequence * 31_337)).isoformat()
        before, after = _snapshots(sequence)
        fields = (sequence, created_at, actor_type, label, action, object_type, object_id)
        row = (*fields, None, None, reason, previous_hash)
        digest = sha256(canonical_row(row, before, after)).hexdigest()
        copied = (*map(str, fields), _copy_text(before), _copy_text(after), reason)
        yield "\t".join((*copied, previous_hash, digest)) + "\n"
        previous_hash = digest


_SNAPSHOT = (
    '{"because":"acting on the wrong order changes someone else\'s purchase (case %d)",'
    '"boundaries":["support","tools.orders"],"do":"ask which order the request is about '
    'before calling lookup_order","revision":%d,"skill":"support.intent.ambiguity",'
    '"status":"%s","version":%d,"when":"the customer gives two order numbers — réf. %d"}'
)


def _snapshots(sequence):
    """Canonical JSON of a realistic before/after pair (already sorted, no spaces)."""
    if sequence % 4 == 0:
        return "null", _SNAPSHOT % (sequence, 1, "proposed", 1, sequence)
    before = _SNAPSHOT % (sequence, 2, "proposed", 1, sequence)
    after = _SNAPSHOT % (sequence, 3, "live", 2, sequence)
    return before, after


def _copy_text(json_text):
    if json_text == "null":
        return "\\N"
    return json_text.replace("\\", "\\\\")


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
            started, cpu = time.monotonic(), time.process_time()
            response = StreamingHttpResponse(export_chunks(AuditEvent.objects.all(), export_format))
            size = 0
            for chunk in response:
                size += len(chunk)
                sink.write(chunk)
            seconds, cpu = time.monotonic() - started, time.process_time() - cpu
        events = AuditEvent.objects.count()
        return _result(f"export ({export_format}, {size / 1e6:,.0f} MB)", events, seconds, cpu)

    return measure


def _phase_verify(options):
    from oversight.services.audit import verify_chain

    started, cpu = time.monotonic(), time.process_time()
    count, broken = verify_chain()
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    return _result("verify (database)", count, seconds, cpu, broken)


def _phase_verify_file(options):
    from oversight.services.audit import verify_events
    from oversight.services.audit_export import read_events

    started, cpu = time.monotonic(), time.process_time()
    count, broken = verify_events(read_events(options.file))
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu
    return _result("verify (JSONL file, offline)", count, seconds, cpu, broken)


def _result(phase, events, seconds, cpu, broken=None):
    return {
        "phase": phase,
        "events": events,
        "seconds": seconds,
        "rate": events / seconds,
        "cpu_rate": events / cpu if cpu else 0,
        "broken": str(broken) if broken else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
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
    print("events/s: wall clock; per CPU-s: events per second of this process's own CPU time")
    print()
    header = (
        f"{'phase':<32} {'events/s':>9} {'per CPU-s':>10} {'seconds':>8} {'peak RSS':>9}  target"
    )
    print(header)
    print("-" * (len(header) + 24))
    for result in results:
        kind = "export" if result["phase"].startswith("export") else "verify"
        rate_target, memory_target = TARGETS[kind]
        target = f">= {rate_target:,}/s" + (f", < {memory_target} MB" if memory_target else "")
        met = result["rate"] >= rate_target and (
            memory_target is None or result["peak_rss_mb"] < memory_target
        )
        print(
            f"{result['phase']:<32} {result['rate']:>9,.0f} {result['cpu_rate']:>10,.0f} "
            f"{result['seconds']:>8.1f} {result['peak_rss_mb']:>6.0f} MB  "
            f"{target}: {'met' if met else 'NOT met'}"
        )
        if result.get("broken"):
            print(f"  chain reported broken: {result['broken']}")


if __name__ == "__main__":
    sys.exit(main())
