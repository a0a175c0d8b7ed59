"""Settings of the Django app that shares its sessions with the wasm web app.

Everything session-related comes from the environment under Django's own names, the same
variables the file-sessions component reads, so both apps are configured from one place:
SECRET_KEY (required), SESSION_FILE_PATH (required: the directory both apps use),
SESSION_COOKIE_NAME, SESSION_COOKIE_AGE, SESSION_EXPIRE_AT_BROWSER_CLOSE,
SESSION_COOKIE_SECURE, SESSION_SAVE_EVERY_REQUEST; PEER_URL is where the wasm app serves.
"""

import os
from pathlib import Path


def _env_bool(name):
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "false", "0"):
        return False
    if value in ("true", "1"):
        return True
    raise ValueError(f"{name} must be true, false, 1 or 0")


SECRET_KEY = os.environ["SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = ["django.contrib.sessions"]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
ROOT_URLCONF = "sidebyside.urls"
WSGI_APPLICATION = "sidebyside.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
    }
]
# No database: sessions live in files, and nothing else is stored.
DATABASES = {}
USE_TZ = True

SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = os.environ["SESSION_FILE_PATH"]
SESSION_COOKIE_NAME = os.environ.get("SESSION_COOKIE_NAME") or "sessionid"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE") or 1209600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = _env_bool("SESSION_EXPIRE_AT_BROWSER_CLOSE")
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE")
SESSION_SAVE_EVERY_REQUEST = _env_bool("SESSION_SAVE_EVERY_REQUEST")

PEER_URL = os.environ.get("PEER_URL", "")
