"""Etude settings. Every value that differs between machines comes from the environment (see README)."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from etude_site import env

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.text("ETUDE_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env.flag("DEBUG", default=False)

SECRET_KEY = env.text("SECRET_KEY")
if SECRET_KEY is None:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set: it is required when DEBUG is off "
            "(set DEBUG=1 for a development default)."
        )
    SECRET_KEY = "etude-development-only-secret-key-never-use-in-production"
elif len(SECRET_KEY) < 32:
    raise env.SettingError("SECRET_KEY", "<hidden>", "use at least 32 random characters")

ALLOWED_HOSTS = env.word_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.word_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "taxonomy",
    "practice",
    "oversight",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "etude_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "etude_site.wsgi.application"
ASGI_APPLICATION = "etude_site.asgi.application"

DATABASES = {
    "default": env.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'etude.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for locks instead of failing, take the write
    # lock up front so two writers never deadlock, and let readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file, not shared-cache memory: background workers and concurrent writers in
    # the tests then wait on locks the way they do in production instead of failing at once.
    # One file per test run (process), so parallel runs never share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-etude-{os.getpid()}.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.text("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.text("STATIC_ROOT", str(VAR_DIR / "staticfiles")))

# Messages live in the session, not a cookie: a new API key is shown once through a message.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

SESSION_COOKIE_SECURE = env.flag("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# Request size limits for the agent API (413 past them).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("ETUDE_MAX_REQUEST_BYTES", 10 * 1024 * 1024, minimum=1024)

# --- Celery -----------------------------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.url(
    "CELERY_BROKER_URL", "filesystem://", {"filesystem", "redis", "rediss", "amqp", "amqps"}
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest task, so a slow reflection is not handed to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.integer("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.flag("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- Coach --------------------------------------------------------------------------------------

OPENAI_BASE_URL = env.url("OPENAI_BASE_URL", None, {"http", "https"})
OPENAI_API_KEY = env.text("OPENAI_API_KEY")
ETUDE_COACH_MODEL = env.text("ETUDE_COACH_MODEL")
_coach_parts = {
    "OPENAI_BASE_URL": OPENAI_BASE_URL,
    "ETUDE_COACH_MODEL": ETUDE_COACH_MODEL,
}
if any(_coach_parts.values()) and not all(_coach_parts.values()):
    missing = ", ".join(name for name, value in _coach_parts.items() if not value)
    raise ImproperlyConfigured(
        f"The LLM coach is half configured: {missing} is not set "
        "(set OPENAI_BASE_URL and ETUDE_COACH_MODEL together, or neither for the offline coach)."
    )
ETUDE_COACH_TIMEOUT = env.decimal("ETUDE_COACH_TIMEOUT", 60.0, minimum=1, maximum=600)

# --- Product rules --------------------------------------------------------------------------------

ETUDE_API_KEY_PREFIX = "etude"
# Practice items the scheduler gives each agent per day (UTC).
ETUDE_PRACTICE_BUDGET = env.integer("ETUDE_PRACTICE_BUDGET", 5, minimum=0, maximum=1000)
# Proposed strategies with fewer supporting attempts stay out of the review queue.
ETUDE_MIN_SUPPORT = env.integer("ETUDE_MIN_SUPPORT", 1, minimum=1)
# Failures with the same failure mode on one skill before the coach proposes a new node.
ETUDE_DISCOVERY_MIN_EVIDENCE = env.integer("ETUDE_DISCOVERY_MIN_EVIDENCE", 3, minimum=1)
# A reflection still running after this long counts as abandoned (its worker died).
ETUDE_REFLECTION_STALE_MINUTES = env.integer("ETUDE_REFLECTION_STALE_MINUTES", 30, minimum=1)

# --- REST framework ---------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "practice.api_errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["practice.authentication.AgentKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Etude agent API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "DESCRIPTION": "How agents talk to Etude: report attempts with traces, pull approved "
    "practice memory, give feedback, claim practice, propose skills.",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.text("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
