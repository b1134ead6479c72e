"""API tokens for the programme office's own tooling: create, list, revoke, authenticate.

A token is shown exactly once, when it is created; the database keeps only its SHA-256 hash
and its first characters (to recognise it in lists). A request presents the token as
`Authorization: Bearer <token>`; its hash is looked up and compared in constant time.
Creating and revoking are audited.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

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


def hash_token(raw: str) -> str:
    """SHA-256 hex digest: the only form in which a token is stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh token: a recognisable prefix and 256 random bits (URL-safe)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(name: str, *, actor: User | None = None, actor_label: str = "") -> tuple[ApiToken, str]:
    """Create a token named `name`; returns the row and the token itself (show it once, never store it).

    A second active token of the same name is refused, so a double submit creates one token.
    """
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("Bitte geben Sie dem API-Zugang einen Namen, z. B. das Werkzeug, das ihn nutzt.", "name",
                           english="the token needs a name")
    if len(name) > MAX_NAME:
        raise ServiceError(f"Der Name ist zu lang (höchstens {MAX_NAME} Zeichen).", "name",
                           english=f"the name is too long (at most {MAX_NAME} characters)")
    clash = db.session.scalar(select(ApiToken.id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None)))
    if clash is not None:
        raise ServiceError(f"Es gibt bereits einen aktiven API-Zugang „{name}“. Bitte wählen Sie einen "
                           "anderen Namen oder widerrufen Sie den alten Zugang zuerst.", "name",
                           english="an active token already has this name")
    raw = new_token()
    token = ApiToken(name=name, token_hash=hash_token(raw), prefix=raw[:PREFIX_LENGTH],
                     created_by_id=actor.id if actor else None, created_at=utcnow())
    db.session.add(token)
    db.session.flush()
    record_audit("api_token_created", actor=actor, actor_label=actor_label, target_type="api_token",
                 target_id=str(token.id), data={"name": token.name, "prefix": token.prefix})
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


def list_tokens() -> list[tuple[ApiToken, str | None]]:
    """Every token, newest first, with the name of the person who created it."""
    return [tuple(row) for row in db.session.execute(
        select(ApiToken, User.name).outerjoin(User, User.id == ApiToken.created_by_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()))]


def authenticate(raw: str | None) -> ApiToken | None:
    """The active token `raw` stands for, or None (unknown, revoked or malformed)."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(raw)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup finds the row by its hash; the comparison itself runs in constant time, and
    # an unknown token costs the same comparison, so timing tells an attacker nothing.
    stored = token.token_hash if token is not None else "0" * len(digest)
    if not hmac.compare_digest(stored, digest) or token is None or token.revoked_at is not None:
        return None
    return token


def touch(token: ApiToken, *, now: datetime | None = None) -> bool:
    """Record the use of a token, at most once a minute (so busy tooling does not write on every call).

    Returns True when something changed and the caller should commit.
    """
    now = now or utcnow()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_INTERVAL:
        return False
    token.last_used_at = now
    return True
