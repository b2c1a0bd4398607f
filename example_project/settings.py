"""Settings of the example project, configured from the environment (django-environ).

DATABASE_URL   default sqlite:///<repo>/db.sqlite3
SECRET_KEY     default: a development key (never use it in production)
DEBUG          default True
ALLOWED_HOSTS  default 127.0.0.1,localhost
OAUTHKIT_ISSUER default http://127.0.0.1:8000
OAUTHKIT_SIGNING_KEY  optional PEM or JWK; without it `make demo` runs rotatekeys
REDIS_URL      optional, e.g. redis://127.0.0.1:6379/0: the "shared" cache, where the provider
               writes the revocation list and the API reads it. Without it "shared" is a
               local-memory cache, which only one process sees (fine for runserver).
OAUTHKIT_REVOCATION_CHECK  default "database" (one query per API request); "cache" reads the
               revocation list in the "shared" cache instead (no SQL). See docs/drf.md.
Sign-in buttons (docs/login.md): "oauthkit demo" always (this site's own provider);
GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET and GITHUB_CLIENT_ID/GITHUB_CLIENT_SECRET add Google
and GitHub; OIDC_LOGIN_ISSUER, OIDC_LOGIN_CLIENT_ID, OIDC_LOGIN_CLIENT_SECRET (and
OIDC_LOGIN_SLUG, default "oidc") add any OpenID provider.
LOGIN_TOKEN_KEY  optional key (32+ characters) encrypting stored provider tokens.
"""

from pathlib import Path

import django
import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, True),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    OAUTHKIT_ISSUER=(str, "http://127.0.0.1:8000"),
    OAUTHKIT_REVOCATION_CHECK=(str, "database"),
)

SECRET_KEY = env("SECRET_KEY", default="django-insecure-oauthkit-example-only")
DEBUG = env("DEBUG")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauthkit.provider",
    "oauthkit.login",
    "example_project.demo",
    "example_project.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "example_project" / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"].endswith("sqlite3") and django.VERSION >= (5, 1):
    # Writers take the lock at BEGIN, so concurrent token requests queue instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["transaction_mode"] = "IMMEDIATE"

# "shared": the revocation list, written by the provider and read by the API. It must be one
# cache for every process (Redis); a local-memory cache is per process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "shared": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env("REDIS_URL")}
        if env("REDIS_URL", default="")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "shared"}
    ),
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

OAUTHKIT = {
    "ISSUER": env("OAUTHKIT_ISSUER"),
    "SIGNING_KEYS": [k for k in [env("OAUTHKIT_SIGNING_KEY", default="")] if k],
    "SCOPES": {
        "openid": "Sign you in",
        "profile": "See your name and profile",
        "email": "See your email address",
        "read": "Read your data",
        "write": "Change your data",
        # example_project.api: resource-style scopes.
        "read:users": "See the list of users",
        "write:users": "Add users",
        "delete:users": "Delete users",
        "admin:all": "Do anything with the API",
        # Dynamic per-project scopes (read:project:{project_id}). The provider accepts only
        # scopes listed here, so the demo lists a few projects.
        "read:project:1": "See project 1",
        "read:project:2": "See project 2",
        "read:project:3": "See project 3",
    },
    "DEFAULT_SCOPES": ["read"],
    "REVOCATION_CACHE": "shared",
    "RESOURCE_SERVER": {"REVOCATION_CHECK": env("OAUTHKIT_REVOCATION_CHECK"), "CACHE": "shared"},
    "LOGIN": {},  # filled below
}

# Sign-in buttons (oauthkit.login): this site's own provider, then whatever the environment
# configures. The demo-web client of seed_demo lists the callback URL of "oauthkit-demo".
LOGIN_PROVIDERS = {
    "oauthkit-demo": {
        "kind": "oidc",
        "name": "oauthkit demo",
        "issuer": env("OAUTHKIT_ISSUER"),
        "client_id": "demo-web",
        "client_secret": "demo-web-secret-do-not-use-in-production-0000",
        "scopes": ["openid", "profile", "email"],
    }
}
for _slug in ("google", "github"):
    if env(f"{_slug.upper()}_CLIENT_ID", default=""):
        LOGIN_PROVIDERS[_slug] = {
            "preset": _slug,
            "client_id": env(f"{_slug.upper()}_CLIENT_ID"),
            "client_secret": env(f"{_slug.upper()}_CLIENT_SECRET", default=""),
        }
if env("OIDC_LOGIN_ISSUER", default=""):
    LOGIN_PROVIDERS[env("OIDC_LOGIN_SLUG", default="oidc")] = {
        "kind": "oidc",
        "issuer": env("OIDC_LOGIN_ISSUER"),
        "client_id": env("OIDC_LOGIN_CLIENT_ID", default=""),
        "client_secret": env("OIDC_LOGIN_CLIENT_SECRET", default=""),
    }
OAUTHKIT["LOGIN"] = {
    "PROVIDERS": LOGIN_PROVIDERS,
    "ADAPTER": "example_project.login_adapter.ExampleLoginAdapter",
    "TOKEN_ENCRYPTION_KEYS": [k for k in [env("LOGIN_TOKEN_KEY", default="")] if k],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "oauthkit": {"handlers": ["console"], "level": env("OAUTHKIT_LOG_LEVEL", default="INFO")}
    },
}
