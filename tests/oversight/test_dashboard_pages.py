"""The operator dashboards: every page for every role, boundary and key changes by operators
only (audited), the heatmap's compact payload, the before/after statistics, and plotly.js
served from the installed package."""

import base64
import gzip
import json
import math
import re
import zlib
from array import array
from datetime import timedelta
from pathlib import Path

import plotly
import pytest
from django.contrib.staticfiles import finders
from django.urls import include, path, reverse
from django.utils import timezone

from etude_site import urls as site_urls
from oversight.dashboards import charts, progress, selectors, stats
from oversight.dashboards.staticfinder import PlotlyFinder
from oversight.models import AuditEvent
from practice.models import AgentKey, CompetencyEstimate, Reflection, Strategy
from practice.services.agents import authenticate_key, issue_key
from practice.services.attempts import record_attempt
from practice.services.competency import record_outcome
from practice.services.strategies import change_status, propose_strategy
from tests.factories import (
    AgentFactory,
    AttemptFactory,
    SkillFactory,
    UserFactory,
    auditor,
    operator,
    reviewer,
)

# The site mounts the dashboards at "dash/"; until it does, this module's URLs add them.
urlpatterns = [*site_urls.urlpatterns]
if not any(getattr(pattern, "namespace", None) == "dash" for pattern in urlpatterns):
    urlpatterns.append(path("dash/", include("oversight.dashboard_urls")))

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]

ROLES = {"reviewer": reviewer, "operator": operator, "auditor": auditor}


@pytest.fixture(autouse=True)
def _plain_http(settings):
    """The test client speaks plain HTTP, which production redirects to HTTPS."""
    settings.SECURE_SSL_REDIRECT = False


def attempt(agent, key, *, success, at, **fields):
    """An attempt counted in the competency model, as the background task would."""
    made = AttemptFactory(
        agent=agent,
        skill=SkillFactory(key=key),
        success=success,
        score=1.0 if success else 0.0,
        created_at=at,
        **fields,
    )
    record_outcome(made)
    return made


@pytest.fixture
def world():
    """Two agents on a small support taxonomy: alpha everywhere, beta (simulated) on tone."""
    now = timezone.now()
    SkillFactory(key="support.intent.ambiguity")
    SkillFactory(key="support.tone")
    alpha = AgentFactory(name="alpha", boundaries=["support"])
    beta = AgentFactory(name="beta", simulated=True, boundaries=["support.tone"])
    for minutes, success in enumerate([False, False, True, True]):
        attempt(
            alpha,
            "support.intent.ambiguity",
            success=success,
            at=now - timedelta(days=3, minutes=-minutes),
        )
    attempt(alpha, "support.tone", success=True, at=now - timedelta(days=2), source="practice")
    for hours in range(3):
        attempt(beta, "support.tone", success=False, at=now - timedelta(days=1, hours=hours))
    return {"alpha": alpha, "beta": beta, "now": now}


def page_urls(world):
    first = world["alpha"].attempts.order_by("pk").first()
    return [
        reverse("dash:overview"),
        reverse("dash:heatmap"),
        reverse("dash:drilldown", args=["alpha", "support.intent"]),
        reverse("dash:skill", args=["support.intent"]),
        reverse("dash:agent", args=["alpha"]),
        reverse("dash:attempt", args=[first.pk]),
    ]


# --- Roles ---------------------------------------------------------------------------------------


def test_every_page_sends_anonymous_users_to_sign_in(client, world):
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_a_user_without_a_role_is_refused(client, world):
    client.force_login(UserFactory())
    for url in page_urls(world):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_role_reads_every_page(client, world, role):
    client.force_login(ROLES[role]())
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"alpha" in response.content, url


@pytest.mark.parametrize("role", ["auditor", "reviewer"])
def test_only_operators_change_boundaries_and_keys(client, world, role):
    alpha = world["alpha"]
    key = issue_key(alpha, label="prod").key
    client.force_login(ROLES[role]())
    events = AuditEvent.objects.count()

    page = client.get(reverse("dash:agent", args=["alpha"])).content.decode()
    assert "Save boundaries" not in page
    assert "Create key" not in page
    responses = [
        client.post(reverse("dash:agent-boundaries", args=["alpha"]), {"skills": ["support.tone"]}),
        client.post(reverse("dash:agent-key-create", args=["alpha"]), {"label": "sneaky"}),
        client.post(reverse("dash:agent-key-revoke", args=["alpha", key.prefix]), {"reason": "x"}),
    ]

    assert [response.status_code for response in responses] == [403, 403, 403]
    assert list(alpha.boundaries.values_list("key", flat=True)) == ["support"]
    assert AgentKey.objects.filter(agent=alpha).count() == 1
    key.refresh_from_db()
    assert key.revoked_at is None
    assert AuditEvent.objects.count() == events


