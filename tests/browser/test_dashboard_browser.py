"""An operator opens the competency heatmap in Debian's Chromium: the chart draws one cell per
agent and skill, a click on a cell loads that pair's drill-down below it with htmx, and the
drill-down draws its learning curve. plotly.js comes from the installed plotly package through
the project's static files finder, never from the internet.

Playwright drives /usr/bin/chromium (scripts/ensure-chromium installs it); it never downloads a
browser of its own."""

import math
import re
from datetime import timedelta

import pytest
from django.urls import include, path
from django.utils import timezone
from playwright.sync_api import expect

from etude_site import urls as site_urls
from practice.models import Attempt
from practice.services.competency import record_outcome
from tests.factories import AgentFactory, AttemptFactory, SkillFactory, operator

# The site mounts the dashboards at "dash/"; until it does, this module's URLs add them.
urlpatterns = [*site_urls.urlpatterns]
if not any(getattr(pattern, "namespace", None) == "dash" for pattern in urlpatterns):
    urlpatterns.append(path("dash/", include("oversight.dashboard_urls")))

pytestmark = [pytest.mark.browser, pytest.mark.urls(__name__)]

FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "oversight.dashboards.staticfinder.PlotlyFinder",
]

HEATMAP_CELLS = """() => {
  const graph = document.querySelector("[data-heatmap]");
  const z = graph.calcdata[0][0].z;
  let filled = 0;
  for (const row of z) for (const score of row) if (score !== 255) filled += 1;
  return {
    rows: z.length,
    columns: z[0].length,
    filled: filled,
    agents: graph.data[0].y,
    skills: graph.data[0].x,
    images: graph.querySelectorAll("g.hm image").length,
  };
}"""

# The page position of a heatmap cell's centre, from the plotted axes.
CELL_POSITION = """([row, column]) => {
  const graph = document.querySelector("[data-heatmap]");
  const box = graph.getBoundingClientRect();
  const x = graph._fullLayout.xaxis, y = graph._fullLayout.yaxis;
  return {x: box.left + x._offset + x.l2p(column), y: box.top + y._offset + y.l2p(row)};
}"""


@pytest.fixture
def browser_page(browser_page, settings):
    """The shared page (tests/browser/conftest.py), with plotly.js served from the installed
    plotly package."""
    settings.STATICFILES_FINDERS = FINDERS
    return browser_page


def practiced(agent, key, outcomes, *, days_ago, source=Attempt.Source.LIVE):
    now = timezone.now()
    for index, success in enumerate(outcomes):
        record_outcome(
            AttemptFactory(
                agent=agent,
                skill=SkillFactory(key=key),
                success=success,
                score=1.0 if success else 0.0,
                source=source,
                created_at=now - timedelta(days=days_ago, hours=-index),
            )
        )


def estimate_line(competency):
    """The hover's estimate line, in whole percent rounded half up as the page sends them."""
    score, spread = (
        math.floor(value * 100 + 0.5) for value in (competency.estimate, competency.uncertainty)
    )
    return f"{score}% ± {spread} · {competency.attempts} attempts"


def review_lines(due):
    """What the hover may say of a review due at `due`: the page counted whole days from its
    own moment, a little before this one."""
    days = math.floor((due - timezone.now()) / timedelta(days=1))
    texts = []
    for count in (days, days + 1):
        if count == 0:
            texts.append("due today")
        elif count < 0:
            texts.append(f"overdue by {-count} day{'s' if count != -1 else ''}")
        else:
            texts.append(f"in {count} day{'s' if count != 1 else ''}")
    return re.compile("next review: (" + "|".join(map(re.escape, texts)) + ")")


