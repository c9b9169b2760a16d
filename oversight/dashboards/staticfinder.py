"""Serve the plotly.js the plotly package ships as the static file ``vendor/plotly.min.js``.

The 4.8 MB bundle is not copied into the repository: this finder lets ``runserver``, the test
live server and ``collectstatic`` take it from the installed package, so the version of the
JavaScript always matches the Python library that wrote the figures. Add it to
``STATICFILES_FINDERS`` next to Django's two default finders.
"""

from pathlib import Path

import plotly
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.utils import matches_patterns
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

STATIC_PATH = "vendor/plotly.min.js"
PREFIX, FILE_NAME = STATIC_PATH.rsplit("/", 1)
PACKAGE_DATA = Path(plotly.__file__).resolve().parent / "package_data"


class PlotlyFinder(finders.BaseFinder):
    """Finds exactly one file: plotly/package_data/plotly.min.js, at ``vendor/plotly.min.js``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(PACKAGE_DATA))
        # collectstatic puts a storage's files under its prefix.
        self.storage.prefix = PREFIX

    def check(self, **kwargs):
        if not (PACKAGE_DATA / FILE_NAME).is_file():
            return [
                Error(
                    f"The plotly package has no {FILE_NAME} in {PACKAGE_DATA}.",
                    hint="Reinstall plotly; the dashboards load the JavaScript from it.",
                    id="oversight.E001",
                )
            ]
        return []

    def find(self, path, find_all=False, **kwargs):
        if kwargs:  # RemovedInDjango61Warning: the old name of find_all.
            find_all = self._check_deprecated_find_param(find_all=find_all, **kwargs)
        if path != STATIC_PATH or not (PACKAGE_DATA / FILE_NAME).is_file():
            return []
        if str(PACKAGE_DATA) not in finders.searched_locations:
            finders.searched_locations.append(str(PACKAGE_DATA))
        match = str(PACKAGE_DATA / FILE_NAME)
        return [match] if find_all else match

    def list(self, ignore_patterns):
        if not matches_patterns(FILE_NAME, ignore_patterns or []):
            yield FILE_NAME, self.storage