def test_keys_are_listed_to_auditors_but_not_to_reviewers(client, world):
    issue_key(world["alpha"], label="prod")
    url = reverse("dash:agent", args=["alpha"])
    client.force_login(auditor())
    assert "API keys" in client.get(url).content.decode()
    client.force_login(reviewer())
    assert "API keys" not in client.get(url).content.decode()


# --- Operator changes ------------------------------------------------------------------------------


def test_operator_changes_boundaries_and_the_change_is_audited(client, world):
    user = operator()
    client.force_login(user)
    response = client.post(
        reverse("dash:agent-boundaries", args=["alpha"]),
        {"skills": ["support.intent", "support.tone"], "reason": "narrower scope"},
    )
    assert response.status_code == 302
    alpha = world["alpha"]
    assert sorted(alpha.boundaries.values_list("key", flat=True)) == [
        "support.intent",
        "support.tone",
    ]
    event = AuditEvent.objects.get(action="agent.boundaries_changed", object_id="alpha")
    assert event.actor_user == user
    assert event.reason == "narrower scope"
    assert event.before["boundaries"] == ["support"]
    assert event.after["boundaries"] == ["support.intent", "support.tone"]


def test_unknown_boundary_is_refused_with_the_form_shown_again(client, world):
    client.force_login(operator())
    response = client.post(
        reverse("dash:agent-boundaries", args=["alpha"]), {"skills": ["no.such.skill"]}
    )
    assert response.status_code == 400
    assert "no.such.skill" in response.content.decode()
    assert list(world["alpha"].boundaries.values_list("key", flat=True)) == ["support"]


def test_a_new_key_is_shown_once_and_works(client, world):
    client.force_login(operator())
    url = reverse("dash:agent", args=["alpha"])
    response = client.post(reverse("dash:agent-key-create", args=["alpha"]), {"label": "ci"})

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = re.search(r'<code class="secret">([^<]+)</code>', response.content.decode()).group(1)
    assert authenticate_key(secret).agent == world["alpha"]
    key = AgentKey.objects.get(agent=world["alpha"], label="ci")
    assert AuditEvent.objects.filter(action="agent_key.created", object_id=key.prefix).exists()
    again = client.get(url).content.decode()
    assert key.prefix in again
    assert secret not in again


def test_operator_revokes_a_key(client, world):
    issued = issue_key(world["alpha"], label="old")
    user = operator()
    client.force_login(user)
    response = client.post(
        reverse("dash:agent-key-revoke", args=["alpha", issued.key.prefix]), {"reason": "leaked"}
    )
    assert response.status_code == 302
    issued.key.refresh_from_db()
    assert issued.key.revoked_at is not None
    event = AuditEvent.objects.get(action="agent_key.revoked", object_id=issued.key.prefix)
    assert (event.actor_user, event.reason) == (user, "leaked")
    second = client.post(
        reverse("dash:agent-key-revoke", args=["alpha", issued.key.prefix]), follow=True
    )
    assert "already revoked" in second.content.decode()


# --- Heatmap -------------------------------------------------------------------------------------


WIDTHS = {"u1": 1, "i1": 1, "u2": 2, "u4": 4}


def integers(raw, dtype):
    """Little-endian bytes read as JavaScript's typed array of `dtype` reads them."""
    width, signed = WIDTHS[dtype], dtype.startswith("i")
    return [
        int.from_bytes(raw[i : i + width], "little", signed=signed)
        for i in range(0, len(raw), width)
    ]


def decoded(spec):
    return integers(base64.b64decode(spec["bdata"]), spec["dtype"])


def details(cells):
    """The heatmap's per-cell hover details, inflated and cut as static/etude/dashboards.js
    does: {field name: one integer per cell}."""
    spec = cells["details"]
    assert spec["encoding"] == "deflate"  # the name DecompressionStream knows zlib's format by
    raw = zlib.decompress(base64.b64decode(spec["bdata"]))
    count, offset, arrays = cells["rows"] * cells["columns"], 0, {}
    for field in spec["fields"]:
        end = offset + count * WIDTHS[field["dtype"]]
        arrays[field["name"]] = integers(raw[offset:end], field["dtype"])
        offset = end
    assert offset == len(raw)
    return arrays


