"""urbangov settings: read from the environment only.

Every knob a city sets is an environment variable; nothing here touches the database.
With nothing set, urbangov runs on SQLite (WAL) in a data folder. With ``DEBUG`` off it
refuses to start without a secret key (``SECRET_KEY`` or ``SECRET_KEY_FILE``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

# Lets model and queryset classes be subscripted at run time, as the type stubs expect.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def envsecret(name: str) -> str:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc}") from exc
    return os.environ.get(name, "")


DEBUG = envbool("DEBUG", False)

DATA_DIR = Path(os.environ.get("URBANGOV_DATA_DIR") or Path.cwd() / "data").resolve()

SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off. "
            "For local development set DEBUG=1."
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105

# Signs the audit log's checkpoints; without it they are signed with SECRET_KEY, which then
# can never be rotated without breaking `urbangov auditlog verify`.
URBANGOV_AUDIT_KEY = envsecret("URBANGOV_AUDIT_KEY")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # TOTP second factor for staff (urbangov.privacy: enrolment, verification, enforcement).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_tasks",
    "django_tasks_db",
    # Serves the API docs' Swagger UI from our own static files instead of a CDN.
    "ninja",
    # ours, from the bottom of the dependency order up
    "urbangov.privacy",
    "urbangov.org",
    "urbangov.algorithms",
    "urbangov.cases",
    "urbangov.dispatch",
    "urbangov.supervision",
    "urbangov.equity",
    "urbangov.participation",
    "urbangov.portal",
    "urbangov.open311",
    "urbangov.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "urbangov.privacy.middleware.content_security_policy",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the body: refuses an oversized page POST unread.
    "urbangov.cases.uploads.RequestBodyCap",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "urbangov.privacy.middleware.second_factor",
    "urbangov.privacy.middleware.public_read_limit",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "urbangov.portal.middleware.preferences_middleware",
]

ROOT_URLCONF = "urbangov.urls"
WSGI_APPLICATION = "urbangov.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "urbangov.portal.context_processors.preferences",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL")
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / 'urbangov.sqlite3'}"
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from exc
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock
            # at BEGIN so that two writers queue instead of failing half-way.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    else:
        config["CONN_HEALTH_CHECKS"] = True
        # The few statements run for every case with the same text and a plan that does not
        # depend on the values (urbangov.db.cursor: the intake's and a transition's writes, the
        # decision and audit logs', the register check) are kept prepared by the database once
        # they have run this many times on a connection. A connection pooler in transaction
        # mode that does not follow prepared statements (PgBouncer before 1.21, or without
        # max_prepared_statements) needs it off: URBANGOV_DB_PREPARED=0. Django's own queries
        # are never prepared.
        if envbool("URBANGOV_DB_PREPARED", True):
            config.setdefault("OPTIONS", {})["prepare_threshold"] = 5
    config["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        },
        # The duplicate search's text vectors (urbangov.dispatch.engine.VECTOR_CACHE).
        "vectors": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        # Each process's own: about 5 KB a text, up to ~100 MB.
        "vectors": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "vectors",
            "OPTIONS": {"MAX_ENTRIES": 20000},
        },
    }

TASKS = {
    "default": {
        "BACKEND": os.environ.get("URBANGOV_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Periodic work run by `urbangov worker`: (dotted path of a callable, seconds between runs).
# Each job is idempotent and claims its rows through a state field, so two workers are safe.
PERIODIC_JOBS: list[tuple[str, float]] = [
    ("urbangov.privacy.actions.seal_audit_log", envfloat("URBANGOV_SEAL_INTERVAL", 5.0)),
    # The dispatcher decides new cases in batches (in place of the plain triage sweep,
    # urbangov.cases.actions.triage_submitted, which it falls back to if assessing fails).
    ("urbangov.dispatch.actions.dispatch_submitted", envfloat("URBANGOV_TRIAGE_INTERVAL", 2.0)),
    ("urbangov.cases.actions.close_expired", 600.0),
    (
        "urbangov.privacy.actions.publish_open_data_job",
        envfloat("URBANGOV_OPEN_DATA_INTERVAL", 3600.0),
    ),
    ("urbangov.supervision.tasks.fold", envfloat("URBANGOV_FOLD_INTERVAL", 10.0)),
    ("urbangov.supervision.tasks.send_notices", 300.0),
    ("urbangov.supervision.tasks.refresh_hotspots", 600.0),
    # Bias audits of the platform's decisions, as often as each algorithm's impact level asks.
    ("urbangov.algorithms.audits.audit_due_job", 3600.0),
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "login"
# The issuer staff see in their authenticator app.
OTP_TOTP_ISSUER = os.environ.get("URBANGOV_OTP_ISSUER", "urbangov")
# The admin never shows a device's secret key or its QR code: whoever saw one could sign in as
# the device's owner (django-otp's key and QR pages answer 403).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
LOGIN_REDIRECT_URL = "cases:workbench"
LOGOUT_REDIRECT_URL = "portal:home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("URBANGOV_MEDIA_DIR") or DATA_DIR / "media")
MEDIA_URL = "media/"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and envbool("URBANGOV_HTTPS", True):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    LANGUAGE_COOKIE_SECURE = True

DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# What the city configures about cases; defaults a city can change in the environment.
URBANGOV: dict[str, Any] = {
    "CITY_NAME": os.environ.get("URBANGOV_CITY_NAME", _("Demo City")),
    "REOPEN_WINDOW_DAYS": envint("URBANGOV_REOPEN_WINDOW_DAYS", 15),
    # Days a reviewer has to decide a resident's appeal of an algorithm's decision.
    "APPEAL_DAYS": envint("URBANGOV_APPEAL_DAYS", 15),
    "CASE_TEXT_MAX": envint("URBANGOV_CASE_TEXT_MAX", 5000),
    "CASE_TITLE_MAX": 200,
    "ATTACHMENT_MAX_BYTES": envint("URBANGOV_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
    "ATTACHMENTS_PER_CASE": 5,
    "PUBLIC_SUBMIT_RATE": os.environ.get("URBANGOV_PUBLIC_SUBMIT_RATE", "20/m"),
    # How many reverse proxies of the city's own stand in front (to find the client's IP).
    "TRUSTED_PROXIES": envint("URBANGOV_TRUSTED_PROXIES", 0),
    # Open311 GeoReport v2: the jurisdiction served (empty: any jurisdiction_id is accepted),
    # and the discovery document's contact and how to get an API key (empty: a default text).
    "OPEN311_JURISDICTION_ID": os.environ.get("URBANGOV_OPEN311_JURISDICTION_ID", ""),
    "OPEN311_CONTACT": os.environ.get("URBANGOV_OPEN311_CONTACT", ""),
    "OPEN311_KEY_SERVICE": os.environ.get("URBANGOV_OPEN311_KEY_SERVICE", ""),
    # Publish residents' descriptions and staff replies in Open311 GET requests (personal data
    # redacted by the PII detector); off: the service and the status only.
    "OPEN311_PUBLISH_TEXT": envbool("URBANGOV_OPEN311_PUBLISH_TEXT", False),
    # Decimals of the latitude and longitude Open311 publishes for a request: 3 is about 100 m,
    # the street the published address keeps, not the door it leaves out.
    "OPEN311_COORDINATE_DECIMALS": envint("URBANGOV_OPEN311_COORDINATE_DECIMALS", 3),
    # Supervision: the composite score's weights (response, resolution, satisfaction; they
    # must add up to 100), hours before a deadline to remind handlers, days of cases the
    # hot-spot detection reads.
    "SCORE_WEIGHTS": envlist("URBANGOV_SCORE_WEIGHTS", "30,35,35"),
    "REMINDER_HOURS": envint("URBANGOV_REMINDER_HOURS", 24),
    "HOTSPOT_DAYS": envint("URBANGOV_HOTSPOT_DAYS", 90),
    # Dispatch (docs/dispatch.md): decide each case in the request that submits it (off: the
    # worker decides new cases every URBANGOV_TRIAGE_INTERVAL seconds); let the dispatcher
    # send a case by itself at all; the calibrated probability it needs where a category sets
    # none; what makes two open cases likely duplicates.
    "DISPATCH_INLINE": envbool("URBANGOV_DISPATCH_INLINE", False),
    "DISPATCH_AUTOMATIC": envbool("URBANGOV_DISPATCH_AUTOMATIC", True),
    "DISPATCH_THRESHOLD": envfloat("URBANGOV_DISPATCH_THRESHOLD", 0.9),
    "DUPLICATE_HOURS": envfloat("URBANGOV_DUPLICATE_HOURS", 72.0),
    "DUPLICATE_METERS": envfloat("URBANGOV_DUPLICATE_METERS", 300.0),
    "DUPLICATE_SIMILARITY": envfloat("URBANGOV_DUPLICATE_SIMILARITY", 0.6),
    # The hotline residents call (to contest a decision, among others).
    "HOTLINE": os.environ.get("URBANGOV_HOTLINE", "12345"),
    # Deliberation hall: supporters a residents' petition needs to open a topic, and how long
    # it collects support.
    "PETITION_THRESHOLD": envint("URBANGOV_PETITION_THRESHOLD", 100),
    "PETITION_DAYS": envint("URBANGOV_PETITION_DAYS", 60),
    # Data protection (docs/privacy.md): open data's smallest published count and the noise
    # added to counts (epsilon of the geometric mechanism; empty: none); days personal data
    # is kept after a case is finished, unless a category says otherwise.
    "OPEN_DATA_K": envint("URBANGOV_OPEN_DATA_K", 10),
    "OPEN_DATA_EPSILON": envfloat("URBANGOV_OPEN_DATA_EPSILON", 0.0) or None,
    "RETENTION_DAYS": envint("URBANGOV_RETENTION_DAYS", 3 * 365),
    # Staff sign in with a second factor (TOTP); on by default unless DEBUG.
    "REQUIRE_2FA": envbool("URBANGOV_REQUIRE_2FA", not DEBUG),
    # Failed sign-ins allowed per account and client address, and per client address.
    "LOGIN_RATE": os.environ.get("URBANGOV_LOGIN_RATE", "5/15m"),
    "LOGIN_IP_RATE": os.environ.get("URBANGOV_LOGIN_IP_RATE", "50/h"),
    # Anonymous reads of public pages and APIs per client address ("0/m": no limit).
    "PUBLIC_READ_RATE": os.environ.get("URBANGOV_PUBLIC_READ_RATE", "300/m"),
    # Extra Content-Security-Policy sources (e.g. a map tile server for img-src).
    "CSP_IMG_SRC": envlist("URBANGOV_CSP_IMG_SRC"),
    "CSP_REPORT_URI": os.environ.get("URBANGOV_CSP_REPORT_URI", ""),
    # Equity: seconds a siting plan may take (all its objectives together).
    "EQUITY_SITING_SECONDS": envfloat("URBANGOV_EQUITY_SITING_SECONDS", 20.0),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Personal data is redacted from every line written (urbangov.privacy.logs).
    "formatters": {"redacted": {"()": "urbangov.privacy.logs.RedactingFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "redacted"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django_tasks_db": {"level": os.environ.get("LOG_LEVEL", "WARNING")},
    },
}
