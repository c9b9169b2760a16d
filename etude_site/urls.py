from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from oversight import status_views
from oversight.dashboards import views as dashboards

admin.site.site_header = "Etude administration"
admin.site.site_title = "Etude"
admin.site.index_title = "Data and settings"

urlpatterns = [
    # The agent API first: its requests are the most frequent and the cheapest.
    path("api/v1/", include("practice.urls")),
    path("", dashboards.overview, name="home"),
    path("healthz", status_views.healthz, name="healthz"),
    path("status/", include("oversight.status_urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("dash/", include("oversight.dashboard_urls")),
    path("audit/", include("oversight.audit_urls")),
    path("releases/", include("oversight.release_urls")),
    path("", include("oversight.urls")),
]
