"""A wrong settings value stops start-up with a message that names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"DEBUG": "1", "DATABASE_URL": "sqlite:///:memory:"}


def start(**overrides):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "OPENAI_BASE_URL",
            "OPENAI_API_KEY",
            "ETUDE_COACH_MODEL",
            "ALLOWED_HOSTS",
        }
    }
    environment.update(GOOD)
    environment.update(overrides)
    environment = {key: value for key, value in environment.items() if value is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_defaults_start():
    result = start()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "0", "SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DATABASE_URL": "mysql://db/etude"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://localhost"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "carrier-pigeon://loft"}, "CELERY_BROKER_URL"),
        ({"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}, "ETUDE_COACH_MODEL"),
        ({"OPENAI_BASE_URL": "ftp://x", "ETUDE_COACH_MODEL": "m"}, "OPENAI_BASE_URL"),
        ({"ETUDE_COACH_TIMEOUT": "soon"}, "ETUDE_COACH_TIMEOUT"),
        ({"ETUDE_MAX_REQUEST_BYTES": "12"}, "ETUDE_MAX_REQUEST_BYTES"),
    ],
)
def test_wrong_value_names_the_variable(overrides, named):
    result = start(**overrides)
    assert result.returncode != 0
    assert named in result.stderr


def test_production_needs_hosts_and_key():
    result = start(DEBUG="0", SECRET_KEY="x" * 40, ALLOWED_HOSTS="etude.example.org")
    assert result.returncode == 0, result.stderr
