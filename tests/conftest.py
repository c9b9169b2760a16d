import pytest

from tests.openai_server import openai_server  # noqa: F401  (the scripted coach endpoint)


@pytest.fixture(autouse=True)
def _media_and_var(settings, tmp_path):
    """Keep anything a test writes to disk inside its own temporary folder."""
    settings.VAR_DIR = tmp_path

