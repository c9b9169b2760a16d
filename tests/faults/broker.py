"""Point the Celery app of the test process at a broker of the test's choosing, and back."""

import time
from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from kombu import pools as kombu_pools

from etude_site.celery import app as celery_app

SAVED_KEYS = ("broker_url", "broker_transport_options", "task_always_eager")


def folder_options(root):
    """Transport options of a filesystem broker in `root` (folders created)."""
    folders = {name: root / name for name in ("queue", "processed", "control")}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folders["queue"]),
        "data_folder_out": str(folders["queue"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
        "store_processed": False,
        "polling_interval": 0.1,
    }


@contextmanager
def broker(url="filesystem://", options=None):
    """Tasks are sent to this broker (not run inline) inside the block."""
    saved = {key: celery_app.conf[key] for key in SAVED_KEYS}
    celery_app.conf.update(
        broker_url=url, broker_transport_options=options or {}, task_always_eager=False
    )
    reset_connections()
    try:
        yield
    finally:
        celery_app.conf.update(saved)
        reset_connections()


def reset_connections():
    """Drop pooled broker connections so the next message uses the broker configured now."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
        celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # kombu keeps producer pools per connection in a global registry; one whose connections a
    # stopped worker closed would be handed out again.
    kombu_pools.reset()


@contextmanager
def in_process_worker(**options):
    """A real worker in a thread of this process, on the broker configured now."""
    # start_worker closes the app afterwards unless it is the current one; the app must stay
    # usable for the rest of the session (other tests, other threads).
    celery_app.set_current()
    celery_app.set_default()
    try:
        with start_worker(
            celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10, **options
        ) as worker:
            yield worker
    finally:
        reset_connections()


def message_files(options):
    from pathlib import Path

    return sorted(
        path for path in Path(options["data_folder_in"]).iterdir() if path.name.endswith(".msg")
    )


def wait_for(condition, seconds=30, every=0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return bool(condition())


def free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
