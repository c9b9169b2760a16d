"""Memory release pages; included at releases/ (names releases:…)."""

from django.urls import path

from oversight import release_views

app_name = "releases"
urlpatterns = [
    path("", release_views.releases, name="list"),
    path("<int:older>/diff/<int:newer>/", release_views.diff, name="diff"),
    path("<int:number>/roll-back/", release_views.roll_back, name="roll-back"),
]