def heatmap_payload(content):
    found = re.search(
        rb'<script type="application/json" id="heatmap-data">(.*?)</script>', content, re.S
    )
    return json.loads(found.group(1))


def test_heatmap_sends_every_cell_as_small_integers(client, world):
    client.force_login(operator())
    response = client.get(reverse("dash:heatmap"), {"level": 1})
    payload = heatmap_payload(response.content)
    trace = payload["figure"]["data"][0]
    cells = payload["cells"]

    assert trace["type"] == "heatmap"
    assert trace["y"] == ["alpha", "beta (simulation)"]
    assert trace["x"] == ["support.intent", "support.tone"]
    assert trace["z"]["dtype"] == "u1" and trace["z"]["shape"] == "2,2"
    scores = decoded(trace["z"])
    alpha, beta = world["alpha"], world["beta"]
    expected = [
        round(alpha.competencies.get(skill__key="support.intent").estimate * 100),
        round(alpha.competencies.get(skill__key="support.tone").estimate * 100),
        selectors.NO_SCORE,  # beta never tried intent
        round(beta.competencies.get(skill__key="support.tone").estimate * 100),
    ]
    assert scores == expected
    hover = details(cells)
    assert hover["attempts"] == [4, 1, 0, 3]
    assert hover["lastPracticed"] == [selectors.NEVER, 2, selectors.NEVER, selectors.NEVER]
    assert hover["uncertainty"] == [
        math.floor(alpha.competencies.get(skill__key="support.intent").uncertainty * 100 + 0.5),
        math.floor(alpha.competencies.get(skill__key="support.tone").uncertainty * 100 + 0.5),
        0,
        math.floor(beta.competencies.get(skill__key="support.tone").uncertainty * 100 + 0.5),
    ]
    # The rolled-up parent and the empty cell have no review; the leaves count whole days to
    # theirs from the moment of the request, a little after the fixture's `now`.
    assert hover["nextReview"][0] == hover["nextReview"][2] == selectors.NO_REVIEW
    for cell, agent in ((1, alpha), (3, beta)):
        due = agent.competencies.get(skill__key="support.tone").next_review_at
        days = math.floor((due - world["now"]) / timedelta(days=1))
        assert hover["nextReview"][cell] in (days, days - 1)
    assert cells["agents"] == ["alpha", "beta"]
    assert cells["skillNames"] == ["Intent", "Tone"]
    assert (cells["rows"], cells["columns"]) == (2, 2)
    # plotly.js is loaded once, in the head, from the project's own static files.
    page = response.content.decode()
    assert page.count("vendor/plotly.min.js") == 1
    assert page.index("vendor/plotly.min.js") < page.index("</head>")


def test_heatmap_cells_are_rounded_and_ages_counted_in_whole_days_down():
    now = timezone.now()
    tone = SkillFactory(key="support.tone")
    for name, days, attempts in (("recent", 1.5, 300), ("stale", 400, 70_000)):
        CompetencyEstimate.objects.create(
            agent=AgentFactory(name=name),
            skill=tone,
            estimate=0.504,
            uncertainty=0.126,
            attempts=attempts,
            last_practiced_at=now - timedelta(days=days),
            next_review_at=now + timedelta(days=-days if name == "recent" else days),
        )
    grid = selectors.heatmap_grid(level=1, now=now)
    assert grid.shape == (2, 1)
    assert list(grid.scores) == [50, 50]
    assert list(grid.uncertainty) == [13, 13]
    assert list(grid.last_practiced) == [1, selectors.NEVER - 1]  # 1.5 days; 400: capped
    assert list(grid.next_review) == [-2, 127]  # overdue by 1.5 days; in 400: capped
    assert grid.attempts.itemsize == 4 and list(grid.attempts) == [300, 70_000]


def test_heatmap_levels_and_filters(client, world):
    client.force_login(auditor())
    roots = heatmap_payload(client.get(reverse("dash:heatmap"), {"level": 0}).content)
    assert roots["figure"]["data"][0]["x"] == ["support"]
    assert details(roots["cells"])["attempts"] == [5, 3]  # parents count their whole subtree

    leaves = heatmap_payload(
        client.get(
            reverse("dash:heatmap"), {"level": 2, "subtree": "support.intent", "agents": ["alpha"]}
        ).content
    )
    assert leaves["figure"]["data"][0]["x"] == ["support.intent.ambiguity"]
    assert leaves["figure"]["data"][0]["y"] == ["alpha"]


