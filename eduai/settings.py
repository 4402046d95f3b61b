"""EduAI settings, read from the environment with safe embedded defaults.

Embedded default (nothing set): SQLite file in the project folder, tasks run in-process,
DEBUG on, a throwaway secret key. Production (``EDUAI_ENV=production`` or ``DEBUG=0``):
``SECRET_KEY`` must be set or start-up fails loudly. Every variable is listed in
``.env.example``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


EDUAI_ENV = os.environ.get("EDUAI_ENV", "development").strip().lower()
DEBUG = env_bool("DEBUG", EDUAI_ENV != "production")
PRODUCTION = EDUAI_ENV == "production" or not DEBUG

_DEV_SECRET = "django-insecure-eduai-embedded-default-never-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. A production EduAI (DEBUG=0 or EDUAI_ENV=production) "
            "refuses to start without one; see .env.example."
        )
    SECRET_KEY = _DEV_SECRET

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "eduai.accounts",
    "eduai.courses",
    "eduai.web",
    "eduai.dashboards",
    "eduai.lti",
    "eduai.xapi",
    "grading",
    "grading.review",
    "assessment",
    "recommender",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in user's saved language beats the cookie and the browser's (needs request.user).
    "eduai.web.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "eduai.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "eduai.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while an in-process task writes; the timeout (seconds)
    # rides out the short write locks SQLite takes.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "eduai" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Security (production) -------------------------------------------------------------
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if PRODUCTION else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if PRODUCTION else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Requests larger than this (bytes) are refused with 400 before a view runs.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(10 * 1024 * 1024)))

# --- REST API --------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "eduai.courses.rest_api.v1.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "EduAI API",
    "DESCRIPTION": "Courses, submissions, activity, grading, mastery and recommendations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files (drf-spectacular-sidecar): no CDN, data stays local.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Grading and knowledge tracing both have a "method" field with different choices.
    "ENUM_NAME_OVERRIDES": {
        "GradingMethodEnum": "grading.models.Method",
        "KTMethodEnum": "assessment.models.KTMethod",
    },
    # Path ids use eduai.converters' <id:...> (1 .. 2**63-1): an integer in the schema, not text.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1}},
}

# --- Celery ----------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# No broker: tasks run in-process, so the web server alone is a working system.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = env_bool("CELERY_TASK_EAGER_PROPAGATES", False)
# A worker process moves what it holds after start-up (Django, apps, libraries) out of the
# garbage collector's reach (gc.freeze, eduai/celery.py): full collections then skip those
# objects. Measured on the mastery update: CPU p99 4.5 -> 3.4 ms with collections off
# (docs/assessment.md, "Service path").
EDUAI_GC_FREEZE = env_bool("EDUAI_GC_FREEZE", True)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    # Anything that loads a model runs where the models live: the inference worker.
    "grading.tasks.score_submissions": {"queue": "inference"},
    "grading.tasks.train_assignment_model": {"queue": "inference"},
    "grading.tasks.embed_submissions": {"queue": "inference"},
    "assessment.tasks.train_deep_kt": {"queue": "inference"},
    "recommender.tasks.embed_resources": {"queue": "inference"},
}
# Time limits (seconds): a stuck task is stopped rather than holding a worker forever.
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "600"))
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "900"))
# One message at a time per process: inference batches are big, so prefetching starves peers.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
# LTI: retry due grade pass-backs every minute (the outbox's backoff decides which are due);
# sync LMS rosters (NRPS) every 6 hours; drop expired LTI login/launch data hourly.
CELERY_BEAT_SCHEDULE["lti-send-outbox"] = {"task": "eduai.lti.tasks.send_outbox", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["lti-sync-rosters"] = {"task": "eduai.lti.tasks.sync_all_rosters", "schedule": 6 * 3600.0}
CELERY_BEAT_SCHEDULE["lti-purge-launch-data"] = {"task": "eduai.lti.tasks.purge_launch_data", "schedule": 3600.0}
# Dashboards: every course's at-risk count for the school page, every 6 hours (scoring a course
# takes about a second, too slow to do for 50 courses while an admin waits).
CELERY_BEAT_SCHEDULE["dashboards-risk-snapshots"] = {
    "task": "eduai.dashboards.tasks.refresh_risk_snapshots",
    "schedule": 6 * 3600.0,
}
# Grading: re-enqueue submissions a lost scoring task left behind (received with a serving
# model, or a "scoring" claim older than EDUAI_SCORING_LEASE_SECONDS) and close abandoned
# training runs. Every 5 minutes: a lost essay waits at most lease + 5 min; claims make a
# re-enqueued essay that was only queued behind a backlog harmless (scored once).
CELERY_BEAT_SCHEDULE["grading-sweep-stuck-submissions"] = {
    "task": "grading.tasks.sweep_stuck_submissions",
    "schedule": 300.0,
}
# Assessment: write the evidence a lost task left behind (practice answers without evidence,
# voided events with evidence, released grades without evidence), through the same services.
# Rows younger than the grace period are left to their own task (a duplicate is harmless,
# only wasted work); the look-back covers an outage of a weekend; at most LIMIT rows of each
# kind per run, oldest first (5,000 answers from as many students: ~30,000 statements), the
# next run goes on. Older losses: manage.py assessment_sweep --hours N / --all.
EDUAI_KT_SWEEP_GRACE_SECONDS = int(os.environ.get("EDUAI_KT_SWEEP_GRACE_SECONDS", "120"))
EDUAI_KT_SWEEP_LOOKBACK_HOURS = float(os.environ.get("EDUAI_KT_SWEEP_LOOKBACK_HOURS", "72"))
EDUAI_KT_SWEEP_LIMIT = int(os.environ.get("EDUAI_KT_SWEEP_LIMIT", "5000"))
# Assessment's folds of answers (evidence, mastery, states: all derived from stored events)
# commit without waiting for the WAL flush on PostgreSQL (synchronous_commit off for those
# transactions only). A server crash can lose the last fraction of a second of them, whole
# (never half: the database stays consistent); the sweep above writes them again from their
# events. Off: every assessment commit waits for the disk too (docs/assessment.md).
EDUAI_KT_ASYNC_COMMIT = env_bool("EDUAI_KT_ASYNC_COMMIT", True)
# expires: a sweep still queued when the next is due is dropped rather than run twice
CELERY_BEAT_SCHEDULE["assessment-sweep-unfolded"] = {
    "task": "assessment.tasks.sweep_unfolded",
    "schedule": 300.0,
    "options": {"expires": 290.0},
}

# --- EduAI -----------------------------------------------------------------------------
# Local transformers model folder for the encoder; empty = the bundled all-MiniLM-L6-v2.
EDUAI_ENCODER_PATH = os.environ.get("EDUAI_ENCODER_PATH", "")
# Optional local Chinese encoder folder (e.g. a Chinese BERT); empty = feature-only Chinese path.
EDUAI_ZH_ENCODER_PATH = os.environ.get("EDUAI_ZH_ENCODER_PATH", "")
EDUAI_MODEL_ROOT = Path(os.environ.get("EDUAI_MODEL_ROOT", str(BASE_DIR / "var" / "models")))
EDUAI_DEVICE = os.environ.get("EDUAI_DEVICE", "auto")
# Stored submission embeddings (eduai/inference/spec.py): precision "auto" (int8 on a CPU-only
# worker, full precision with CUDA), "fp" or "int8"; head+tail token budget per essay.
# Measured in docs/grading.md ("Measured"): bench/grading.py --precision-check.
EDUAI_EMBED_PRECISION = os.environ.get("EDUAI_EMBED_PRECISION", "auto")
EDUAI_EMBED_MAX_TOKENS = int(os.environ.get("EDUAI_EMBED_MAX_TOKENS", "256"))
# Models kept loaded per worker process (LRU): the shared encoder about 90 MB (fp32), a fast
# scorer a few MB, a fine-tuned MiniLM about 90 MB fp32 / 25 MB int8.
EDUAI_MODEL_CACHE_SIZE = int(os.environ.get("EDUAI_MODEL_CACHE_SIZE", "16"))
# ... and at most this many MB of model tensors (eduai/inference/cache.py): a worker's RSS is
# about 2x its cached tensors for fine-tuned MiniLMs (bench/grading.py --memory).
EDUAI_MODEL_CACHE_MB = int(os.environ.get("EDUAI_MODEL_CACHE_MB", "512"))
# torch intra-op threads per process; 0 = torch's default (all cores). 1 on a shared CPU box.
EDUAI_TORCH_THREADS = int(os.environ.get("EDUAI_TORCH_THREADS", "0"))
# Soft time limit of one training task, seconds (the hard limit is 2 minutes later).
EDUAI_TRAIN_TIME_LIMIT = int(os.environ.get("EDUAI_TRAIN_TIME_LIMIT", str(6 * 3600)))
# Longest accepted submission text (characters). About 15,000 words: far above any essay.
EDUAI_MAX_SUBMISSION_CHARS = int(os.environ.get("EDUAI_MAX_SUBMISSION_CHARS", "100000"))
# Largest bulk activity ingestion (events per request).
EDUAI_MAX_EVENTS_PER_REQUEST = int(os.environ.get("EDUAI_MAX_EVENTS_PER_REQUEST", "1000"))

# Models are never fetched from a hub: every load is from a local folder.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
