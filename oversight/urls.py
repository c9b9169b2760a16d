"""Pages of the oversight app; later pages (queue, dashboards, audit) register here."""

app_name = "oversight"
urlpatterns: list = []
