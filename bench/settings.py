"""Settings for the benchmark server: the product's own settings plus the ceiling URL.

`bench/api.py` sets DJANGO_SETTINGS_MODULE=bench.settings for the gunicorn it starts. Nothing
else differs from production, unless BENCH_CONN_MAX_AGE is given (seconds; to measure
persistent database connections, which the product's settings do not enable).
"""

from etude_site import env
from etude_site.settings import *  # noqa: F403
from etude_site.settings import DATABASES

ROOT_URLCONF = "bench.ceiling_urls"

_conn_max_age = env.integer("BENCH_CONN_MAX_AGE", None, minimum=0)
if _conn_max_age is not None:
    DATABASES["default"]["CONN_MAX_AGE"] = _conn_max_age
