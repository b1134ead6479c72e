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
    # The session cookie is sent again only when it changed, or at most once per this many
    # seconds of activity to move its expiry on (see web.renew_session) – not on every response.
    SESSION_REFRESH_EACH_REQUEST = False
    SESSION_RENEW_AFTER_S = 3600
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 20 * 1024 * 1024
    PASSWORD_MIN_LENGTH = 10
    # None means scrypt (see services.accounts). Only the test suite lowers it, for speed.
    PASSWORD_HASH_METHOD = None
    # --- accounts, e-mail, throttling, data protection (see namalms/services/mail.py, sessions.py,
    # ratelimit.py, privacy.py). All can be set in instance/config.py; the NAMALMS_* variables in
    # ENVIRONMENT below override them.
    # Outgoing mail: smtp://user:pass@host:587 (STARTTLS), smtps://user:pass@host:465, or empty for
    # the built-in outbox: .eml files in instance/outbox/, their links in the log (`make run`).
    MAIL_URL = ""
    MAIL_FROM = ""  # empty: "NaMa NRW Lernplattform <no-reply@HOST of PUBLIC_BASE_URL>"
    MAIL_REPLY_TO = ""  # e.g. the programme office's address
    MAIL_TIMEOUT = 10  # seconds for one SMTP connection
    MAIL_SEND_AFTER_COMMIT = True  # False: only `flask mail send-queued` sends
    MAIL_GIVE_UP_HOURS = 48  # a message still not delivered then is marked failed for the office
    MAIL_KEEP_DAYS = 90  # sent and failed messages are forgotten after this many days
    CONFIRM_LINK_HOURS = 24
    RESET_LINK_HOURS = 1
    # A browser login without "angemeldet bleiben" ends on the server at the latest after this.
    SESSION_MAX_HOURS = 24
    # Throttling (Flask-Limiter notation "N per M minutes"); counters live in Redis when REDIS_URL is set.
    LOGIN_LIMIT_PER_ACCOUNT = "10 per 15 minutes"  # failed logins for one e-mail address
    LOGIN_LIMIT_PER_ADDRESS = "30 per 15 minutes"  # failed logins from one client address
    REGISTER_LIMIT = "10 per hour"
    RESET_LIMIT_PER_ADDRESS = "10 per hour"
    RESET_LIMIT_PER_ACCOUNT = "3 per hour"
    CONFIRM_RESEND_LIMIT = "5 per hour"
    VERIFY_RATE_LIMIT = "30 per minute"
    # Retention (DSGVO): see `flask accounts purge-inactive` and the Datenschutzerklärung.
    RETENTION_INACTIVE_MONTHS = 36
    RETENTION_UNCONFIRMED_DAYS = 30
    # HTTPS: None means "yes when PUBLIC_BASE_URL starts with https://". Then cookies are Secure
    # and HSTS is sent.
    HTTPS = None
    HSTS_SECONDS = 365 * 24 * 3600
    # Learner and verification pages each app process keeps while nothing they show changed
    # (namalms.page_memo), in bytes of HTML/PDF; 0 keeps none.
    PAGE_MEMO_BYTES = 32 * 1024 * 1024
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted. None means one
    # behind HTTPS (the app never terminates TLS itself) and none otherwise.
    PROXY_HOPS = None
    # A database that hangs must not hang the site: connecting gives up after this many seconds
    # (PostgreSQL's minimum is 2), a statement after DATABASE_STATEMENT_TIMEOUT seconds, and SQLite
    # waits at most DATABASE_BUSY_TIMEOUT seconds for another writer. The page then says 503.
    DATABASE_CONNECT_TIMEOUT = 2
    DATABASE_STATEMENT_TIMEOUT = 15
    DATABASE_BUSY_TIMEOUT = 10
    # The check of an uploaded or edited module (it renders Markdown) is stopped after this long.
    CONTENT_CHECK_TIMEOUT = 20
    # /healthz answers within this many seconds, whatever the database does.
    HEALTH_CHECK_TIMEOUT = 1.5
    # "json" (one line per event, for production) or "text"; None: json outside development.
    LOG_FORMAT = None


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
    for name, key, convert in ENVIRONMENT:
        if (value := os.environ.get(name)) is not None and value != "":
            try:
                config[key] = convert(value)
            except ValueError:
                raise RuntimeError(f"{name} must be a number, not {value!r}") from None


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "ja", "on")


