"""The site's URLs with the audit and release pages, for their tests.

Until etude_site/urls.py includes oversight.audit_urls and oversight.release_urls, the tests
add them here; once it does, this is the site's own URL configuration unchanged.
"""

from django.urls import include, path

from etude_site.urls import urlpatterns as site_urlpatterns

_included = {getattr(pattern, "namespace", None) for pattern in site_urlpatterns}

urlpatterns = list(site_urlpatterns)
if "audit" not in _included:
    urlpatterns.append(path("audit/", include("oversight.audit_urls")))
if "releases" not in _included:
    urlpatterns.append(path("releases/", include("oversight.release_urls")))
