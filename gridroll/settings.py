"""Settings for gridroll, all from the environment.

With nothing set, gridroll runs on a SQLite file under ``var/`` so that a newcomer can check out the
code, install it and run it. Production sets ``DATABASE_URL=postgres://…`` (see docs/deployment.md).
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GRIDROLL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# GRIDROLL_DEMO=1 (set by `make demo`, `make test` and CI) allows the demo's conveniences: DEBUG on by
# default, a built-in SECRET_KEY, plain http. Without it gridroll is in production and refuses to start
# with any of them (fail closed; docs/deployment.md).
DEMO = env_bool("GRIDROLL_DEMO", False)
DEMO_SECRET_KEY = "gridroll-insecure-demo-key-change-me"

DEBUG = env_bool("DEBUG", DEMO)
SECRET_KEY = os.environ.get("SECRET_KEY", DEMO_SECRET_KEY if DEMO else "")
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver" if DEMO else "").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]


def production_problems() -> list[str]:
    """What makes these settings unfit for production (empty when fit, or in the demo)."""
    if DEMO:
        return []
    problems = []
    if DEBUG:
        problems.append("DEBUG is on (set DEBUG=0)")
    if not SECRET_KEY or SECRET_KEY == DEMO_SECRET_KEY or len(SECRET_KEY) < 50:
        problems.append("SECRET_KEY is missing, the demo's, or shorter than 50 characters")
    if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
        problems.append("ALLOWED_HOSTS is empty or '*' (name the site's host names)")
    return problems


if production_problems():
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        "gridroll refuses to start in production with: "
        + "; ".join(production_problems())
        + ". For the demo or tests set GRIDROLL_DEMO=1 (docs/deployment.md)."
    )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Failed logins counted in the database, so every worker sees them (accounts/tests/test_logins.py).
    "axes",
    # With "ninja" installed the API docs page uses ninja's bundled Swagger, not a CDN.
    "ninja",
    "gridroll.core",
    "gridroll.audit",
    "gridroll.areas",
    "gridroll.accounts",
    "gridroll.residents",
    "gridroll.sampling",
    "gridroll.codes",
    "gridroll.rollcall",
    "gridroll.labs",
    "gridroll.reconcile",
    "gridroll.command",
    "gridroll.planning",
    "gridroll.jobs",
    "gridroll.staff",
    "gridroll.demo",
]

MIDDLEWARE = [
    "gridroll.core.metrics.MetricsMiddleware",
    "gridroll.core.dbrouter.ReplicaReadsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gridroll.core.middleware.SecurityHeadersMiddleware",
    "gridroll.core.middleware.ChosenLanguageMiddleware",
    "gridroll.core.middleware.DebugNotFoundMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gridroll.accounts.middleware.SessionTimeoutMiddleware",
    "gridroll.accounts.totp.TOTPMiddleware",
    "gridroll.core.throttle.DeviceCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "gridroll.urls"
WSGI_APPLICATION = "gridroll.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gridroll" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "gridroll.core.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'gridroll.sqlite3'}"),
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
# A streaming replica (docs/deployment.md "Replica and failover"): the read-heavy pages below read from
# it while it is at most REPLICA_MAX_LAG_SECONDS behind, else from the primary (gridroll/core/dbrouter.py).
if os.environ.get("REPLICA_DATABASE_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["REPLICA_DATABASE_URL"], conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60"))
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["gridroll.core.dbrouter.ReplicaRouter"]
REPLICA_MAX_LAG_SECONDS = float(os.environ.get("GRIDROLL_REPLICA_MAX_LAG_SECONDS", "10"))
REPLICA_CHECK_SECONDS = float(os.environ.get("GRIDROLL_REPLICA_CHECK_SECONDS", "2"))
REPLICA_VIEWS = {
    "areas:area_export",
    "reconcile:export",
    "rollcall:sheet",
    "rollcall:sheet_pdf",
    "rollcall:sheet_xlsx",
    "labs:turnaround",
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the roll call read while an import writes; IMMEDIATE avoids "database is locked"
    # when two writers upgrade their read locks at the same moment.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Retention (PIPL art. 47): days each kind of personal data is kept before `manage.py purge` deletes or
# anonymises it (gridroll/operations/retention.py; docs/deployment.md). Run the purge daily.
RETENTION_DAYS = {
    "scan_logs": env_int("GRIDROLL_RETAIN_SCAN_LOGS_DAYS", 30),
    "samples": env_int("GRIDROLL_RETAIN_SAMPLES_DAYS", 90),  # after a round is closed and over
    "visitors": env_int("GRIDROLL_RETAIN_VISITORS_DAYS", 28),
    "pending": env_int("GRIDROLL_RETAIN_PENDING_DAYS", 30),
    "uploaded_files": env_int("GRIDROLL_RETAIN_UPLOADS_DAYS", 7),
    "feeds": env_int("GRIDROLL_RETAIN_FEEDS_DAYS", 60),
    # Files prepared in the background (card sheets, check sheets, registry exports) and their jobs.
    "jobs": env_int("GRIDROLL_RETAIN_JOB_FILES_DAYS", 2),
    # The Cybersecurity Law asks for at least six months of logs; three years by default.
    "audit": env_int("GRIDROLL_RETAIN_AUDIT_DAYS", 3 * 365),
}

# Background jobs (gridroll/jobs/runner.py): run by a thread in the web process (the demo; nothing else to
# start) or by `manage.py run_jobs` (production, docs/deployment.md). A claim not renewed for
# JOBS_STALE_SECONDS is a dead runner's: the job is taken again, and failed after JOBS_MAX_ATTEMPTS tries.
JOBS_IN_PROCESS = env_bool("GRIDROLL_JOBS_IN_PROCESS", DEMO)
JOBS_STALE_SECONDS = env_int("GRIDROLL_JOBS_STALE_SECONDS", 120)
JOBS_MAX_ATTEMPTS = env_int("GRIDROLL_JOBS_MAX_ATTEMPTS", 2)
JOBS_DIR = VAR_DIR / "jobs"  # the prepared files (personal data: kept RETENTION_DAYS["jobs"] days)

# The cache all workers share, for the registration throttle (gridroll/core/throttle.py): Redis when
# REDIS_URL is set (production: redis://127.0.0.1:6379/1), else a table in the database (created by
# `migrate`). The demo and tests, one process each, use memory unless GRIDROLL_SHARED_CACHE=db.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
    # Sessions read from Redis, written through to the database: every app server sees a login made on
    # another, and a Redis restart signs nobody out (deploy/check_stack.py).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
elif DEMO and os.environ.get("GRIDROLL_SHARED_CACHE") != "db":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "gridroll_cache"}
    }
THROTTLE_CACHE = "default"
REGISTRATION_THROTTLE = {
    "DEVICE_LIMIT": env_int("GRIDROLL_REGISTER_DEVICE_LIMIT", 20),
    "CLIENT_LIMIT": env_int("GRIDROLL_REGISTER_CLIENT_LIMIT", 200),
    "WINDOW": env_int("GRIDROLL_REGISTER_WINDOW_SECONDS", 600),
}

# Staff passwords: Django's validators (no 12345678, no "password", nothing like the username).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("GRIDROLL_PASSWORD_MIN_LENGTH", 10)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login lockout (django-axes, counted in the database: shared by all workers, kept across restarts):
# AXES_FAILURE_LIMIT wrong passwords for one username from one address pause that pair for
# AXES_COOLOFF_TIME. Other people on the same Wi-Fi keep logging in; an administrator lifts a pause with
# `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = env_int("GRIDROLL_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("GRIDROLL_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "gridroll.accounts.lockout.locked_out"
AXES_CLIENT_IP_CALLABLE = "gridroll.core.throttle.client_ip"
AXES_VERBOSE = False
# Sessions: staff are signed out after SESSION_IDLE_TIMEOUT seconds without a request and
# SESSION_ABSOLUTE_TIMEOUT after logging in (a working day on a grid worker's phone); administrators
# (superusers) sooner. gridroll/accounts/middleware.py.
SESSION_IDLE_TIMEOUT = env_int("GRIDROLL_SESSION_IDLE_SECONDS", 4 * 3600)
SESSION_ABSOLUTE_TIMEOUT = env_int("GRIDROLL_SESSION_ABSOLUTE_SECONDS", 12 * 3600)
ADMIN_SESSION_IDLE_TIMEOUT = env_int("GRIDROLL_ADMIN_SESSION_IDLE_SECONDS", 30 * 60)
ADMIN_SESSION_ABSOLUTE_TIMEOUT = env_int("GRIDROLL_ADMIN_SESSION_ABSOLUTE_SECONDS", 8 * 3600)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
# A second factor (an authenticator app, accounts/totp.py) is optional for everyone; with
# GRIDROLL_TOTP_REQUIRED=1 superusers must enrol one before they can do anything else.
TOTP_REQUIRED_FOR_SUPERUSERS = env_bool("GRIDROLL_TOTP_REQUIRED", False)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "gridroll" / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"


MB = 1024 * 1024
# Uploaded tables: one bounded reader for every upload and command (gridroll/core/tables.py). A page
# upload gets the "web" limits; management commands the "command" ones. Defaults in docs/deployment.md.
TABLE_LIMITS = {
    "web": {
        # 100,000 registry rows are ~10 MB as .xlsx; larger files go through the command line.
        "MAX_BYTES": env_int("GRIDROLL_UPLOAD_MAX_BYTES", 20 * MB),
        "MAX_ROWS": env_int("GRIDROLL_UPLOAD_MAX_ROWS", 50_000),
        "MAX_COLUMNS": env_int("GRIDROLL_UPLOAD_MAX_COLUMNS", 100),
        "MAX_UNZIPPED": env_int("GRIDROLL_UPLOAD_MAX_UNZIPPED", 400 * MB),
    },
    "command": {
        "MAX_BYTES": env_int("GRIDROLL_COMMAND_MAX_BYTES", 1024 * MB),
        "MAX_ROWS": env_int("GRIDROLL_COMMAND_MAX_ROWS", 2_000_000),
        "MAX_COLUMNS": env_int("GRIDROLL_COMMAND_MAX_COLUMNS", 200),
        "MAX_UNZIPPED": env_int("GRIDROLL_COMMAND_MAX_UNZIPPED", 8192 * MB),
    },
}
# A zipped workbook's part that inflates more than this many times is a zip bomb (Apache POI's rule).
TABLE_MAX_ZIP_RATIO = env_int("GRIDROLL_TABLE_MAX_ZIP_RATIO", 100)
# Workbooks are parsed in a forked child with this much more address space and this much CPU time.
TABLE_PARSE_MEMORY = env_int("GRIDROLL_TABLE_PARSE_MEMORY", 2048 * MB)
TABLE_PARSE_SECONDS = env_int("GRIDROLL_TABLE_PARSE_SECONDS", 300)
TABLE_PARSE_IN_CHILD = True
# The request body apart from files (the JSON API's 20,000 result rows fit); files are capped by
# CappedUploadHandler above and spooled to disk past FILE_UPLOAD_MAX_MEMORY_SIZE.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("GRIDROLL_DATA_UPLOAD_MAX_BYTES", 10 * MB)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * MB
FILE_UPLOAD_HANDLERS = [
    "gridroll.core.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Behind a reverse proxy that sets X-Forwarded-For (docs/deployment.md), the client address is read
# from it; otherwise it could be forged and is ignored.
USE_X_FORWARDED_FOR = env_bool("USE_X_FORWARDED_FOR", False)
# /metrics (gridroll/core/metrics.py): with a token, only requests carrying it; without, only the machine's
# own scraper talking straight to gunicorn.
METRICS_TOKEN = os.environ.get("GRIDROLL_METRICS_TOKEN", "")

# HTTPS: nginx terminates TLS and says so in X-Forwarded-Proto (docs/deployment.md), so that links
# printed on posters and cards are https:// and the cookies below are sent over TLS only.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEMO)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEMO else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEMO)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
# An intranet host name cannot be on the browsers' HSTS preload list: preloading is left to the operator.
# models.W040: the tube indexes' included columns (tube_at_lab, tube_stage) are for PostgreSQL's
# index-only reads; SQLite, the demo's database, builds the same indexes without them, as intended (the
# warning greeted every `make demo`).
SILENCED_SYSTEM_CHECKS = ["security.W021", "models.W040"]
# Content-Security-Policy sent on every page (gridroll.core.middleware.SecurityHeadersMiddleware): scripts
# only from our own static files (no inline script, no inline handlers); inline style attributes remain.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; worker-src 'self' blob:; manifest-src 'self'; font-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

# No private link secrets, search terms, ID or phone numbers in log lines (gridroll/core/logs.py); the
# gunicorn access log is configured alike in deploy/gunicorn.conf.py.
_LOG_FORMAT = "json" if os.environ.get("LOG_FORMAT", "").lower() == "json" else ""
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub": {"()": "gridroll.core.logs.ScrubFilter"}},
    "formatters": {
        "server": {"format": "[{server_time}] {message}", "style": "{"},
        "plain": {"format": "{message}", "style": "{"},
        # LOG_FORMAT=json: one JSON object a line for a log shipper (docs/deployment.md).
        "json": {"()": "gridroll.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["scrub"],
            "formatter": _LOG_FORMAT or "plain",
        },
        "server": {
            "class": "logging.StreamHandler",
            "filters": ["scrub"],
            "formatter": _LOG_FORMAT or "server",
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
# One-time codes to the phone on file (gridroll.core.sms): printed on the console unless a deployment
# names its gateway's backend class.
SMS_BACKEND = os.environ.get("GRIDROLL_SMS_BACKEND", "gridroll.core.sms.ConsoleBackend")
# A one-time code: how long it lives and how many wrong tries it takes.
PHONE_CHALLENGE_MINUTES = 10
PHONE_CHALLENGE_ATTEMPTS = 5
# API lists are paged; a page holds at most this many rows (a larger limit is refused), and a read of
# more than API_BULK_AUDIT_ROWS people within an hour (counted per user in the shared cache) is audited.
NINJA_PAGINATION_MAX_LIMIT = 200
API_BULK_AUDIT_ROWS = 50
