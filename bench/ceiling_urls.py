"""The product's URLs plus `bench/ceiling/`: a bare Django view with a constant JSON body.

It runs through the same gunicorn, WSGI handler and middleware as the API and touches no
database, so its throughput is the ceiling the API's figures are compared with. It is never
part of the product: only bench.settings routes here.
"""

from django.http import JsonResponse
from django.urls import include, path

CEILING_BODY = {"release": 1, "skill": "bench.ceiling", "strategies": []}


def ceiling(request):
    return JsonResponse(CEILING_BODY)


urlpatterns = [
    path("bench/ceiling/", ceiling, name="bench-ceiling"),
    path("", include("etude_site.urls")),
]
