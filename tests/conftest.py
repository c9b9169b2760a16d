import pytest

from etude_site.celery import app as celery_app
from practice import caches, throttling
from tests.openai_server import openai_server  # noqa: F401  (the scripted coach endpoint)


@pytest.fixture(autouse=True)
def _media_and_var(settings, tmp_path):
    """Keep anything a test writes to disk inside its own temporary folder."""
    settings.VAR_DIR = tmp_path


@pytest.fixture(autouse=True)
def _fresh_api_caches():
    """Each test starts without the web process's copies of keys, boundaries and releases,
    and with no request counted against any agent's rate limit."""
    caches.clear_all()
    throttling.LOCAL_WINDOWS.clear()


@pytest.fixture(autouse=True, scope="session")
def _tasks_run_in_process():
    """Tasks run inline unless a test starts a real worker (see tests/practice/test_background.py)."""
    celery_app.conf.task_always_eager = True
    yield