# Further NAMALMS_* variables: (variable, setting, conversion).
ENVIRONMENT = [
    ("NAMALMS_MAIL_URL", "MAIL_URL", str),
    ("NAMALMS_MAIL_FROM", "MAIL_FROM", str),
    ("NAMALMS_MAIL_REPLY_TO", "MAIL_REPLY_TO", str),
    ("NAMALMS_HTTPS", "HTTPS", _flag),
    ("NAMALMS_PROXY_HOPS", "PROXY_HOPS", int),
    ("NAMALMS_TRUSTED_PROXIES", "PROXY_HOPS", int),  # the same setting under its older name
    ("NAMALMS_RETENTION_INACTIVE_MONTHS", "RETENTION_INACTIVE_MONTHS", int),
    ("NAMALMS_RETENTION_UNCONFIRMED_DAYS", "RETENTION_UNCONFIRMED_DAYS", int),
    # Optional forwarding of xAPI statements to a learning record store (see namalms/lrs.py).
    ("NAMALMS_LRS_URL", "LRS_URL", str),
    ("NAMALMS_LRS_USERNAME", "LRS_USERNAME", str),
    ("NAMALMS_LRS_PASSWORD", "LRS_PASSWORD", str),
    # Operations: the signing key ring, log format, database timeouts (see Defaults).
    ("NAMALMS_SIGNING_KEY_FILE", "SIGNING_KEY_FILE", str),
    ("NAMALMS_LOG_FORMAT", "LOG_FORMAT", str),
    ("NAMALMS_DB_CONNECT_TIMEOUT", "DATABASE_CONNECT_TIMEOUT", float),
    ("NAMALMS_DB_STATEMENT_TIMEOUT", "DATABASE_STATEMENT_TIMEOUT", float),
    ("NAMALMS_DB_BUSY_TIMEOUT", "DATABASE_BUSY_TIMEOUT", float),
]


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
    _finish_https(config)
    _check_mail_url(config, instance_path)
    options = config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    connect_args = options.setdefault("connect_args", {})
    if config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # Several gunicorn workers and test threads share one file: wait a while for another
        # writer's lock instead of failing at once (sqlite3 sets SQLite's busy timeout from it).
        connect_args.setdefault("timeout", float(_setting(config, "DATABASE_BUSY_TIMEOUT")))
        create_private_sqlite_file(config["SQLALCHEMY_DATABASE_URI"])
    else:
        options.setdefault("pool_pre_ping", True)
        options.setdefault("pool_timeout", max(1.0, float(_setting(config, "DATABASE_CONNECT_TIMEOUT"))))
        if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            connect_args.setdefault("connect_timeout", max(2, round(float(_setting(config, "DATABASE_CONNECT_TIMEOUT")))))
            statement_ms = int(float(_setting(config, "DATABASE_STATEMENT_TIMEOUT")) * 1000)
            connect_args.setdefault("options", f"-c statement_timeout={statement_ms}")


def _finish_https(config: dict) -> None:
    """Behind HTTPS: Secure cookies, https external URLs, one trusted proxy hop by default."""
    if config.get("HTTPS") is None:
        config["HTTPS"] = str(config.get("PUBLIC_BASE_URL") or "").lower().startswith("https://")
    if config["HTTPS"]:
        config["SESSION_COOKIE_SECURE"] = True
        config["REMEMBER_COOKIE_SECURE"] = True
        config["PREFERRED_URL_SCHEME"] = "https"
    if config.get("PROXY_HOPS") is None:
        config["PROXY_HOPS"] = 1 if config["HTTPS"] else 0


def _check_mail_url(config: dict, instance_path: str) -> None:
    """A mail URL the app cannot use stops the start with the reason, not the first registration."""
    from namalms.formats.mail_message import MailUrlError, parse_mail_url

    try:
        parse_mail_url(config.get("MAIL_URL", ""), default_outbox=str(Path(instance_path) / "outbox"))
    except MailUrlError as error:
        raise RuntimeError(f"NAMALMS_MAIL_URL / MAIL_URL cannot be used: {error}") from None


def _setting(config: dict, name: str):
    """A setting from ``config``, else its default (``finish`` also runs on plain dicts)."""
    return config.get(name, getattr(Defaults, name))


def create_private_sqlite_file(uri: str) -> None:
    """Create a new SQLite database file readable by its owner only (0600).

    SQLite would create it with the process umask (usually world-readable); its journal files
    inherit the mode of the database file. An existing file is left as it is.
    """
    from sqlalchemy.engine import make_url

    database = make_url(uri).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
