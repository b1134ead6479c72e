"""API tokens for the programme office's own tooling: create, list, revoke, authenticate.

A token is shown exactly once, when it is created; the database keeps only its SHA-256 hash
and its first characters (to recognise it in lists). A request presents the token as
`Authorization: Bearer <token>`; its hash is looked up and compared in constant time.
Creating and revoking are audited.

Every token expires (at the end of the day chosen at creation, at most two years ahead), and a
token made by a person works only while that person is an active admin: deactivating them or
taking the office role away stops their tokens at once. Tokens made on the command line belong
to the installation's operators and depend on no account.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import select

from namalms import formatting
from namalms.extensions import db
from namalms.models import ApiToken, User
from namalms.models.base import utcnow
from namalms.services import ServiceError
from namalms.services.audit import record_audit

TOKEN_PREFIX = "nama_"
PREFIX_LENGTH = 12  # "nama_" and seven random characters: enough to tell tokens apart in a list
MAX_NAME = 200
MAX_TOKEN_LENGTH = 200  # anything longer is not one of ours; do not even hash it
TOUCH_INTERVAL = timedelta(minutes=1)
DEFAULT_DAYS = 365
MAX_DAYS = 2 * 365


def default_expiry(today: date | None = None) -> date:
    """The expiry date a new token gets unless another is chosen: one year from today."""
    return (today or formatting.to_local(utcnow()).date()) + timedelta(days=DEFAULT_DAYS)


def parse_expiry(value: str | date | None, *, today: date | None = None) -> date:
    """The last day a token works: tomorrow at the earliest, at most two years ahead."""
    today = today or formatting.to_local(utcnow()).date()
    if value is None or value == "":
        return default_expiry(today)
    if isinstance(value, str):
        try:
            value = formatting.parse_date(value)
        except ValueError:
            raise ServiceError("Bitte geben Sie das Ablaufdatum als TT.MM.JJJJ an, z. B. 31.12.2026.", "expires_on",
                               english="give the expiry date as YYYY-MM-DD") from None
    if value <= today:
        raise ServiceError("Das Ablaufdatum muss in der Zukunft liegen.", "expires_on",
                           english="the expiry date must lie in the future")
    if value > today + timedelta(days=MAX_DAYS):
        raise ServiceError("Ein API-Zugang gilt höchstens zwei Jahre; bitte wählen Sie ein früheres Ablaufdatum.",
                           "expires_on", english="a token may be valid for two years at most")
    return value


def hash_token(raw: str) -> str:
    """SHA-256 hex digest: the only form in which a token is stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh token: a recognisable prefix and 256 random bits (URL-safe)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(name: str, *, expires_on: str | date | None = None, actor: User | None = None,
                 actor_label: str = "") -> tuple[ApiToken, str]:
    """Create a token named `name`; returns the row and the token itself (show it once, never store it).

    The token works through ``expires_on`` (default: one year). A second active token of the
    same name is refused, so a double submit creates one token.
    """
    last_day = parse_expiry(expires_on)
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Bitte geben Sie dem API-Zugang einen Namen, z. B. das Werkzeug, das ihn nutzt.", "name",
                           english="the token needs a name")
    if len(name) > MAX_NAME:
        raise ServiceError(f"Der Name ist zu lang (höchstens {MAX_NAME} Zeichen).", "name",
                           english=f"the name is too long (at most {MAX_NAME} characters)")
    clash = db.session.scalar(select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None),
                                                        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > utcnow())))
    if clash is not None:
        raise ServiceError(f"Es gibt bereits einen aktiven API-Zugang „{name}“. Bitte wählen Sie einen "
                           "anderen Namen oder widerrufen Sie den alten Zugang zuerst.", "name",
                           english="an active token already has this name")
    raw = new_token()
    token = ApiToken(name=name, token_hash=hash_token(raw), prefix=raw[:PREFIX_LENGTH],
                     created_by_id=actor.id if actor else None, created_at=utcnow(),
                     expires_at=formatting.local_midnight(last_day + timedelta(days=1)))
    db.session.add(token)
    db.session.flush()
    record_audit("api_token_created", actor=actor, actor_label=actor_label, target_type="api_token",
                 target_id=str(token.id), data={"name": token.name, "prefix": token.prefix,
                                                "expires_on": last_day.isoformat()})
    db.session.flush()
    return token, raw


def revoke_token(token_id: int, *, actor: User | None = None, actor_label: str = "") -> ApiToken:
    """Revoke a token: from now on every request with it gets 401."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise ServiceError("Diesen API-Zugang gibt es nicht.", "id", english="no such token")
    if token.revoked_at is not None:
        raise ServiceError(f"Der API-Zugang „{token.name}“ ist bereits widerrufen.", "id",
                           english="the token is already revoked")
    token.revoked_at = utcnow()
    record_audit("api_token_revoked", actor=actor, actor_label=actor_label, target_type="api_token",
                 target_id=str(token.id), data={"name": token.name, "prefix": token.prefix})
    db.session.flush()
    return token


def find_token(token_id: int) -> ApiToken | None:
    return db.session.get(ApiToken, token_id)


def list_tokens() -> list[tuple[ApiToken, str | None, str]]:
    """Every token, newest first, with the name of the person who created it and its standing."""
    rows = db.session.execute(
        select(ApiToken, User.name, User.is_active_account, User.role).outerjoin(User, User.id == ApiToken.created_by_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [(token, name, standing(token, bool(active) and role == "admin")) for token, name, active, role in rows]


def authenticate(raw: str | None, *, now: datetime | None = None) -> ApiToken | None:
    """The working token `raw` stands for, or None: unknown, malformed, revoked, expired, or its
    creator is no longer an active admin."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(raw)
    row = db.session.execute(select(ApiToken, User).outerjoin(User, User.id == ApiToken.created_by_id)
                             .where(ApiToken.token_hash == digest)).first()
    token, creator = row if row is not None else (None, None)
    # The lookup finds the row by its hash; the comparison itself runs in constant time, and
    # an unknown token costs the same comparison, so timing tells an attacker nothing.
    stored = token.token_hash if token is not None else "0" * len(digest)
    if not hmac.compare_digest(stored, digest) or token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= (now or utcnow()):
        return None
    if token.created_by_id is not None and (creator is None or not creator.is_active_account
                                            or creator.role != "admin"):
        return None
    return token


def standing(token: ApiToken, creator_active_admin: bool) -> str:
    """active | revoked | expired | creator: what the token list says about a token."""
    if token.revoked_at is not None:
        return "revoked"
    if token.is_expired:
        return "expired"
    if token.created_by_id is not None and not creator_active_admin:
        return "creator"
    return "active"


def touch(token: ApiToken, *, now: datetime | None = None) -> bool:
    """Record the use of a token, at most once a minute (so busy tooling does not write on every call).

    Returns True when something changed and the caller should commit.
    """
    now = now or utcnow()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL:
        return False
    token.last_used_at = now
    return True
