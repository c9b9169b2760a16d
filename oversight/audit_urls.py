"""The auditor's pages; included at audit/ (names audit:…)."""

from django.urls import path

from oversight import audit_views

app_name = "audit"
urlpatterns = [
    path("", audit_views.events, name="events"),
    path("<int:sequence>/", audit_views.event, name="event"),
    path("export.<slug:export_format>", audit_views.export, name="export"),
    path("verify/", audit_views.verify, name="verify"),
]
