"""Dashboard pages, mounted at "dash/": the overview, the competency heatmap and its drill-down,
skill, agent and attempt pages."""

from django.urls import path

from oversight.dashboards import views

app_name = "dash"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("heatmap/", views.heatmap, name="heatmap"),
    path("agent/<slug:name>/", views.agent, name="agent"),
    path("agent/<slug:name>/boundaries/", views.agent_boundaries, name="agent-boundaries"),
    path("agent/<slug:name>/keys/", views.agent_key_create, name="agent-key-create"),
    path(
        "agent/<slug:name>/keys/<str:prefix>/revoke/",
        views.agent_key_revoke,
        name="agent-key-revoke",
    ),
    path("agent/<slug:name>/skill/<str:key>/", views.drilldown, name="drilldown"),
    path("skill/<str:key>/", views.skill, name="skill"),
    path("attempt/<int:pk>/", views.attempt, name="attempt"),
]
