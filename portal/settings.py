"""Settings, read from the environment (see the table in README.md).

With no environment at all the development defaults apply (DEBUG on, SQLite, a fixed
development encryption key). With DEBUG=False the secrets must be given, or start-up stops.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# Development-only values: refused when DEBUG is off.
_DEV_SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"
_DEV_FIELD_ENCRYPTION_KEY = "ZGV2LW9ubHktZmllbGQtZW5jcnlwdGlvbi1rZXktMDA="


def _required_in_production(name, dev_default):
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} must be set when DEBUG is off (see the env settings table in README.md)."
    )


SECRET_KEY = _required_in_production("SECRET_KEY", _DEV_SECRET_KEY)
# One Fernet key, or several separated by commas (the first encrypts; all decrypt) to rotate.
FIELD_ENCRYPTION_KEY = _required_in_production("FIELD_ENCRYPTION_KEY", _DEV_FIELD_ENCRYPTION_KEY)

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles, whose runserver core's extends (it also reads chunked bodies).
    "core",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "accounts",
    "smtpusers",
    "relaysettings",
    "audit",
    "mailqueue",
    "smtpserver",
    "alerts",
]

MIDDLEWARE = [
    # Outside SecurityMiddleware, whose HTTPS redirect of an API call it turns into a 308.
    "core.middleware.ApiRedirectsKeepMethodMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "audit.middleware.AuditActorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, so that it sees failed logins after authentication ran.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
            # {% once_token %} in every form that changes something (core.once).
            "builtins": ["core.templatetags.once"],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The SMTP server writes from several threads: wait for the lock, take it up front.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The shared cache holds the throttling counters: Redis so that every process sees the same
# counts, local memory for a single development process.
if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.LoginBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# django-axes: lock a login out after repeated failures (per username and address), and an
# address after failures across many usernames (password spraying); see accounts/lockout.py.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.lockout.LoginLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"
# No "AXES: BEGIN" banner from every process that starts (bin/run starts five).
AXES_VERBOSE = False
# Count failures per email whatever its letter case, as sign-in matches it.
AXES_USERNAME_CALLABLE = "accounts.lockout.lockout_username"
# A friendly page (HTTP 429) instead of axes' bare text when a login is locked out.
AXES_LOCKOUT_CALLABLE = "accounts.views.login_locked_out"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times with their zone wherever Django formats them (portal/formats/en/formats.py).
FORMAT_MODULE_PATH = ["portal.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")

# Production transport security; SECURE_SSL_REDIRECT=False serves plain HTTP behind a
# TLS-terminating proxy.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# django-csp: only the portal's own scripts and styles; no inline code, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Client address for throttling: REMOTE_ADDR, or the right-most X-Forwarded-For entry added
# by this many trusted proxies in front of the portal.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
API_AUTH_FAILURE_LIMIT = env.int("API_AUTH_FAILURE_LIMIT", default=30)
API_AUTH_FAILURE_WINDOW_SECONDS = 60

# Upstream SMTP servers on private, loopback or link-local addresses: refused in production,
# so that customers cannot use test sends or relaying to probe the internal network.
RELAY_ALLOW_PRIVATE_NETWORKS = env.bool("RELAY_ALLOW_PRIVATE_NETWORKS", default=DEBUG)

# What the dashboard tells customers about connecting to the SMTP submission server.
SMTP_PUBLIC_HOST = env.str("SMTP_PUBLIC_HOST", default="localhost")
SMTP_PUBLIC_PORT = env.int("SMTP_PUBLIC_PORT", default=2525)
SMTP_PUBLIC_TLS = env.str("SMTP_PUBLIC_TLS", default="STARTTLS")

# The SMTP submission server (manage.py runsmtp) and its relay queue (manage.py deliver);
# see docs/smtp-server.md.
SMTP_LISTEN_HOST = env.str("SMTP_LISTEN_HOST", default="127.0.0.1")
SMTP_LISTEN_PORT = env.int("SMTP_LISTEN_PORT", default=2525)
SMTP_IMPLICIT_TLS_PORT = env.int("SMTP_IMPLICIT_TLS_PORT", default=0)  # 0: none
SMTP_SERVER_HOSTNAME = env.str("SMTP_SERVER_HOSTNAME", default=SMTP_PUBLIC_HOST)
# Empty: a self-signed development certificate is generated into var/ (DEBUG only).
SMTP_TLS_CERT_FILE = env.str("SMTP_TLS_CERT_FILE", default="")
SMTP_TLS_KEY_FILE = env.str("SMTP_TLS_KEY_FILE", default="")
SMTP_ALLOW_PLAINTEXT_AUTH = env.bool("SMTP_ALLOW_PLAINTEXT_AUTH", default=DEBUG)
SMTP_AUTH_FAILURE_LIMIT = env.int("SMTP_AUTH_FAILURE_LIMIT", default=10)
SMTP_AUTH_FAILURE_WINDOW_SECONDS = env.int("SMTP_AUTH_FAILURE_WINDOW_SECONDS", default=300)
SMTP_MAX_MESSAGE_BYTES = env.int("SMTP_MAX_MESSAGE_BYTES", default=25 * 1024 * 1024)
SMTP_MAX_RECIPIENTS = env.int("SMTP_MAX_RECIPIENTS", default=100)
SMTP_DB_THREADS = env.int("SMTP_DB_THREADS", default=8)
MAILQUEUE_RETRY_BASE_SECONDS = env.float("MAILQUEUE_RETRY_BASE_SECONDS", default=60)
MAILQUEUE_RETRY_MAX_SECONDS = env.float("MAILQUEUE_RETRY_MAX_SECONDS", default=3600)
MAILQUEUE_EXPIRY_SECONDS = env.float("MAILQUEUE_EXPIRY_SECONDS", default=3 * 24 * 3600)
MAILQUEUE_LEASE_SECONDS = env.float("MAILQUEUE_LEASE_SECONDS", default=600)
MAILQUEUE_POLL_SECONDS = env.float("MAILQUEUE_POLL_SECONDS", default=5)
MAILQUEUE_RELAY_TIMEOUT_SECONDS = env.float("MAILQUEUE_RELAY_TIMEOUT_SECONDS", default=60)
MAILQUEUE_BATCH_SIZE = env.int("MAILQUEUE_BATCH_SIZE", default=20)
RELAY_MAX_CONNECTIONS_PER_UPSTREAM = env.int("RELAY_MAX_CONNECTIONS_PER_UPSTREAM", default=4)
RELAY_IDLE_CONNECTION_SECONDS = env.float("RELAY_IDLE_CONNECTION_SECONDS", default=5)

# Verified sending domains (docs/email-settings.md): mail leaves for a domain only once its
# owner proved it in DNS. False lets unverified domains send: local development only.
DOMAIN_VERIFICATION = env.bool("DOMAIN_VERIFICATION", default=True)
# DNS servers asked by the domain checks, "host:port" comma-separated; empty: the system's.
DNS_RESOLVER = env.str("DNS_RESOLVER", default="")
DNS_TIMEOUT_SECONDS = env.float("DNS_TIMEOUT_SECONDS", default=5)
# How long a replaced DKIM key stays published (and valid) after the switch to its successor.
DKIM_ROTATION_GRACE_DAYS = env.float("DKIM_ROTATION_GRACE_DAYS", default=7)

# Serve /bench/bare, the benchmark's baseline view (bench/); off everywhere else.
BENCHMARK_ENDPOINTS = env.bool("BENCHMARK_ENDPOINTS", default=False)
# Quota alerts (alerts app; docs/credential-controls.md): sent by runsmtp's alert thread or by
# `manage.py deliveralerts`.
ALERTS_POLL_SECONDS = env.float("ALERTS_POLL_SECONDS", default=5)
ALERTS_RETRY_BASE_SECONDS = env.float("ALERTS_RETRY_BASE_SECONDS", default=30)
ALERTS_RETRY_MAX_SECONDS = env.float("ALERTS_RETRY_MAX_SECONDS", default=3600)
ALERTS_MAX_ATTEMPTS = env.int("ALERTS_MAX_ATTEMPTS", default=8)
ALERTS_LEASE_SECONDS = env.float("ALERTS_LEASE_SECONDS", default=120)
ALERTS_WEBHOOK_TIMEOUT_SECONDS = env.float("ALERTS_WEBHOOK_TIMEOUT_SECONDS", default=10)
# Webhooks to localhost, private networks and *.internal names are refused unless this is on.
ALERTS_WEBHOOK_ALLOW_INTERNAL_TARGETS = env.bool(
    "ALERTS_WEBHOOK_ALLOW_INTERNAL_TARGETS", default=False
)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SMTP relay portal API",
    "DESCRIPTION": (
        "The SMTP users API (compatible with the Sarv / SendClean / PowerEmail clients) and the "
        "domain email settings API (compatible with Webitel's). Credentials: the owner_id and an "
        "API token, as X-Key / X-Access-Token headers or as body fields."
    ),
    "VERSION": "1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["core.schema.drop_trailing_slash_duplicates"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.require_bodies_with_required_fields",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "OwnerId": {"type": "apiKey", "in": "header", "name": "X-Key"},
            "ApiToken": {"type": "apiKey", "in": "header", "name": "X-Access-Token"},
        }
    },
    "SECURITY": [{"OwnerId": [], "ApiToken": []}],
    "ENUM_NAME_OVERRIDES": {
        "SmtpUserStatusEnum": ["Enable", "Disable"],
        "SuccessStatusEnum": ["success"],
        "ErrorStatusEnum": ["error"],
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Request paths are logged without password-reset tokens (core/access_log.py).
    "filters": {"reset_token": {"()": "core.access_log.ResetTokenFilter"}},
    "formatters": {
        # Django's own runserver format (django.utils.log.DEFAULT_LOGGING).
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Through the root handler only: Django's default config gives "django" a console
        # handler of its own, which printed every 4xx/5xx warning twice.
        "django": {"handlers": [], "level": "INFO"},
        # aiosmtpd logs every SMTP command at INFO and a deprecation warning at every login;
        # runsmtp logs what matters itself.
        "mail.log": {"level": "ERROR"},
        "django.server": {
            "handlers": ["django.server"],
            "level": "INFO",
            "propagate": False,
            "filters": ["reset_token"],
        },
        "django.request": {"filters": ["reset_token"]},
    },
}