def synthetic_grid(rows, columns, cell):
    """A grid of `rows` agents by `columns` skills whose cells are cell(index) ->
    (score, uncertainty, attempts, last practiced, next review)."""
    values = [cell(index) for index in range(rows * columns)]
    widest = max(attempts for _, _, attempts, _, _ in values)
    return selectors.HeatmapGrid(
        level=2,
        agents=[(row, f"agent-{row:03d}", row % 4 == 3) for row in range(rows)],
        skills=[
            (column, f"area.skill.case_{column}", f"Case {column}") for column in range(columns)
        ],
        scores=bytearray(score for score, _, _, _, _ in values),
        uncertainty=bytearray(spread for _, spread, _, _, _ in values),
        attempts=array("I" if widest > 0xFFFF else "H", (count for _, _, count, _, _ in values)),
        last_practiced=bytearray(days for _, _, _, days, _ in values),
        next_review=array("b", (days for _, _, _, _, days in values)),
        filled=len(values),
    )


def test_heatmap_details_survive_the_round_trip_for_every_width():
    grid = synthetic_grid(
        3,
        4,
        lambda index: (
            selectors.NO_SCORE if index == 5 else index * 8,
            index * 4,
            70_000 + index if index % 2 else index,
            selectors.NEVER if index == 0 else index * 20,
            selectors.NO_REVIEW if index == 1 else 127 - index * 20,
        ),
    )
    payload = json.loads(charts.heatmap_payload(grid))
    hover = details(payload["cells"])
    assert [field["dtype"] for field in payload["cells"]["details"]["fields"]] == [
        "u4",
        "u1",
        "u1",
        "i1",
    ]
    assert hover["attempts"] == list(grid.attempts)
    assert hover["uncertainty"] == list(grid.uncertainty)
    assert hover["lastPracticed"] == list(grid.last_practiced)
    assert hover["nextReview"] == list(grid.next_review)
    assert hover["nextReview"][1] == selectors.NO_REVIEW and hover["nextReview"][-1] == -93
    assert decoded(payload["figure"]["data"][0]["z"]) == list(grid.scores)


def test_heatmap_payload_of_a_full_leaf_grid_stays_small():
    """200 agents x 252 skills, every cell filled with varied values (as in bench/dashboards.py):
    under 300 KB of JSON, most of it the scores and the deflated details."""
    rows, columns = 200, 252
    grid = synthetic_grid(
        rows,
        columns,
        lambda index: (
            (index * 37) % 101,
            (index * 7) % 30,
            15 + index % 11,
            (index * 13) % 60,
            (index * 11) % 50 - 10,
        ),
    )
    payload = charts.embed(charts.heatmap_payload(grid)).encode()
    assert len(payload) < 300_000
    cells = json.loads(payload)["cells"]
    assert details(cells)["lastPracticed"][:3] == [0, 13, 26]
    # The scores stay in plotly's own form, one byte a cell; the details are what shrank.
    assert len(base64.b64decode(cells["details"]["bdata"])) < rows * columns


def test_heatmap_is_compressed_for_browsers_that_accept_gzip(client, world):
    client.force_login(reviewer())
    url = reverse("dash:heatmap")
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    assert heatmap_payload(gzip.decompress(response.content))["cells"]["agents"] == [
        "alpha",
        "beta",
    ]


