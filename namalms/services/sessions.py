"""Login sessions kept on the server, so that logging out really ends a login.

Decision (issue 12): one row per login (:class:`LoginSession`) instead of the former cookie value
``user id : session_version``. The browser keeps a random token – in the signed session cookie
and, with "angemeldet bleiben", in the remember cookie – and the database only its SHA-256.
Logging out deletes that one row: the old session cookie and the old remember cookie are
worthless from then on, while the same person's other devices stay logged in (raising
``session_version`` on logout would have logged them out everywhere). Ending *every* login –
deactivation, password reset – still raises ``User.session_version`` (each row carries the
version it was made with) and deletes the rows; a password change keeps only the current one.

A row expires on the server too: after ``REMEMBER_COOKIE_DURATION`` with "angemeldet bleiben",
otherwise after ``SESSION_MAX_HOURS`` whatever the cookie says. Checking a login only reads; nothing
is written per request.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_request_context, request
from sqlalchemy import bindparam, delete, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value

from namalms.extensions import db, single_read
from namalms.models import ContentState, LearnerStamp, LoginSession, User
from namalms.models.base import utcnow

TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 100


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def lifetime(remember: bool) -> timedelta:
    """How long a login lives on the server at most."""
    config = current_app.config
    if remember:
        return config.get("REMEMBER_COOKIE_DURATION") or timedelta(days=30)
    return timedelta(hours=config.get("SESSION_MAX_HOURS", 24))


def start(user: User, *, remember: bool, now: datetime | None = None) -> str:
    """Record a new login of ``user`` and return its token (put on ``user.login_token`` as well)."""
    now = now or utcnow()
    # Expired logins of this user are cleaned up here, where it costs nothing extra.
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.expires_at <= now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(LoginSession(user_id=user.id, token_hash=_hash(token), session_version=user.session_version,
                                is_remembered=remember, created_at=now, expires_at=now + lifetime(remember)))
    user.last_login_at = now
    db.session.flush()
    user.login_token = token
    return token


_USER_COLUMNS = tuple(User.__table__.columns)
_USER_ATTRIBUTES = tuple(User.__mapper__.get_property_by_column(column).key for column in _USER_COLUMNS)
_ACTIVE, _VERSION = _USER_ATTRIBUTES.index("is_active_account"), _USER_ATTRIBUTES.index("session_version")
_ROLE, _ID = _USER_ATTRIBUTES.index("role"), _USER_ATTRIBUTES.index("id")
# Built once: this runs on every logged-in request, and SQLAlchemy then reuses the compiled SQL.
# Plain columns, not the User entity: the row becomes a User below without the ORM's loading
# machinery, which cost more than the statement itself.
# The same row carries the three stamps a kept page is checked against (see
# :mod:`namalms.learner_stamps`): the learner's, the content's and the shared rows'.
USER_FOR_TOKEN = (select(LoginSession.expires_at, LoginSession.session_version, LearnerStamp.stamp,
                         ContentState.stamp, ContentState.site_stamp, *_USER_COLUMNS)
                  .join(User, User.id == LoginSession.user_id)
                  .outerjoin(LearnerStamp, LearnerStamp.user_id == LoginSession.user_id)
                  .outerjoin(ContentState, ContentState.id == 1)
                  .where(LoginSession.token_hash == bindparam("token_hash")))


def _attached_user(values) -> User:
    """The User of a row of ``_USER_COLUMNS`` in this session, as if the ORM had loaded it.

    The session's own instance when it has one already: what it holds wins, as with a query,
    and what it no longer holds (expired by a commit) is filled in from the row.
    """
    session = db.session()
    known = session.identity_map.get(session.identity_key(User, values[0]))
    if known is not None:
        unloaded = sa_inspect(known).unloaded
        for key, value in zip(_USER_ATTRIBUTES, values):
            if key in unloaded:
                set_committed_value(known, key, value)
        return known
    user = User.__mapper__.class_manager.new_instance()  # as the ORM makes one
    # A new instance has nothing loaded, changed or expired: its values go straight into its
    # dict, as the ORM's loading does (set_committed_value per column cost 10x as much).
    instance_state(user).dict.update(zip(_USER_ATTRIBUTES, values))
    make_transient_to_detached(user)
    session.add(user)
    return user


_CONTENT_STAMP, _USER_FROM = 3, 5  # places in a row of USER_FOR_TOKEN


@dataclass(frozen=True)
class Login:
    """A login that holds, as its one statement read it (see :func:`login_for`)."""

    row: tuple  # the whole row of USER_FOR_TOKEN: login, stamps, user (part of a kept page's key)

    @property
    def values(self) -> tuple:
        """The user's columns, in the order of _USER_COLUMNS."""
        return self.row[_USER_FROM:]

    @property
    def user_id(self) -> int:
        return self.row[_USER_FROM + _ID]

    @property
    def role(self) -> str:
        return self.row[_USER_FROM + _ROLE]

    @property
    def content_stamp(self) -> int | None:
        return self.row[_CONTENT_STAMP]


