"""The health check for load balancers and the status page for operators.

/healthz answers 200 when the database and the broker answer, 503 naming what failed (no
details that would help an outsider: only the kind of error). /status/ shows operators what the
background work is doing: messages waiting in the queue, which workers answer a ping, attempts
waiting for the sweep, and the failed reflections, each with a button that queues a retry.
"""

import logging
import os
import tempfile
from datetime import timedelta
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from etude_site.celery import app as celery_app
from practice import tasks
from practice.models import Reflection
from practice.services.reflection import reflections_to_sweep

logger = logging.getLogger(__name__)

OPERATE_PERMISSION = "oversight.operate"
BROKER_TIMEOUT_SECONDS = 2
PING_TIMEOUT_SECONDS = 1
FAILED_SHOWN = 50
SWEEP_AFTER = timedelta(minutes=10)


# --- Checks ------------------------------------------------------------------------------------


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _filesystem_folders():
    options = celery_app.conf.broker_transport_options or {}
    keys = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
    return [Path(options[key]) for key in keys if options.get(key)]


def _uses_filesystem_broker():
    return str(celery_app.conf.broker_url or "").startswith("filesystem://")


def check_broker():
    """Raises when the broker cannot take a message: a folder of the filesystem broker is
    missing or not writable, or a broker server does not answer within a short timeout."""
    if _uses_filesystem_broker():
        for folder in _filesystem_folders():
            # Writing a file is the only test that holds for root too (os.access says yes).
            descriptor, probe = tempfile.mkstemp(prefix=".healthz-", dir=folder)
            os.close(descriptor)
            os.unlink(probe)
        return
    with celery_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def _failure(error):
    # The kind of error only: a message may name hosts, paths or credentials.
    return f"unavailable ({type(error).__name__})"


@never_cache
@require_GET
def healthz(request):
    """200 {"status": "ok", ...} when the database and the broker answer, else 503 naming the
    part that failed."""
    parts = {}
    for name, check in (("database", check_database), ("broker", check_broker)):
        try:
            check()
        except Exception as error:  # noqa: BLE001 (any failure means that part is unhealthy)
            logger.warning("Health check: the %s failed: %r", name, error)
            parts[name] = _failure(error)
        else:
            parts[name] = "ok"
    failed = [name for name, state in parts.items() if state != "ok"]
    body = {"status": "error" if failed else "ok", **parts}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)


# --- The status page ---------------------------------------------------------------------------


def queue_depth():
    """Messages waiting in the default queue: message files of the filesystem broker, or the
    length of the Redis list."""
    queue = celery_app.conf.task_default_queue or "celery"
    if _uses_filesystem_broker():
        options = celery_app.conf.broker_transport_options or {}
        folder = Path(options["data_folder_in"])
        return sum(1 for path in folder.iterdir() if path.name.endswith(f".{queue}.msg"))
    with celery_app.connection_for_read() as broker:
        broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        channel = broker.default_channel
        if hasattr(channel, "client") and hasattr(channel.client, "llen"):
            return channel.client.llen(queue)
        return channel.queue_declare(queue=queue, passive=True).message_count


def answering_workers():
    """Names of the workers that answered a ping within a second, sorted."""
    replies = celery_app.control.inspect(timeout=PING_TIMEOUT_SECONDS).ping() or {}
    return sorted(replies)


def _measured(read):
    """(value, None) or (None, what failed): the page shows what it could read."""
    try:
        return read(), None
    except Exception as error:  # noqa: BLE001 (the page reports it instead of failing)
        logger.warning("Status page: %s failed: %r", read.__name__, error)
        return None, _failure(error)


operating = permission_required(OPERATE_PERMISSION, raise_exception=True)


@login_required
@operating
@require_GET
def status_page(request):
    depth, depth_error = _measured(queue_depth)
    workers, workers_error = _measured(answering_workers)
    failed = Reflection.objects.filter(status=Reflection.Status.FAILED)
    context = {
        "broker": "filesystem" if _uses_filesystem_broker() else "server",
        "queue_depth": depth,
        "queue_error": depth_error,
        "workers": workers,
        "workers_error": workers_error,
        "waiting_for_sweep": len(reflections_to_sweep(SWEEP_AFTER)),
        "failed_count": failed.count(),
        "failed_reflections": failed.select_related("attempt__skill", "attempt__agent").order_by(
            "-finished_at", "-pk"
        )[:FAILED_SHOWN],
    }
    return render(request, "oversight/status/page.html", context)


@login_required
@operating
@require_POST
def retry_reflection(request, pk):
    """Queue another run of one failed reflection."""
    failed = get_object_or_404(Reflection, pk=pk)
    if failed.status != Reflection.Status.FAILED:
        messages.info(request, f"Reflection #{failed.pk} is {failed.status} now; nothing to retry.")
        return redirect("status:page")
    try:
        tasks.retry_reflection.delay(failed.pk)
    except Exception as error:  # noqa: BLE001 (the broker is down: say so, change nothing)
        logger.warning("Queueing a retry of reflection %s failed: %r", failed.pk, error)
        messages.error(
            request,
            f"The retry of reflection #{failed.pk} could not be queued: the broker is "
            "unavailable. Try again once /healthz is ok.",
        )
        return redirect("status:page")
    logger.info("%s queued a retry of reflection %s", request.user.get_username(), failed.pk)
    messages.success(request, f"A retry of reflection #{failed.pk} is queued.")
    return redirect("status:page")
