"""Settings for the benchmark server: the product's own settings plus the ceiling URL.

`bench/api.py` sets DJANGO_SETTINGS_MODULE=bench.settings for the gunicorn it starts. Nothing
else differs from production.
"""

from etude_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.ceiling_urls"
