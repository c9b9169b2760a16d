"""Etude settings. Every value that differs between machines comes from the environment (see README)."""

import os
import re
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
# Keep database connections between requests (seconds); a new connection per request costs more
# than a memory pull itself.
DATABASES["default"]["CONN_MAX_AGE"] = env.integer("CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
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
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # plotly.min.js straight from the installed plotly package, as vendor/plotly.min.js.
    "oversight.dashboards.staticfinder.PlotlyFinder",
]
STATIC_ROOT = Path(env.text("STATIC_ROOT", str(VAR_DIR / "staticfiles")))

# Messages live in the session, not a cookie: a new API key is shown once through a message.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

SESSION_COOKIE_SECURE = env.flag("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- HTTPS --------------------------------------------------------------------------------------
# HSTS is on by default when DEBUG is off. Redirecting plain HTTP to HTTPS is on with
# SECURE_SSL_REDIRECT=1 (`manage.py check --deploy` warns until it is, or until the proxy in front
# redirects and this stays off). Behind a proxy that terminates TLS, set SECURE_PROXY_SSL_HEADER=1
# so the proxy's X-Forwarded-Proto: https counts as HTTPS (the proxy must set that header itself
# and drop any the client sent).
SECURE_SSL_REDIRECT = env.flag("SECURE_SSL_REDIRECT", default=False)
# Load balancers probe the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env.flag("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.flag("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Request size limits for the agent API (413 past them).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.integer("ETUDE_MAX_REQUEST_BYTES", 10 * 1024 * 1024, minimum=1024)

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

# --- Celery -----------------------------------------------------------------------------------
# Work must not be lost: tasks are acknowledged after they ran (and are safe to run twice), a
# worker takes one message at a time, a message is only handed to another worker after the
# longest task could have finished, and beat re-queues whatever never started.

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.url(
    "CELERY_BROKER_URL", "filesystem://", {"filesystem", "redis", "rediss", "amqp", "amqps"}
)
# The LLM coach's worst case: the first call and its client's 3 retries, each up to the timeout,
# plus the client's back-off between them (at most 8 s each).
COACH_WORST_CASE_SECONDS = 4 * ETUDE_COACH_TIMEOUT + 3 * 8
CELERY_TASK_SOFT_TIME_LIMIT = int(COACH_WORST_CASE_SECONDS + 60)
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 30
# A reflection that failed for a passing reason (timeout, connection, 429, 5xx) is tried again
# this many times, after 30 s, 60 s, 120 s ... (at most ETUDE_REFLECTION_RETRY_MAX_DELAY).
ETUDE_REFLECTION_RETRIES = env.integer("ETUDE_REFLECTION_RETRIES", 3, minimum=0, maximum=20)
ETUDE_REFLECTION_RETRY_DELAY = env.integer("ETUDE_REFLECTION_RETRY_DELAY", 30, minimum=0)
ETUDE_REFLECTION_RETRY_MAX_DELAY = env.integer(
    "ETUDE_REFLECTION_RETRY_MAX_DELAY", 600, minimum=0, maximum=3000
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # How often a worker looks for new messages; short, so a ping answers within 1 s.
        "polling_interval": 0.2,
    }
else:
    # Longer than the longest task plus the longest retry delay, so neither a slow reflection
    # nor a retry waiting for its turn is handed to a second worker.
    _shortest_visibility = CELERY_TASK_TIME_LIMIT + ETUDE_REFLECTION_RETRY_MAX_DELAY + 60
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.integer(
            "CELERY_VISIBILITY_TIMEOUT", max(3600, _shortest_visibility), minimum=60
        ),
        "socket_connect_timeout": 2,
        "socket_timeout": 10,
    }
    if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] < _shortest_visibility:
        raise env.SettingError(
            "CELERY_VISIBILITY_TIMEOUT",
            str(CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]),
            f"must be at least {_shortest_visibility} s (the longest task and retry delay)",
        )
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env.flag("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# A web request never waits long on a broker that is down: the attempts are stored anyway and
# the sweep queues them once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat writes these into its database schedule at start (editable in the admin afterwards).
CELERY_BEAT_SCHEDULE = {
    "sweep-unreflected-attempts": {
        "task": "practice.tasks.sweep_unreflected_attempts",
        "schedule": 5 * 60.0,
    },
    "schedule-practice-for-all": {
        "task": "practice.tasks.schedule_practice_for_all",
        "schedule": 60 * 60.0,
    },
}
CELERY_TIMEZONE = TIME_ZONE

# --- Product rules --------------------------------------------------------------------------------

ETUDE_API_KEY_PREFIX = "etude"
# Simulation only: the simulated reviewer accepts a share of the coach's proposals.
ETUDE_SIMULATION_AUTO_APPROVE = env.flag("ETUDE_SIMULATION_AUTO_APPROVE", default=DEBUG)
# Practice items the scheduler gives each agent per day (UTC).
ETUDE_PRACTICE_BUDGET = env.integer("ETUDE_PRACTICE_BUDGET", 5, minimum=0, maximum=1000)
# Proposed strategies with fewer supporting attempts stay out of the review queue.
ETUDE_MIN_SUPPORT = env.integer("ETUDE_MIN_SUPPORT", 1, minimum=1)
# Failures with the same failure mode on one skill before the coach proposes a new node.
ETUDE_DISCOVERY_MIN_EVIDENCE = env.integer("ETUDE_DISCOVERY_MIN_EVIDENCE", 3, minimum=1)
# How long opening a review item holds it for one reviewer.
ETUDE_REVIEW_CLAIM_MINUTES = env.integer("ETUDE_REVIEW_CLAIM_MINUTES", 5, minimum=1, maximum=240)
# A reflection still running after this long counts as abandoned (its worker died).
ETUDE_REFLECTION_STALE_MINUTES = env.integer("ETUDE_REFLECTION_STALE_MINUTES", 30, minimum=1)

# --- REST framework ---------------------------------------------------------------------------------

ETUDE_AGENT_RATE_LIMIT = env.text("ETUDE_AGENT_RATE_LIMIT", "6000/minute")
# How long a web process may answer from its own copy of keys, boundaries and the release
# pointer (practice/caches.py): a revoked key or a new release reaches it within this time.
ETUDE_API_CACHE_SECONDS = env.integer("ETUDE_API_CACHE_SECONDS", 2, minimum=0, maximum=300)
# How long the helpful / harmful / use counters a memory pull shows may lag.
ETUDE_MEMORY_COUNTERS_SECONDS = env.integer(
    "ETUDE_MEMORY_COUNTERS_SECONDS", 30, minimum=0, maximum=3600
)
if not re.fullmatch(
    r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", ETUDE_AGENT_RATE_LIMIT
):
    raise env.SettingError(
        "ETUDE_AGENT_RATE_LIMIT",
        ETUDE_AGENT_RATE_LIMIT,
        "expected N/second, N/minute, N/hour or N/day",
    )
# The throttle counts in the default cache: per process unless a shared (Redis) cache is set.
ETUDE_CACHE_URL = env.url("ETUDE_CACHE_URL", None, {"redis", "rediss"})
if ETUDE_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": ETUDE_CACHE_URL,
        }
    }

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "practice.api_errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": ["practice.authentication.AgentKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    # One request budget per agent (see practice/throttling.py): 429 with Retry-After past it.
    "DEFAULT_THROTTLE_CLASSES": ["practice.throttling.AgentRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"agent": ETUDE_AGENT_RATE_LIMIT},
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
