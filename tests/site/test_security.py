"""Security checks: what an agent key can and cannot reach, sign-in and roles on pages, CSRF on
forms and htmx requests, keys kept out of logs, audit events and exports, the request rate
limit per agent, and `manage.py check --deploy` under the production settings."""

import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, include, path

from etude_site.urls import urlpatterns as site_urlpatterns
from oversight import status_views
from oversight.models import AuditEvent
from oversight.services.audit_export import csv_chunks, jsonl_chunks
from practice import throttling
from practice.models import CompetencyEstimate, Strategy, StrategyFeedback
from practice.services.agents import authenticate_key, create_agent, issue_key
from practice.services.strategies import propose_strategy
from tests.factories import AttemptFactory, SkillFactory, reviewer

ROOT = Path(__file__).resolve().parents[2]

urlpatterns = [
    path("healthz", status_views.healthz, name="healthz"),
    path("status/", include("oversight.status_urls")),
    *site_urlpatterns,
]
pytestmark = [pytest.mark.urls(__name__), pytest.mark.django_db]

ATTEMPT = {
    "skill": "support.refunds",
    "success": False,
    "score": 0.2,
    "trace": {"format": "steps", "steps": [{"action": "refund", "ok": False}]},
}


@pytest.fixture
def agents():
    """Two agents with keys: one for support.refunds, one for billing.invoices."""
    for key in ("support.refunds", "billing.invoices"):
        SkillFactory(key=key)
    refunds = create_agent(name="refunds-bot", boundaries=["support.refunds"])
    invoices = create_agent(name="invoices-bot", boundaries=["billing.invoices"])
    return {
        "refunds": (refunds, issue_key(refunds).secret),
        "invoices": (invoices, issue_key(invoices).secret),
    }


def bearer(secret):
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def refund_strategy():
    """A proposed strategy for support.refunds."""
    return propose_strategy(
        skill=SkillFactory(key="support.refunds"),
        when="When a refund is asked for a delivered order",
        do="Check the delivery date against the return window first",
        because="refunds outside the window are refused later",
    )


# --- An agent key stays inside its own data and boundaries -----------------------------------------


def test_an_agent_sees_only_its_own_competency(client, agents):
    refunds, refunds_key = agents["refunds"]
    invoices, _ = agents["invoices"]
    AttemptFactory(agent=invoices, skill__key="billing.invoices")
    from practice.services import competency

    for attempt in invoices.attempts.all():
        competency.record_outcome(attempt)
    assert CompetencyEstimate.objects.filter(agent=invoices).exists()

    response = client.get("/api/v1/competency/", **bearer(refunds_key))
    assert response.status_code == 200
    assert response.json() == []


def test_an_agent_cannot_pull_memory_outside_its_boundaries(client, agents):
    _, refunds_key = agents["refunds"]
    live = propose_strategy(
        skill=SkillFactory(key="billing.invoices"),
        when="When an invoice total does not match the order lines",
        do="Recompute the total from the order lines before answering",
        because="the stored total can be stale",
    )
    Strategy.objects.filter(pk=live.pk).update(status=Strategy.Status.LIVE)

    for skill in ("billing.invoices", "billing", "support"):
        response = client.get(f"/api/v1/memory/?skill={skill}", **bearer(refunds_key))
        assert response.status_code == 403, (skill, response.content)
        assert "Recompute" not in response.content.decode()


def test_an_agent_cannot_give_feedback_on_another_agents_attempt(client, agents):
    _, refunds_key = agents["refunds"]
    invoices, _ = agents["invoices"]
    foreign_attempt = AttemptFactory(agent=invoices, skill__key="support.refunds")
    strategy = refund_strategy()
    Strategy.objects.filter(pk=strategy.pk).update(status=Strategy.Status.LIVE)

    response = client.post(
        f"/api/v1/strategies/{strategy.pk}/feedback/",
        {"verdict": "harmful", "attempt": foreign_attempt.pk},
        content_type="application/json",
        **bearer(refunds_key),
    )
    assert response.status_code == 400
    assert not StrategyFeedback.objects.exists()


