"""Batch Studio settings: one file, environment variables with embedded defaults.

Embedded (default): SQLite + django-q2's ORM broker + local datastore under STUDIO_HOME.
Many machines: DATABASE_URL (PostgreSQL), REDIS_URL (Redis broker), Q_CLUSTER_NAME per worker machine.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name, default="0"):
    return os.environ.get(name, default).lower() in ("1", "true", "yes", "on")


def envint(name, default):
    return int(os.environ.get(name, default))


def envfloat(name, default):
    """A number of seconds (or days) from the environment; unset or empty: the default ("0" is a value)."""
    return float(os.environ.get(name) or default)


STUDIO_HOME = Path(os.environ.get("STUDIO_HOME") or BASE_DIR / "var").resolve()
STUDIO_HOME.mkdir(parents=True, exist_ok=True)


SECRET_KEY_FILE = STUDIO_HOME / "secret_key"


def _secret_key():
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    # One key per data directory, kept beside the data it protects (datastore credentials are encrypted with it).
    path = SECRET_KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", "0")
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "axes",
    "workspace",  # app label "studio": its tables and migrations kept their names
    "endpoints",
    "jobs",
    "jobs.schedules",
    "api",
    "workspace.compute",
    "cli",
]

MIDDLEWARE = [
    # First: every answer gets the policy, static files (WhiteNoise) and refusals included.
    "studio.middleware.ContentSecurityPolicyMiddleware",
    "studio.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "studio.middleware.HtmxSignInMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out sign-in with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"

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
                "studio.views.access.role",
            ],
        },
    },
]

# Test databases get the process id in their name so that several test runs on one machine never collide,
# and a file (not memory) so that a real qcluster process can share it with the test.
_TEST_SUFFIX = str(os.getpid())
# Persistent connections (None): django-q2 calls close_old_connections() around every task and broker poll, which
# with 0 closes and reopens the connection each time (see docs/PERFORMANCE.md). CONN_MAX_AGE=0 restores that.
_CONN_MAX_AGE = envint("CONN_MAX_AGE", -1)
_CONN_MAX_AGE = None if _CONN_MAX_AGE < 0 else _CONN_MAX_AGE
# WAL makes synchronous=NORMAL safe: a commit is durable against a crash of the process, not of the machine.
_SQLITE_OPTIONS = {
    "timeout": 30,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
if os.environ.get("DATABASE_URL"):
    _db = dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=_CONN_MAX_AGE, conn_health_checks=True)
    if _db["ENGINE"].endswith("sqlite3"):
        _db["OPTIONS"] = dict(_SQLITE_OPTIONS)
    _db.setdefault("TEST", {})["NAME"] = os.environ.get("TEST_DATABASE_NAME") or (
        f"test_studio_{_TEST_SUFFIX}"
        if not _db["ENGINE"].endswith("sqlite3")
        else str(STUDIO_HOME / f"test-{_TEST_SUFFIX}.sqlite3")
    )
else:
    _db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": STUDIO_HOME / "db.sqlite3",
        "CONN_MAX_AGE": _CONN_MAX_AGE,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": dict(_SQLITE_OPTIONS),
        "TEST": {"NAME": str(STUDIO_HOME / f"test-{_TEST_SUFFIX}.sqlite3")},
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Sign-in throttling (django-axes): LOGIN_FAILURE_LIMIT wrong passwords lock that username, and separately that
# address, for LOGIN_LOCKOUT_MINUTES; a successful sign-in clears the count. The admin's "Access attempts" lists them.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envfloat("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "studio.views.accounts.locked_out"
AXES_VERBOSE = False
# Behind a proxy the client's address is its X-Forwarded-For (only then: anyone could send the header).
if envbool("TRUST_X_FORWARDED_FOR", "0"):
    AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    AXES_IPWARE_PROXY_COUNT = envint("PROXY_COUNT", 1)

# E-mail, for password reset only: off (no reset links, no pages) until EMAIL_HOST (SMTP) or EMAIL_BACKEND is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "1") and not envbool("EMAIL_USE_SSL", "0")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", "0")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "batch-studio@localhost")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or "django.core.mail.backends.smtp.EmailBackend"
PASSWORD_RESET_ENABLED = bool(EMAIL_HOST or os.environ.get("EMAIL_BACKEND"))

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["studio.formats"]  # dates as the tables write them (studio/formats/en/formats.py)
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = STUDIO_HOME / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Limits (docs/SECURITY.md). A request body other than uploaded files (a form, the API's JSON): 10 MB.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# The largest model file or zip Models -> + Register accepts.
MODEL_UPLOAD_MAX_BYTES = envint("MODEL_UPLOAD_MAX_BYTES", 512 * 1024 * 1024)
# The files of one dataset version uploaded at once (Data -> + Create -> From local files).
DATASET_UPLOAD_MAX_BYTES = envint("DATASET_UPLOAD_MAX_BYTES", 512 * 1024 * 1024)
# Any request's body, uploads included: refused (413) before it is read.
MAX_REQUEST_BYTES = max(MODEL_UPLOAD_MAX_BYTES, DATASET_UPLOAD_MAX_BYTES) + DATA_UPLOAD_MAX_MEMORY_SIZE
# How deeply an API request's JSON may nest, and how long a description may be.
API_MAX_JSON_DEPTH = envint("API_MAX_JSON_DEPTH", 32)
DESCRIPTION_MAX_CHARS = envint("DESCRIPTION_MAX_CHARS", 10_000)
# A deployment's code folder (the wizard's Code upload, files or a .zip): what it may unpack to, and how many files.
CODE_UPLOAD_MAX_BYTES = envint("CODE_UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
CODE_UPLOAD_MAX_FILES = envint("CODE_UPLOAD_MAX_FILES", 1000)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy of every answer (studio.middleware): the Studio's own scripts, styles and images only; no
# inline script or style, no frames, forms post to the Studio only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
if not DEBUG and envbool("HTTPS", "0"):
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("HSTS_INCLUDE_SUBDOMAINS", "1")
    SECURE_HSTS_PRELOAD = envbool("HSTS_PRELOAD", "1")
# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto (only then, or anyone could claim https).
if envbool("TRUST_X_FORWARDED_PROTO", "0"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# MLflow registry: embedded SQLite store in the data directory unless MLFLOW_TRACKING_URI names a server.
MLFLOW_TRACKING_URI = os.environ.get("MLFLOW_TRACKING_URI", "")
MLFLOW_REGISTRY_URI = os.environ.get("MLFLOW_REGISTRY_URI", "")
# `make run`'s seed_demo registers its demo model on such a server only when asked (or with --into-tracking-server).
STUDIO_SEED_EXTERNAL = envbool("STUDIO_SEED_EXTERNAL", "0")

# The default compute cluster a deployment runs on, and the one this process serves when it runs qcluster.
DEFAULT_COMPUTE = "cpu-cluster"
Q_CLUSTER_NAME = os.environ.get("Q_CLUSTER_NAME", DEFAULT_COMPUTE)
# One machine (no REDIS_URL): its one pool, serving Q_CLUSTER_NAME's queue, takes the tasks of every compute cluster.
COMPUTE_ONE_POOL = envbool("COMPUTE_ONE_POOL", "0" if os.environ.get("REDIS_URL") else "1")
Q_CLUSTER = {
    # One shared name (the signing salt and stats key) for every cluster of this site.
    "name": "batch-studio",
    "cluster_name": Q_CLUSTER_NAME,
    "ALT_CLUSTERS": {},
    "workers": envint("Q_WORKERS", 2),
    "recycle": 500,
    # Our own tasks enforce per-mini-batch timeouts; this is only a backstop for a stuck task (Q_TIMEOUT seconds).
    "timeout": envint("Q_TIMEOUT", 3600),
    "retry": envint("Q_RETRY", 3700),
    "max_attempts": 1,
    # Successful tasks are not stored: our own models record every outcome, and storing (with pruning to a
    # limit) cost several statements per task. Failed tasks still are.
    "save_limit": -1,
    "ack_failures": True,
    "catch_up": False,
    # The ORM broker's pusher sleeps this long whenever it finds the queue empty: the latency of a queue hop.
    "poll": float(os.environ.get("Q_POLL", 0.1)),
    "label": "Task queue",
}
if os.environ.get("REDIS_URL"):
    Q_CLUSTER["redis"] = os.environ["REDIS_URL"]
else:
    Q_CLUSTER["orm"] = "default"
# Q_PREFIX namespaces this site's queues, statistics and cache keys inside a shared Redis (each test run has its own).
Q_PREFIX = os.environ.get("Q_PREFIX", "")
if Q_PREFIX and os.environ.get("PYTEST_XDIST_WORKER"):
    # Each pytest-xdist worker of a test run has its own test database, so its own queues too (its qcluster
    # processes inherit the variable).
    Q_PREFIX = f"{Q_PREFIX}-{os.environ['PYTEST_XDIST_WORKER']}"
if Q_PREFIX:
    Q_CLUSTER["name"] = f"batch-studio-{Q_PREFIX}"
    if os.environ.get("REDIS_URL"):
        Q_CLUSTER["broker_class"] = "workspace.compute.broker.PrefixedRedis"

# A shared cache: django-q2 keeps its cluster statistics there, so the web server sees live workers.
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": Q_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "studio_cache"}}

# Public URLs pointing at private or loopback addresses are refused unless an admin allows them.
ALLOW_PRIVATE_URLS = envbool("ALLOW_PRIVATE_URLS", "0")
# A Prometheus scraper's bearer token for /metrics (empty: /metrics answers signed-in users only).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
# Folders a local datastore may be registered in (LOCAL_DATASTORE_ROOTS, separated by ","); empty: STUDIO_HOME's
# datastores/ folder. Never one that holds the database, the secret key, the registry, code or static files.
LOCAL_DATASTORE_ROOTS = [r for r in os.environ.get("LOCAL_DATASTORE_ROOTS", "").split(",") if r]

# The engine. Code reads these through django.conf.settings when it needs them (not at import), so a test's
# `settings` fixture changes them; a real qcluster started by a test gets its own from the environment.
# A lease a worker holds on a running mini-batch, a finalize, a preview or a schedule run: past it, another takes over.
JOBS_LEASE_SECONDS = envfloat("JOBS_LEASE_SECONDS", 60)
# How often a worker renews the lease it holds (and a running mini-batch looks whether its job was canceled).
JOBS_HEARTBEAT_SECONDS = envfloat("JOBS_HEARTBEAT_SECONDS", 10)
# How long a task keeps running its job's next mini-batches while no other job waits (0: one mini-batch per task).
JOBS_LANE_SECONDS = envfloat("JOBS_LANE_SECONDS", 10)
# Warm scoring hosts (model processes) each worker process keeps.
JOBS_HOSTS_PER_WORKER = int(envfloat("JOBS_HOSTS_PER_WORKER", 2))
# Seconds a scoring host may take to load its model or run the scoring script's init().
JOBS_INIT_TIMEOUT = envfloat("JOBS_INIT_TIMEOUT", 600)
# Days a Failed or Canceled job keeps its completed parts for Retry failed.
JOBS_KEEP_PARTS_DAYS = envfloat("JOBS_KEEP_PARTS_DAYS", 7)
# How often each worker process writes its heartbeat (the Compute page's live workers).
COMPUTE_HEARTBEAT_SECONDS = envfloat("COMPUTE_HEARTBEAT_SECONDS", 5)
# `manage.py workers`: the supervisor restarts a pool that has left work sent to it waiting this long with nothing
# running, and gives stale work back to the queue itself this often (docs/RELIABILITY.md).
COMPUTE_STALL_SECONDS = envfloat("COMPUTE_STALL_SECONDS", 30)
COMPUTE_RECLAIM_SECONDS = envfloat("COMPUTE_RECLAIM_SECONDS", 15)
# The pool's task queue: one an idle worker's SIGKILL cannot wedge (0: django-q2's own; for the tests of the supervisor).
COMPUTE_HEALING_QUEUE = envbool("COMPUTE_HEALING_QUEUE", "1")

# `manage.py run_studio` (make run): where gunicorn listens, and how many web processes it starts.
WEB_HOST = os.environ.get("HOST", "127.0.0.1")
WEB_PORT = os.environ.get("PORT", "8000")
WEB_WORKERS = int(os.environ.get("WEB_WORKERS") or 2)
# The Studio's address as its users reach it: the command line's --web links and absolute scoring_uri values.
STUDIO_URL = os.environ.get("STUDIO_URL", "http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "workspace.redact.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django-q": {"level": os.environ.get("Q_LOG_LEVEL", "WARNING")},
        # `manage.py workers` says when it starts and restarts its pool.
        "workspace.compute.supervisor": {"level": os.environ.get("Q_LOG_LEVEL", "INFO")},
        # urllib3 logs each request's URL at DEBUG, a SAS token's signature included: redacted at the source,
        # so that no handler (a file, a log collector, a test's capture) ever sees it.
        "urllib3.connectionpool": {"filters": ["redact"]},
    },
}
