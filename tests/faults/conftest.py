import pytest

from tests.faults.broker import reset_connections


@pytest.fixture(autouse=True)
def _fresh_broker_connections():
    """A real worker closes the app's connection pools when it stops; every test here starts
    and ends with fresh ones, so no later test inherits a closed pool."""
    reset_connections()
    yield
    reset_connections()