def test_heatmap_answers_htmx_with_the_chart_only(client, world):
    client.force_login(reviewer())
    response = client.get(reverse("dash:heatmap"), {"level": 1}, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert "HX-Request" in response["Vary"]
    assert content.lstrip().startswith('<div id="heatmap-chart"')
    assert "<html" not in content and "plotly.min.js" not in content
    assert '"type":"heatmap"' in content


def test_heatmap_json_cannot_close_its_script_tag():
    assert (
        charts.embed('{"a":"</script><b>&"}')
        == '{"a":"\\u003C/script\\u003E\\u003Cb\\u003E\\u0026"}'
    )


# --- Drill-down ----------------------------------------------------------------------------------


def live_strategy(key):
    """A strategy on `key` that went live just now, through the services (audited)."""
    strategy = propose_strategy(
        skill=SkillFactory(key=key),
        when="when the request could mean two things",
        do="ask one question that tells them apart",
        because="guessing picks the wrong order half the time",
    )
    return change_status(strategy, Strategy.Status.LIVE)


def test_drilldown_compares_success_before_and_after_the_first_live_strategy(client, world):
    alpha = world["alpha"]
    strategy = live_strategy("support.intent.ambiguity")
    live_at = AuditEvent.objects.get(action="strategy.live", object_id=str(strategy.pk)).created_at
    for minutes in range(1, 4):
        attempt(
            alpha, "support.intent.ambiguity", success=True, at=live_at + timedelta(minutes=minutes)
        )

    view = progress.drilldown(alpha, SkillFactory(key="support.intent"), timezone.now())
    assert view.first_live.strategy == strategy
    assert view.first_live.went_live_at == live_at
    comparison = view.comparison
    assert (comparison.before.successes, comparison.before.attempts) == (2, 4)
    assert (comparison.after.successes, comparison.after.attempts) == (3, 3)
    assert comparison.test == stats.FISHER_TEST
    assert comparison.p_value == pytest.approx(stats.fisher_exact(2, 2, 3, 0))
    assert len(view.curve) == 7  # one snapshot per attempt under the parent

    client.force_login(auditor())
    response = client.get(
        reverse("dash:drilldown", args=["alpha", "support.intent"]), headers={"HX-Request": "true"}
    )
    content = response.content.decode()
    assert content.lstrip().startswith("<article")
    assert "Fisher&#x27;s exact test" in content or "Fisher's exact test" in content
    assert "2 of 4" in content and "3 of 3" in content
    assert 'id="learning-curve-data"' in content
    assert "plotly.min.js" not in content and "<html" not in content
    curve = json.loads(
        re.search(r'id="learning-curve-data">(.*?)</script>', content, re.S).group(1)
    )
    assert [trace.get("fill") for trace in curve["data"]] == [None, "tonexty", None]
    assert len(curve["layout"]["shapes"]) == 1  # the strategy's go-live marker


def test_drilldown_without_a_live_strategy_shows_the_overall_rate(client, world):
    client.force_login(reviewer())
    content = client.get(reverse("dash:drilldown", args=["beta", "support.tone"])).content.decode()
    assert "No strategy for this skill has gone live yet" in content
    assert "0 of 3 attempts succeeded" in content


def test_unknown_agent_or_skill_is_404(client, world):
    client.force_login(operator())
    assert client.get(reverse("dash:drilldown", args=["nobody", "support"])).status_code == 404
    assert client.get(reverse("dash:skill", args=["no.such"])).status_code == 404


# --- Overview, skill and attempt pages -----------------------------------------------------------


def test_overview_shows_recent_success_weak_skills_and_failed_reflections(client, world):
    failed_on = world["beta"].attempts.first()
    reflection = Reflection.objects.create(
        attempt=failed_on,
        coach_name="offline",
        coach_version="1",
        status=Reflection.Status.FAILED,
        error="coach answered nonsense",
    )
    staff = operator(is_staff=True)
    client.force_login(staff)
    content = client.get(reverse("dash:overview")).content.decode()
    assert reverse("admin:practice_reflection_change", args=[reflection.pk]) in content
    assert "coach answered nonsense" in content
    # beta: 0 of 3 in the last week, alpha 3 of 5; weakest first.
    activity = content[content.index('data-table="activity"') :]
    assert activity.index("beta") < activity.index("alpha")
    weakest = content[content.index('data-table="weakest"') :]
    assert weakest.index("support.tone") < weakest.index("support.intent.ambiguity")
    assert reverse("dash:drilldown", args=["beta", "support.tone"]) in weakest


def test_skill_page_shows_its_surroundings(client, world):
    live_strategy("support.tone")
    client.force_login(reviewer())
    content = client.get(reverse("dash:skill", args=["support.tone"])).content.decode()
    treemap = json.loads(
        re.search(r'id="taxonomy-treemap-data">(.*?)</script>', content, re.S).group(1)
    )
    assert sorted(treemap["data"][0]["ids"]) == [
        "support",
        "support.intent",
        "support.intent.ambiguity",
        "support.tone",
    ]
    authorized = content[content.index('data-table="authorized"') :]
    assert "alpha" in authorized and "beta (simulation)" in authorized
    strategies = content[content.index('data-table="strategies"') :]
    assert "ask one question" in strategies and "Live" in strategies


def test_attempt_page_shows_the_chat_timeline_with_decision_points(client, world):
    alpha = world["alpha"]
    messages = [
        {"role": "user", "content": "Cancel my order"},
        {
            "role": "assistant",
            "content": "Looking it up.",
            "tool_calls": [
                {
                    "id": "call-1",
                    "type": "function",
                    "function": {"name": "lookup_order", "arguments": '{"order_id": "W1"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call-1", "content": '{"status": "pending"}'},
        {"role": "assistant", "content": "Done, it is cancelled."},
    ]
    stored, _ = record_attempt(
        alpha,
        {
            "skill": "support.intent.ambiguity",
            "success": False,
            "score": 0.0,
            "trace": {"format": "openai-chat", "messages": messages},
        },
    )
    Reflection.objects.create(
        attempt=stored,
        coach_name="offline",
        coach_version="1",
        status=Reflection.Status.SUCCEEDED,
        decision_points=[
            {
                "position": 1,
                "chosen": "claimed success",
                "should_have_chosen": "cancel_pending_order",
                "why_it_mattered": "the order was never cancelled",
            }
        ],
        causal_analysis="It answered without acting.",
    )
    client.force_login(auditor())
    content = client.get(reverse("dash:attempt", args=[stored.pk])).content.decode()

    timeline = content[content.index('data-timeline="chat"') :]
    assert "lookup_order" in timeline and "&quot;order_id&quot;: &quot;W1&quot;" in timeline
    assert "pending" in timeline
    highlighted = re.findall(r'<li class="[^"]*decision-point[^"]*" data-position="(\d+)"', content)
    assert highlighted == ["1"]
    decision = timeline[timeline.index("decision-point") :]
    assert decision.index("Done, it is cancelled.") < decision.index("cancel_pending_order")
    assert "It answered without acting." in content


# --- Statistics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "attempts", "low", "high"),
    # Newcombe (1998), Table I, the Wilson score interval without continuity correction.
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_values(successes, attempts, low, high):
    found = stats.wilson_interval(successes, attempts)
    assert found == (pytest.approx(low, abs=5e-5), pytest.approx(high, abs=5e-5))


def test_wilson_interval_of_nothing_is_none():
    assert stats.wilson_interval(0, 0) == (None, None)
    with pytest.raises(ValueError):
        stats.wilson_interval(3, 2)


def test_two_proportion_z_test_on_known_values():
    z, p_value = stats.two_proportion_z_test(40, 100, 60, 100)
    assert z == pytest.approx(2 * math.sqrt(2))  # pooled 0.5: se = sqrt(0.25 * 0.02)
    assert p_value == pytest.approx(0.004678, abs=1e-6)
    assert stats.two_proportion_z_test(5, 5, 7, 7) == (0.0, 1.0)


def test_fisher_exact_on_known_values():
    # The lady tasting tea: 34/70 two-sided.
    assert stats.fisher_exact(3, 1, 1, 3) == pytest.approx(34 / 70)
    # R: fisher.test(matrix(c(8, 1, 2, 5), 2)) gives p = 0.03497.
    assert stats.fisher_exact(8, 2, 1, 5) == pytest.approx(0.034965, abs=1e-6)
    assert stats.fisher_exact(5, 0, 0, 0) == pytest.approx(1.0)


def test_compare_rates_picks_the_test_by_the_expected_counts():
    small = stats.compare_rates(3, 4, 1, 4)
    assert small.test == stats.FISHER_TEST
    assert small.p_value == pytest.approx(34 / 70)
    large = stats.compare_rates(40, 100, 60, 100)
    assert large.test == stats.Z_TEST
    assert large.difference == pytest.approx(0.2)
    assert stats.compare_rates(0, 0, 3, 4).test is None


# --- plotly.js from the package ------------------------------------------------------------------


def test_plotly_js_is_found_in_the_installed_package(settings):
    settings.STATICFILES_FINDERS = [
        "django.contrib.staticfiles.finders.FileSystemFinder",
        "django.contrib.staticfiles.finders.AppDirectoriesFinder",
        "oversight.dashboards.staticfinder.PlotlyFinder",
    ]
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert finders.find("vendor/plotly.min.js") == str(shipped)
    assert finders.find("vendor/other.js") is None
    listed = [(name, storage.prefix) for name, storage in PlotlyFinder().list([])]
    assert listed == [("plotly.min.js", "vendor")]
    assert list(PlotlyFinder().list(["*.js"])) == []
    assert PlotlyFinder().check() == []
