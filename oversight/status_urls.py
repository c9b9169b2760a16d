"""The operators' status page; /healthz is mounted at the site root (see etude_site/urls.py)."""

from django.urls import path

from oversight import status_views

app_name = "status"
urlpatterns = [
    path("", status_views.status_page, name="page"),
    path(
        "reflections/<int:pk>/retry/",
        status_views.retry_reflection,
        name="retry-reflection",
    ),
]