def test_heatmap_draws_every_cell_and_a_click_opens_the_learning_curve(
    live_server, browser_page, sign_in, artifacts
):
    page = browser_page
    operator(username="olga")
    for key in ("support.intent.ambiguity", "support.policy.refunds", "support.tone"):
        SkillFactory(key=key)
    alpha = AgentFactory(name="alpha", boundaries=["support"])
    beta = AgentFactory(name="beta", simulated=True, boundaries=["support"])
    gamma = AgentFactory(name="gamma", boundaries=["support.tone"])
    practiced(
        alpha, "support.intent.ambiguity", [False, False, True, False, True, True], days_ago=9
    )
    practiced(alpha, "support.tone", [True, True], days_ago=3)
    practiced(beta, "support.policy.refunds", [False, True, False], days_ago=5)
    practiced(beta, "support.tone", [False], days_ago=2)
    practiced(
        gamma, "support.tone", [True, False, True], days_ago=4, source=Attempt.Source.PRACTICE
    )

    sign_in(page, live_server.url, "olga", next_path="/dash/heatmap/")

    # Three agents by three level-1 skills; five of the nine pairs have an estimate.
    page.wait_for_selector("[data-heatmap].js-plotly-plot g.hm image", state="attached")
    cells = page.evaluate(HEATMAP_CELLS)
    assert (cells["rows"], cells["columns"], cells["filled"]) == (3, 3, 5)
    assert cells["agents"] == ["alpha", "beta (simulation)", "gamma"]
    assert cells["skills"] == ["support.intent", "support.policy", "support.tone"]
    assert cells["images"] == 1
    page.screenshot(path=str(artifacts / "dashboard-heatmap.png"), full_page=True)

    # Hovering a cell shows every detail the page sent for it, inflated in the browser:
    # gamma practised tone (a leaf, so its review is scheduled) 4 to 3.9 days ago.
    hover = page.locator(".hoverlayer")
    tone = gamma.competencies.get(skill__key="support.tone")
    spot = page.evaluate(CELL_POSITION, [2, 2])
    page.mouse.move(spot["x"], spot["y"])
    expect(hover).to_contain_text("gammasupport.tone: Tone" + estimate_line(tone))
    expect(hover).to_contain_text("last practiced: 3 days ago")
    expect(hover).to_contain_text(review_lines(tone.next_review_at))

    # Alpha x support.intent, a parent rolled up from its leaf: only live attempts, no review.
    intent = alpha.competencies.get(skill__key="support.intent")
    spot = page.evaluate(CELL_POSITION, [0, 0])
    page.mouse.move(spot["x"], spot["y"])
    expect(hover).to_contain_text(estimate_line(intent))
    expect(hover).to_contain_text("6 attempts")
    expect(hover).to_contain_text("last practiced: never")
    expect(hover).to_contain_text("next review: not scheduled")

    # Click it in the chart itself: the drill-down arrives below it.
    page.mouse.click(spot["x"], spot["y"])
    drilldown = page.locator("#drilldown [data-drilldown]")
    expect(drilldown).to_have_attribute("data-drilldown", "alpha/support.intent")
    curve = page.locator("#drilldown .chart-curve.js-plotly-plot")
    expect(curve).to_be_visible()
    traces = page.evaluate(
        """() => { const graph = document.querySelector("#drilldown .chart-curve");
                   return graph.data.map((trace, index) =>
                     [trace.name || "", trace.fill || "", graph._fullData[index]._length]); }"""
    )
    assert traces == [["", "", 6], ["± uncertainty", "tonexty", 6], ["estimate", "", 6]]
    expect(curve.locator("g.scatterlayer path.js-line")).to_have_count(3)
    expect(drilldown).to_contain_text("No strategy for this skill has gone live yet")
    page.screenshot(path=str(artifacts / "dashboard-drilldown.png"), full_page=True)

    # Filtering by level redraws the chart through htmx and keeps the URL shareable.
    page.select_option("#id_level", "0")
    page.wait_for_function(
        """() => { const graph = document.querySelector("[data-heatmap].js-plotly-plot");
                   return graph && graph.data[0].x.length === 1; }"""
    )
    assert page.evaluate(HEATMAP_CELLS)["skills"] == ["support"]
    assert "level=0" in page.url
