"""Configuration: defaults, then instance/config.py, then environment variables.

Secrets never live in the code: the secret key comes from `NAMALMS_SECRET_KEY`,
`instance/config.py` or the file `instance/secret_key` that `make run` creates on first start.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Defaults:
    """Settings every installation starts from."""

    NAMALMS_ENV = "production"
    CONTENT_DIR = str(PROJECT_ROOT / "content")
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    # A browser session without "angemeldet bleiben" ends after a working day of inactivity.
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    PASSWORD_MIN_LENGTH = 10
    # None means scrypt (see services.accounts). Only the test suite lowers it, for speed.
    PASSWORD_HASH_METHOD = None


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written the usual way (`postgresql://…`)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def apply_environment(config: dict) -> None:
    """Let environment variables override file settings (12-factor style)."""
    if url := os.environ.get("NAMALMS_DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = url
    if key := os.environ.get("NAMALMS_SECRET_KEY"):
        config["SECRET_KEY"] = key
    if env := os.environ.get("NAMALMS_ENV"):
        config["NAMALMS_ENV"] = env
    if redis_url := os.environ.get("NAMALMS_REDIS_URL"):
        config["REDIS_URL"] = redis_url
    if base := os.environ.get("NAMALMS_PUBLIC_BASE_URL"):
        config["PUBLIC_BASE_URL"] = base
    if content := os.environ.get("NAMALMS_CONTENT_DIR"):
        config["CONTENT_DIR"] = content
    # Optional forwarding of xAPI statements to a learning record store (see namalms/lrs.py).
    for variable, key in (("NAMALMS_LRS_URL", "LRS_URL"), ("NAMALMS_LRS_USERNAME", "LRS_USERNAME"),
                          ("NAMALMS_LRS_PASSWORD", "LRS_PASSWORD")):
        if value := os.environ.get(variable):
            config[key] = value


def secret_key_file(instance_path: str) -> Path:
    return Path(instance_path) / "secret_key"


def ensure_secret_key_file(instance_path: str) -> Path:
    """Create `instance/secret_key` once (used by `make run`); never overwrite an existing key."""
    path = secret_key_file(instance_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path


def finish(config: dict, instance_path: str) -> None:
    """Fill derived settings and refuse to run insecurely outside development and testing."""
    if not config.get("SECRET_KEY"):
        key_file = secret_key_file(instance_path)
        if key_file.exists():
            config["SECRET_KEY"] = key_file.read_text().strip()
    is_relaxed = config.get("TESTING") or config.get("NAMALMS_ENV") == "development"
    if config.get("TESTING") and not config.get("PASSWORD_HASH_METHOD"):
        # One round instead of scrypt: a test creating and logging in a user costs 1 ms, not 0.5 s.
        # Production never runs with TESTING; a test proves it hashes with scrypt.
        config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:1"
    if not config.get("SECRET_KEY"):
        if not is_relaxed:
            raise RuntimeError(
                "No secret key configured. Set NAMALMS_SECRET_KEY, put SECRET_KEY into "
                "instance/config.py, or run `make run` once to create instance/secret_key."
            )
        config["SECRET_KEY"] = secrets.token_urlsafe(32)
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(instance_path) / "namalms.sqlite3")
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    options = config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Several gunicorn workers and test threads share one file: wait for locks
        # instead of failing at once.
        options.setdefault("connect_args", {"timeout": 30})
    else:
        options.setdefault("pool_pre_ping", True)