_LOGIN = "namalms.login"  # request.environ: (token, Login or None) as read in this request


def login_for(token: str | None, *, now: datetime | None = None) -> Login | None:
    """The login of this token if it holds (not logged out, expired or ended, the user active).

    Read once per request: a page kept by the process (namalms.page_memo) checks it before
    flask-login does, and the user loader then uses the same read.
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    environ = request.environ if now is None and has_request_context() else None
    if environ is not None and (known := environ.get(_LOGIN)) is not None and known[0] == token:
        return known[1]
    with single_read() as connection:  # outside the request's transaction: see single_read
        found = connection.execute(USER_FOR_TOKEN, {"token_hash": _hash(token)}).first()
    login = None
    if found is not None:
        expires_at, version, values = found[0], found[1], found[_USER_FROM:]
        if expires_at > (now or utcnow()) and values[_ACTIVE] and values[_VERSION] == version:
            login = Login(tuple(found))
    if environ is not None:
        environ[_LOGIN] = (token, login)
    return login


def _forget_login() -> None:
    """This request ended logins: what it read of them before no longer holds."""
    if has_request_context():
        request.environ.pop(_LOGIN, None)


def user_for(token: str | None, *, now: datetime | None = None) -> User | None:
    """The active user this login token belongs to, or None (logged out, expired, ended, unknown)."""
    login = login_for(token, now=now)
    if login is None:
        return None
    user = _attached_user(login.values)
    user.login_token = token
    return user


def end(token: str | None) -> None:
    """Log this one login out (logout button). Unknown tokens are fine: nothing to end."""
    _forget_login()
    if token and len(token) <= MAX_TOKEN_LENGTH:
        db.session.execute(delete(LoginSession).where(LoginSession.token_hash == _hash(token)))
        db.session.flush()


def end_all(user: User, *, keep: str | None = None) -> None:
    """End every login of ``user`` – all devices – except the one with token ``keep``."""
    _forget_login()
    user.session_version = (user.session_version or 1) + 1
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep:
        query = query.where(LoginSession.token_hash != _hash(keep))
        db.session.execute(query)
        db.session.execute(LoginSession.__table__.update().where(LoginSession.token_hash == _hash(keep))
                           .values(session_version=user.session_version))
    else:
        db.session.execute(query)
    db.session.flush()


def count_for(user: User, *, now: datetime | None = None) -> int:
    """How many logins of ``user`` are open now (for the profile page)."""
    now = now or utcnow()
    return len(db.session.scalars(select(LoginSession.id).where(
        LoginSession.user_id == user.id, LoginSession.expires_at > now,
        LoginSession.session_version == user.session_version)).all())


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete logins that have expired (run by the retention command); returns how many."""
    result = db.session.execute(delete(LoginSession).where(LoginSession.expires_at <= (now or utcnow())))
    return result.rowcount or 0