def browser_paths():
    """Every page of the site (not the agent API, the schema, static files or the health
    check), with 1 for each parameter: the routes as the site mounts them now."""

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route

    # Signing in and out is public by design; a key does not sign anyone in there.
    skipped = ("api/", "healthz", "accounts/log", "admin/log", "static/")
    for route in walk(get_resolver().url_patterns, ""):
        if route.startswith(skipped) or route.startswith("^"):
            continue
        filled = re.sub(r"<(?:\w+:)?\w+>", "1", route)
        if re.search(r"[\\^$()\[\]?*+]", filled):
            continue  # a regex route (the admin's catch-alls): covered by /admin/ itself
        yield "/" + filled


def test_a_key_opens_no_browser_page(agents):
    _, refunds_key = agents["refunds"]
    client = Client()
    pages = sorted(set(browser_paths()))
    assert {"/", "/review/", "/admin/", "/status/"} <= set(pages)
    for page in pages:
        for method in (client.get, client.post):
            response = method(page, **bearer(refunds_key))
            if response.status_code == 302:
                assert "login" in response["Location"], (page, response["Location"])
            else:
                assert response.status_code in {403, 404, 405}, (page, response.status_code)
    print(f"{len(pages)} browser pages refused an agent key")


def test_a_key_cannot_approve_a_strategy(agents):
    _, refunds_key = agents["refunds"]
    strategy = refund_strategy()
    client = Client()
    for action in ("accept", "edit", "reject", "resolve", "retire"):
        response = client.post(
            f"/review/strategy/{strategy.pk}/{action}/",
            {"revision": strategy.revision, "comment": "ok", "reason_code": "vague"},
            **bearer(refunds_key),
        )
        assert response.status_code in {302, 403}, (action, response.status_code)
    for api_path in (
        f"/api/v1/strategies/{strategy.pk}/accept/",
        f"/api/v1/strategies/{strategy.pk}/",
    ):
        response = client.post(api_path, {}, content_type="application/json", **bearer(refunds_key))
        assert response.status_code == 404
    # Feedback on a proposed strategy does not count as approval either.
    response = client.post(
        f"/api/v1/strategies/{strategy.pk}/feedback/",
        {"verdict": "helpful"},
        content_type="application/json",
        **bearer(refunds_key),
    )
    assert response.status_code == 404
    strategy.refresh_from_db()
    assert strategy.status == Strategy.Status.PROPOSED


# --- Pages need sign-in and the right role -----------------------------------------------------------


def test_pages_need_sign_in(client):
    for page in ("/", "/review/", "/status/"):
        response = client.get(page)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_pages_need_the_right_role(client):
    client.force_login(reviewer())
    assert client.get("/status/").status_code == 403
    assert client.get("/admin/").status_code == 302  # not staff: the admin asks for a staff login


# --- CSRF ---------------------------------------------------------------------------------------------


def test_the_sign_in_form_refuses_a_post_without_its_csrf_token():
    user = reviewer()
    client = Client(enforce_csrf_checks=True)
    refused = client.post(
        "/accounts/login/",
        {"username": user.username, "password": "correct horse battery staple"},
    )
    assert refused.status_code == 403

    page = client.get("/accounts/login/")
    token = page.context["csrf_token"]
    accepted = client.post(
        "/accounts/login/",
        {
            "username": user.username,
            "password": "correct horse battery staple",
            "csrfmiddlewaretoken": str(token),
        },
    )
    assert accepted.status_code == 302


def test_an_htmx_post_needs_the_csrf_header():
    strategy = refund_strategy()
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer())
    page = client.get("/review/")
    assert page.status_code == 200
    token = page.context["csrf_token"]
    assert f"X-CSRFToken&quot;: &quot;{token}" in page.content.decode() or (
        f'"X-CSRFToken": "{token}"' in page.content.decode()
    )

    url = f"/review/strategy/{strategy.pk}/reject/"
    form = {"revision": strategy.revision, "reason_code": "vague", "comment": "too vague"}
    refused = client.post(url, form, HTTP_HX_REQUEST="true")
    assert refused.status_code == 403
    strategy.refresh_from_db()
    assert strategy.status == Strategy.Status.PROPOSED

    accepted = client.post(url, form, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=str(token))
    assert accepted.status_code != 403


# --- Keys stay secret ---------------------------------------------------------------------------------


