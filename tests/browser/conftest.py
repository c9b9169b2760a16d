import pytest
from django.test.utils import override_settings
from pytest_django.live_server_helper import LiveServer


@pytest.fixture(scope="session")
def live_server(django_db_setup):
    """pytest-django's live server, always over plain HTTP.

    The security middleware reads SECURE_SSL_REDIRECT and SECURE_HSTS_SECONDS once, when the
    server builds its handler: they are off while it starts, whatever the environment says, and
    as configured for every other test. Started after the test database exists, the server
    stops (closing its connection) before that database is dropped."""
    with override_settings(SECURE_SSL_REDIRECT=False, SECURE_HSTS_SECONDS=0):
        server = LiveServer("localhost")
    yield server
    server.stop()
