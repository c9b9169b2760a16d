"""Read settings from the environment, in one place, with errors that name the variable."""

import os
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


class SettingError(ImproperlyConfigured):
    """A settings value read from the environment is wrong; the message names the variable."""

    def __init__(self, name, value, reason):
        super().__init__(f"{name}={value!r} is not valid: {reason}")
        self.name = name


def text(name, default=None):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def flag(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise SettingError(name, value, "expected one of 1/0, true/false, yes/no, on/off")


def integer(name, default, minimum=None, maximum=None):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise SettingError(name, value, "expected a whole number") from None
    if minimum is not None and number < minimum:
        raise SettingError(name, value, f"must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise SettingError(name, value, f"must be at most {maximum}")
    return number


def decimal(name, default, minimum=None, maximum=None):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise SettingError(name, value, "expected a number") from None
    if minimum is not None and number < minimum:
        raise SettingError(name, value, f"must be at least {minimum}")
    if maximum is not None and number > maximum:
        raise SettingError(name, value, f"must be at most {maximum}")
    return number


def word_list(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default)
    return [word.strip() for word in value.split(",") if word.strip()]


def url(name, default, schemes):
    """A URL whose scheme is one of `schemes`; returns the text unchanged."""
    value = text(name, default)
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        raise SettingError(name, value, f"the scheme must be one of {', '.join(sorted(schemes))}")
    if parsed.scheme in {"http", "https"} and not parsed.netloc:
        raise SettingError(name, value, "a host is missing")
    return value


def database(name, default):
    """Parse DATABASE_URL into Django's DATABASES entry (SQLite or PostgreSQL only)."""
    import dj_database_url

    value = text(name, default)
    scheme = urlparse(value).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
        raise SettingError(
            name, value, "use sqlite:///PATH or postgresql://USER:PASS@HOST:PORT/NAME"
        )
    try:
        config = dj_database_url.parse(value, conn_max_age=0)
    except ValueError as error:
        raise SettingError(name, value, str(error)) from None
    if config["ENGINE"] != "django.db.backends.sqlite3" and not config.get("NAME"):
        raise SettingError(name, value, "the database name is missing")
    return config
