import pytest


@pytest.fixture(autouse=True)
def _media_and_var(settings, tmp_path):
    """Keep anything a test writes to disk inside its own temporary folder."""
    settings.VAR_DIR = tmp_path