def test_keys_never_reach_logs_audit_events_or_exports(client, caplog):
    SkillFactory(key="support.refunds")
    caplog.set_level(logging.DEBUG)
    agent = create_agent(name="secretive-bot", boundaries=["support.refunds"])
    issued = issue_key(agent)
    authenticate_key(issued.secret)
    client.post(
        "/api/v1/attempts/", ATTEMPT, content_type="application/json", **bearer(issued.secret)
    )
    client.get("/api/v1/memory/?skill=billing", **bearer(issued.secret))
    client.get("/api/v1/competency/", **bearer(issued.secret + "x"))  # a refused key is logged

    secret_part = issued.secret.split("_", 2)[2]  # the secret itself may contain "_"
    assert len(secret_part) >= 20
    logged = caplog.text
    assert "secretive-bot" in logged or "Unauthorized" in logged  # something was logged
    assert secret_part not in logged

    events = AuditEvent.objects.all()
    assert events.exists()
    audit_text = "".join(str(event.__dict__) for event in events)
    assert secret_part not in audit_text
    exported = b"".join([*jsonl_chunks(events), *csv_chunks(events)]).decode()
    assert exported
    assert secret_part not in exported


# --- Request rate per agent ------------------------------------------------------------------------


@pytest.fixture
def three_a_minute(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"agent": "3/minute"},
    }
    # Each test starts with no request counted (tests/conftest.py).


def test_a_flood_from_one_agent_is_answered_429_with_retry_after(client, agents, three_a_minute):
    _, refunds_key = agents["refunds"]
    _, invoices_key = agents["invoices"]
    answers = [
        client.get("/api/v1/competency/", **bearer(refunds_key)).status_code for _ in range(5)
    ]
    assert answers == [200, 200, 200, 429, 429]
    throttled = client.get("/api/v1/competency/", **bearer(refunds_key))
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "throttled" in throttled.json()["detail"].lower()
    # Another agent has its own budget.
    assert client.get("/api/v1/competency/", **bearer(invoices_key)).status_code == 200


def test_all_keys_of_an_agent_share_one_budget(client, agents, three_a_minute):
    refunds, first_key = agents["refunds"]
    second_key = issue_key(refunds).secret
    for _ in range(3):
        assert client.get("/api/v1/competency/", **bearer(first_key)).status_code == 200
    assert client.get("/api/v1/competency/", **bearer(second_key)).status_code == 429


def test_with_a_shared_cache_the_counts_live_there(client, agents, three_a_minute, settings):
    # Any cache that is not per process is shared (production: Redis); a file cache stands in.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(settings.VAR_DIR / "cache"),
        }
    }
    refunds, refunds_key = agents["refunds"]
    answers = [
        client.get("/api/v1/competency/", **bearer(refunds_key)).status_code for _ in range(4)
    ]
    assert answers == [200, 200, 200, 429]
    assert caches["default"].get(f"throttle_agent_{refunds.pk}")[1] == 3
    assert not throttling.LOCAL_WINDOWS


def test_the_default_rate_lets_a_busy_agent_through(client, agents):
    _, refunds_key = agents["refunds"]
    statuses = {
        client.get("/api/v1/competency/", **bearer(refunds_key)).status_code for _ in range(50)
    }
    assert statuses == {200}


# --- Production settings ---------------------------------------------------------------------------


def run_manage(*arguments, **overrides):
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "ETUDE_"))
        and key not in {"DATABASE_URL", "CELERY_BROKER_URL", "OPENAI_BASE_URL"}
    }
    environment.update({"DATABASE_URL": "sqlite:///:memory:", **overrides})
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "etude.example.org",
    "SECURE_SSL_REDIRECT": "1",
}


def test_check_deploy_is_clean_under_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_check_deploy_warns_when_https_is_turned_off():
    result = run_manage(
        "check",
        "--deploy",
        **{**PRODUCTION, "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0"},
    )
    assert "security.W004" in result.stderr + result.stdout
    assert "security.W008" in result.stderr + result.stdout


def test_a_wrong_rate_limit_names_the_variable():
    result = run_manage("check", **{**PRODUCTION, "ETUDE_AGENT_RATE_LIMIT": "fast"})
    assert result.returncode != 0
    assert "ETUDE_AGENT_RATE_LIMIT" in result.stderr
