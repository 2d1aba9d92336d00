"""Entities settings: every value comes from the environment (or a `.env` file).

Defaults run on a laptop with nothing installed: SQLite in WAL mode next to the
project and the in-memory channel layer. Each variable is documented in README.md.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from inference.routing import parse_model_routes
from kernel.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
# git-ignored: first-run credentials, sandboxes, test databases
LOCAL_DIR = Path(os.environ.get("ENTITIES_LOCAL_DIR") or BASE_DIR / ".local")
try:
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
except OSError:  # a read-only install: only the first-run credentials and test databases need it
    pass

# A .env file is read when present, as the seed did; real environment variables win.
load_dotenv(BASE_DIR / ".env", override=False)

DEBUG = env_bool("DEBUG", False)
# Production (`make serve-prod` sets it): SECRET_KEY is required, whatever DEBUG says, and
# the development key below is never read.
ENTITIES_PRODUCTION = env_bool("ENTITIES_PRODUCTION", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if ENTITIES_PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and ENTITIES_PRODUCTION is on (make serve-prod): set SECRET_KEY to a long random "
            "string (python -c 'import secrets; print(secrets.token_urlsafe(50))').")
    from entities_project.dev_secret import development_secret_key

    # Development: one key kept in LOCAL_DIR/secret-key (mode 0600), created by the first
    # DEBUG command (`make run`) and read by every later one, so sessions and JWTs survive
    # restarts and `manage.py …` works without variables. Never created with DEBUG off.
    SECRET_KEY = development_secret_key(LOCAL_DIR / "secret-key", create=DEBUG)
    if not SECRET_KEY:
        if not env_bool("ENTITIES_ALLOW_EPHEMERAL_SECRET", False):
            raise ImproperlyConfigured(
                "SECRET_KEY is not set and DEBUG is off. Set SECRET_KEY to a long random string "
                "(python -c 'import secrets; print(secrets.token_urlsafe(50))'), or set DEBUG=1 for development "
                "(`make run` keeps a development key in .local/secret-key).")
        # A per-process key (sessions and JWTs do not survive a restart).
        SECRET_KEY = "dev-insecure-" + secrets.token_urlsafe(40)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "channels",
    "assistants",
    "conversations",
    "files",
    "inference",
    "retrieval",
    "responses_api",
]

MIDDLEWARE = [
    "kernel.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kernel.middleware.ApiErrorMiddleware",
]

ROOT_URLCONF = "entities_project.urls"
ASGI_APPLICATION = "entities_project.asgi.application"

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

# --- Database ---------------------------------------------------------------------------
_default_sqlite = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", _default_sqlite)
# Request threads live as long as the process (entities_project/request_threads.py), so
# their connections are kept, checked before each request; a pool (below) replaces this.
_pooled = env_bool("ENTITIES_DB_POOL", False) and not DATABASE_URL.startswith("sqlite")
DATABASES = {"default": dj_database_url.parse(
    DATABASE_URL, conn_max_age=0 if _pooled else env_int("ENTITIES_DB_CONN_MAX_AGE", 600, minimum=0),
    conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers proceed while a run writes; IMMEDIATE avoids lock upgrade deadlocks.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file (not :memory:) so live-server threads and subprocesses share it; one per
    # pytest process so parallel runs never collide.
    import os as _os

    DATABASES["default"]["TEST"] = {"NAME": str(LOCAL_DIR / f"test-db-{_os.getpid()}.sqlite3")}
else:
    # One test database per pytest process here too, so two suites on one server never drop
    # each other's (subprocesses get the name through testsupport.processes).
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
    if _pooled:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 2, "max_size": 20, "timeout": 10}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer ----------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py gives up a read after 5 s by default while channels_redis blocks up to
            # 5 s on an idle receive: a longer socket timeout keeps quiet sockets alive.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}], "capacity": 1000, "expiry": 60},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}

# Tests that need Postgres/Redis fail instead of skipping when this is set (CI).
ENTITIES_REQUIRE_SERVICES = env_bool("ENTITIES_REQUIRE_SERVICES", False)

# --- Auth -------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "assistants.authentication.ApiKeyAuthentication",
        "assistants.authentication.BearerJWTAuthentication",
        # The browser UI: session cookie + CSRF token (DRF enforces CSRF for unsafe methods).
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON parser and renderer, made safe against deep nesting and lone surrogates.
    "DEFAULT_RENDERER_CLASSES": ["kernel.api.renderers.SafeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["kernel.api.parsers.CheckedJSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "kernel.api.negotiation.LenientContentNegotiation",
    "EXCEPTION_HANDLER": "kernel.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "kernel.api.throttling.ApiKeyRateThrottle",
        "kernel.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env_str("ENTITIES_THROTTLE_KEY_RATE", "6000/min"),
        "user": env_str("ENTITIES_THROTTLE_USER_RATE", "12000/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

from datetime import timedelta  # noqa: E402

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 60, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7, minimum=1)),
    "AUTH_HEADER_TYPES": ("Bearer",),
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# An authenticated API key is trusted for this long in each process (0: look it up on every
# request). Revocation through Entities is immediate in the process that did it.
ENTITIES_API_KEY_CACHE_SECONDS = env_float("ENTITIES_API_KEY_CACHE_SECONDS", 5.0, minimum=0.0)
# A connection to `make serve-prod` must send a whole request head within this many seconds
# of opening (and of each response, on keep-alive); 0 turns it off (entities_project/http_protocol.py).
ENTITIES_HEADER_TIMEOUT_SECONDS = env_float("ENTITIES_HEADER_TIMEOUT_SECONDS", 10.0, minimum=0.0)

# Threads that run Django's synchronous request code (views, middleware); see request_threads.py.
ENTITIES_REQUEST_THREADS = env_int("ENTITIES_REQUEST_THREADS", 4, minimum=1)

# --- Limits -----------------------------------------------------------------------------
ENTITIES_MAX_BODY_BYTES = env_int("ENTITIES_MAX_BODY_BYTES", 2 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ENTITIES_MAX_BODY_BYTES
ENTITIES_MAX_ACTIVE_RUNS_PER_USER = env_int("ENTITIES_MAX_ACTIVE_RUNS_PER_USER", 2000, minimum=1)

# --- Files (docs/files.md) -------------------------------------------------------------
ENTITIES_FILES_DIR = Path(env_str("ENTITIES_FILES_DIR") or LOCAL_DIR / "files")
ENTITIES_MAX_FILE_BYTES = env_int("ENTITIES_MAX_FILE_BYTES", 512 * 1024 * 1024, minimum=1)
# Per-user total of stored file bytes; 0 turns the quota off.
ENTITIES_USER_STORAGE_BYTES = env_int("ENTITIES_USER_STORAGE_BYTES", 10 * 1024**3, minimum=0)
# Any Django storage class for file bytes (e.g. storages.backends.s3.S3Storage) and its options as JSON.
ENTITIES_FILES_STORAGE = env_str("ENTITIES_FILES_STORAGE", "django.core.files.storage.FileSystemStorage")
try:
    import json as _json

    _files_options = _json.loads(env_str("ENTITIES_FILES_STORAGE_OPTIONS") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"ENTITIES_FILES_STORAGE_OPTIONS must be a JSON object: {exc}") from None
if ENTITIES_FILES_STORAGE.endswith("FileSystemStorage"):
    _files_options.setdefault("location", str(ENTITIES_FILES_DIR))
    # Uploads land in a temporary file beside the store, so keeping one is a rename.
    FILE_UPLOAD_TEMP_DIR = str(Path(_files_options["location"]) / ".incoming")
    try:
        Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
    except OSError:
        FILE_UPLOAD_TEMP_DIR = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "files": {"BACKEND": ENTITIES_FILES_STORAGE, "OPTIONS": _files_options},
}
# How often each process deletes expired files (and, every 60th pass, orphaned bytes).
ENTITIES_FILES_SWEEP_SECONDS = env_float("ENTITIES_FILES_SWEEP_SECONDS", 30.0, minimum=0.1)
# Models that see images when their server does not say (Ollama does): shell patterns.
ENTITIES_VISION_MODELS = env_list("ENTITIES_VISION_MODELS", [
    "gpt-4o*", "gpt-4.1*", "gpt-5*", "o1", "o1-2*", "o3*", "o4*", "*vision*", "*llava*", "*-vl*", "*vl:*"])
# Routes whose body may be larger than ENTITIES_MAX_BODY_BYTES (the multipart overhead on top).
ENTITIES_LARGE_BODY_ROUTES = {("POST", "/v1/files"): ENTITIES_MAX_FILE_BYTES + 1024 * 1024}

# --- Inference --------------------------------------------------------------------------
ENTITIES_DEFAULT_INFERENCE = env_str("ENTITIES_DEFAULT_INFERENCE", "local")
ENTITIES_DEFAULT_MODEL = env_str("ENTITIES_DEFAULT_MODEL", "demo/echo")
# Names programs written for OpenAI keep (gpt-4o, …) routed to a backend: "gpt-*=cloud,o1*=local/llama3.1".
try:
    ENTITIES_MODEL_ROUTES = parse_model_routes(env_str("ENTITIES_MODEL_ROUTES", ""))
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
OLLAMA_HOST = env_str("OLLAMA_HOST", "http://127.0.0.1:11434")
LOCAL_OPENAI_BASE_URL = env_str("LOCAL_OPENAI_BASE_URL")
LOCAL_OPENAI_API_KEY = env_str("LOCAL_OPENAI_API_KEY", "not-needed")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "https://api.openai.com/v1")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
INFERENCE_CONNECT_TIMEOUT = env_float("INFERENCE_CONNECT_TIMEOUT", 5.0, minimum=0.1)
INFERENCE_READ_TIMEOUT = env_float("INFERENCE_READ_TIMEOUT", 120.0, minimum=0.1)
DEMO_TOKEN_DELAY = env_float("DEMO_TOKEN_DELAY", 0.02, minimum=0.0)
# Split a reply that begins with <think>…</think> into reasoning and text, for servers that
# leave reasoning in the content (inference/backends/think_tags.py). Off: most servers split it.
ENTITIES_THINK_TAGS = env_bool("ENTITIES_THINK_TAGS", False)
INFERENCE_MAX_CONNECTIONS = env_int("INFERENCE_MAX_CONNECTIONS", 2000, minimum=1)
# A thread's first reply from a real model (not demo/*) gets one short extra call that writes
# its title (conversations/services/titles.py); bounded, after the reply, failure keeps the text's.
ENTITIES_AUTO_TITLE = env_bool("ENTITIES_AUTO_TITLE", True)
ENTITIES_AUTO_TITLE_TIMEOUT = env_float("ENTITIES_AUTO_TITLE_TIMEOUT", 15.0, minimum=0.1)

ENTITIES_METRICS_TOKEN = env_str("ENTITIES_METRICS_TOKEN")
# /healthz?backends=1 probes the backends at most this often (the answer is cached between).
ENTITIES_HEALTH_PROBE_SECONDS = env_float("ENTITIES_HEALTH_PROBE_SECONDS", 10.0, minimum=0.0)

# --- Run engine -------------------------------------------------------------------------
ENTITIES_RUN_EXPIRES_SECONDS = env_int("ENTITIES_RUN_EXPIRES_SECONDS", 600, minimum=1)
ENTITIES_RUN_LEASE_SECONDS = env_float("ENTITIES_RUN_LEASE_SECONDS", 15.0, minimum=0.5)
ENTITIES_SWEEP_INTERVAL_SECONDS = env_float("ENTITIES_SWEEP_INTERVAL_SECONDS", 5.0, minimum=0.1)
# Streaming replies are saved this often (one batched write per process; 0 turns it off).
ENTITIES_CHECKPOINT_SECONDS = env_float("ENTITIES_CHECKPOINT_SECONDS", 1.0, minimum=0.0)
# On SIGTERM/SIGINT, running replies get this long to finish before they are ended (text kept).
ENTITIES_SHUTDOWN_GRACE_SECONDS = env_float("ENTITIES_SHUTDOWN_GRACE_SECONDS", 10.0, minimum=0.0)
ENTITIES_MAX_TOOL_ROUNDS = env_int("ENTITIES_MAX_TOOL_ROUNDS", 8, minimum=1)
ENTITIES_MAX_RUN_TOKENS = env_int("ENTITIES_MAX_RUN_TOKENS", 200_000, minimum=1)
ENTITIES_FUNCTIONS = env_list("ENTITIES_FUNCTIONS", [])
ENTITIES_FUNCTION_TIMEOUT = env_float("ENTITIES_FUNCTION_TIMEOUT", 30.0, minimum=0.1)
RIPESTAT_BASE_URL = env_str("RIPESTAT_BASE_URL", "https://stat.ripe.net")
RIPESTAT_TIMEOUT = env_float("RIPESTAT_TIMEOUT", 10.0, minimum=0.1)

# --- Code interpreter sandbox -----------------------------------------------------------
CODE_INTERPRETER_TIMEOUT = env_float("CODE_INTERPRETER_TIMEOUT", 10.0, minimum=0.5)
CODE_INTERPRETER_MEMORY_MB = env_int("CODE_INTERPRETER_MEMORY_MB", 512, minimum=32)
CODE_INTERPRETER_MAX_OUTPUT_BYTES = env_int("CODE_INTERPRETER_MAX_OUTPUT_BYTES", 64 * 1024, minimum=1024)
CODE_INTERPRETER_MAX_PROCESSES = env_int("CODE_INTERPRETER_MAX_PROCESSES", 32, minimum=1)
# /mnt/data is a tmpfs of this size (RAM, not disk: keep it modest); /tmp adds 64 MB.
CODE_INTERPRETER_DISK_MB = env_int("CODE_INTERPRETER_DISK_MB", 256, minimum=1)
# Sandboxes one server process runs at once; the rest wait up to the queue timeout.
CODE_INTERPRETER_MAX_CONCURRENT = env_int("CODE_INTERPRETER_MAX_CONCURRENT", 4, minimum=1)
CODE_INTERPRETER_QUEUE_TIMEOUT = env_float("CODE_INTERPRETER_QUEUE_TIMEOUT", 30.0, minimum=0.1)
# Files the code writes in /mnt/data that come back from one run: count, and MB in all.
CODE_INTERPRETER_MAX_FILES_OUT = env_int("CODE_INTERPRETER_MAX_FILES_OUT", 20, minimum=0)
CODE_INTERPRETER_MAX_FILES_OUT_MB = env_int("CODE_INTERPRETER_MAX_FILES_OUT_MB", 64, minimum=0)
# The sandbox's own Python packages (`make sandbox-env`); without it, the standard library only.
CODE_INTERPRETER_VENV = env_str("CODE_INTERPRETER_VENV", str(BASE_DIR / ".local" / "sandbox-venv"))
# When the server runs as root, sandboxed code runs as this unprivileged uid (nobody).
CODE_INTERPRETER_UID = env_int("CODE_INTERPRETER_UID", 65534, minimum=1)

# --- Security ---------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("ENTITIES_BEHIND_HTTPS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SESSION_COOKIE_HTTPONLY = True

# --- I18N / static ----------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "httpx": {"level": "WARNING"}},
}
