"""The account life cycle around e-mail: confirm the address, forgotten password, change password
and address, and what the office may trigger for someone.

Links are signed with itsdangerous (a salt per purpose, so a reset link is never a confirmation
link), expire (``CONFIRM_LINK_HOURS``, ``RESET_LINK_HOURS``) and work only once: each carries a
fingerprint of what using it changes – the confirmation state, the password hash, the address –
so the same link finds a different fingerprint afterwards. A password change therefore also
kills pending reset and address-change links, and an address change kills links sent to the old
address. No table is needed for that.

Like every service this flushes and never commits; mail is queued in the same unit of work.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from namalms.extensions import db
from namalms.links import external_url
from namalms.models import User
from namalms.models.base import utcnow
from namalms.services import ServiceError
from namalms.services import mail, sessions
from namalms.services.accounts import (
    EMAIL_PATTERN, check_password, hash_password, normalise_email, password_problem, register_learner,
)
from namalms.services.audit import record_audit

CONFIRM = "confirm-email"
RESET = "reset-password"
CHANGE_EMAIL = "change-email"


class LinkInvalid(ServiceError):
    """A link that is broken, expired or already used; ``expired`` tells the two apart for the page."""

    def __init__(self, message: str, *, expired: bool = False):
        super().__init__(message, english="the link is invalid, expired or was already used")
        self.expired = expired


# --- signed, expiring, single-use links --------------------------------------------------------------

def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"namalms.{purpose}")


def _fingerprint(purpose: str, user: User) -> str:
    """What using the link changes: after the change the fingerprint differs, so the link is spent."""
    if purpose == CONFIRM:
        state = f"{user.email}|{user.email_confirmed_at is not None}"
    else:  # RESET, CHANGE_EMAIL: a new password or a new address spends them
        state = f"{user.email}|{user.password_hash}"
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, f"{purpose}|{user.id}|{state}".encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def make_link_token(purpose: str, user: User, **extra) -> str:
    """A signed token for ``purpose`` (the link's last path segment)."""
    return _serializer(purpose).dumps({"u": user.id, "f": _fingerprint(purpose, user), **extra})


def _hours(purpose: str) -> int:
    return current_app.config["RESET_LINK_HOURS" if purpose == RESET else "CONFIRM_LINK_HOURS"]


def read_link_token(purpose: str, token: str) -> tuple[User, dict]:
    """The user a token was made for and its payload; LinkInvalid when expired, broken or spent."""
    try:
        payload = _serializer(purpose).loads(token or "", max_age=_hours(purpose) * 3600)
    except SignatureExpired:
        raise LinkInvalid("Dieser Link ist abgelaufen. Bitte fordern Sie einen neuen an.", expired=True) from None
    except BadSignature:
        raise LinkInvalid("Dieser Link ist ungültig. Bitte prüfen Sie, ob er vollständig kopiert wurde.") from None
    user = db.session.get(User, payload.get("u")) if isinstance(payload, dict) and isinstance(payload.get("u"), int) \
        else None
    if user is None or not user.is_active_account:
        raise LinkInvalid("Dieser Link ist ungültig.")
    if not hmac.compare_digest(str(payload.get("f", "")), _fingerprint(purpose, user)):
        raise LinkInvalid("Dieser Link wurde bereits verwendet oder durch eine neuere Änderung ungültig.")
    return user, payload


# --- registration and confirmation -------------------------------------------------------------------

def register(*, name: str, email: str, password: str, district_id: str, municipality: str,
             min_length: int = 10) -> User:
    """Create a learner account (unconfirmed) and mail the confirmation link in the same unit of work."""
    user = register_learner(name=name, email=email, password=password, district_id=district_id,
                            municipality=municipality, min_length=min_length)
    send_confirmation(user)
    return user


def send_confirmation(user: User, *, actor: User | None = None) -> bool:
    """Mail a (new) confirmation link; False when the address is already confirmed."""
    if user.is_email_confirmed:
        return False
    hours = _hours(CONFIRM)
    mail.queue_mail("confirm_registration", to=user.email, name=user.name, user=user,
                    subject="Bitte bestätigen Sie Ihre E-Mail-Adresse – NaMa NRW Lernplattform",
                    template="confirm_registration", context={
                        "link": external_url("auth.confirm_email", token=make_link_token(CONFIRM, user)),
                        "hours": hours,
                        "retention_days": current_app.config.get("RETENTION_UNCONFIRMED_DAYS", 30)})
    if actor is not None:
        record_audit("confirmation_resent", actor=actor, target_type="user", target_id=str(user.id),
                     subject_user_id=user.id)
    db.session.flush()
    return True


def confirm_email(token: str) -> tuple[User, list]:
    """Confirm the address a registration link was sent to; issue every certificate earned so far.

    Returns (user, certificates issued now). A second click finds the address confirmed and
    changes nothing.
    """
    from namalms.services.progress import progress_changed  # imported here: progress imports accounts

    user, _ = read_link_token(CONFIRM, token)  # a confirmed address changed the fingerprint: spent
    return user, _mark_confirmed(user, progress_changed)


def _mark_confirmed(user: User, progress_changed) -> list:
    from namalms.models import Certificate

    user.email_confirmed_at = utcnow()
    record_audit("email_confirmed", actor=user, target_type="user", target_id=str(user.id), subject_user_id=user.id)
    db.session.flush()
    before = set(db.session.scalars(select(Certificate.id).where(Certificate.user_id == user.id)))
    progress_changed(user)
    return [c for c in db.session.scalars(select(Certificate).where(Certificate.user_id == user.id))
            if c.id not in before]


# --- forgotten password -------------------------------------------------------------------------------

def request_password_reset(email: str, *, actor: User | None = None) -> None:
    """Mail a reset link if an active account has this address; otherwise do nothing, silently.

    The caller answers the same either way, so nobody learns whether an address is registered.
    """
    user = db.session.scalar(select(User).where(User.email == normalise_email(email or "")))
    if user is None or not user.is_active_account:
        return
    send_password_reset(user, actor=actor)


def send_password_reset(user: User, *, actor: User | None = None) -> None:
    """Mail ``user`` a link to set a new password (``actor``: the office triggered it)."""
    hours = _hours(RESET)
    mail.queue_mail("password_reset", to=user.email, name=user.name, user=user,
                    subject="Neues Passwort festlegen – NaMa NRW Lernplattform", template="password_reset",
                    context={"link": external_url("auth.reset_password", token=make_link_token(RESET, user)),
                             "minutes": hours * 60, "by_office": actor is not None})
    if actor is not None:
        record_audit("password_reset_sent", actor=actor, target_type="user", target_id=str(user.id),
                     subject_user_id=user.id)
    db.session.flush()


def check_reset_link(token: str) -> User:
    """The account a reset link belongs to (to show the form), or LinkInvalid."""
    user, _ = read_link_token(RESET, token)
    return user


def reset_password(token: str, password: str, *, min_length: int = 10) -> User:
    """Set a new password through a reset link: every login on every device ends.

    Using the link also proves the address works, so an unconfirmed address counts as confirmed
    from now on (and certificates earned so far are issued).
    """
    from namalms.services.progress import progress_changed

    user, _ = read_link_token(RESET, token)
    _set_password(user, password, min_length=min_length)
    sessions.end_all(user)
    record_audit("password_reset", actor=user, target_type="user", target_id=str(user.id), subject_user_id=user.id)
    _notify_password_changed(user, others_ended=True)
    if not user.is_email_confirmed:
        _mark_confirmed(user, progress_changed)
    db.session.flush()
    return user


def _set_password(user: User, password: str, *, min_length: int) -> None:
    if problem := password_problem(password, email=user.email, name=user.name, min_length=min_length):
        raise ServiceError(problem, "password", english="password too weak")
    user.password_hash = hash_password(password)


def _notify_password_changed(user: User, *, others_ended: bool) -> None:
    mail.queue_mail("password_changed", to=user.email, name=user.name, user=user,
                    subject="Ihr Passwort wurde geändert – NaMa NRW Lernplattform", template="password_changed",
                    context={"others_ended": others_ended, "forgot_url": external_url("auth.forgot_password")})


# --- changes by the account holder --------------------------------------------------------------------

def _require_password(user: User, password: str) -> None:
    if not check_password(user, password or ""):
        raise ServiceError("Das aktuelle Passwort stimmt nicht.", "current_password",
                           english="the current password is wrong")


def change_password(user: User, *, current: str, new: str, keep_session: str | None,
                    min_length: int = 10) -> None:
    """Change one's own password (the current one is required); other logins end, this one stays."""
    _require_password(user, current)
    if current == new:
        raise ServiceError("Das neue Passwort muss sich vom bisherigen unterscheiden.", "password")
    _set_password(user, new, min_length=min_length)
    sessions.end_all(user, keep=keep_session)
    record_audit("password_changed", actor=user, target_type="user", target_id=str(user.id), subject_user_id=user.id)
    _notify_password_changed(user, others_ended=True)
    db.session.flush()


def request_email_change(user: User, *, new_email: str, password: str) -> str:
    """Ask to use another address: a link goes to the new one, a notice to the old one.

    The address changes only when the link is opened. Returns the normalised new address.
    """
    _require_password(user, password)
    new_email = normalise_email(new_email or "")
    if not EMAIL_PATTERN.match(new_email) or len(new_email) > 254:
        raise ServiceError("Bitte geben Sie eine gültige E-Mail-Adresse an.", "new_email", english="invalid address")
    if new_email == user.email:
        raise ServiceError("Das ist bereits Ihre E-Mail-Adresse.", "new_email", english="this is the current address")
    if _address_taken(new_email, user):
        raise ServiceError("Mit dieser E-Mail-Adresse gibt es bereits ein Konto.", "new_email",
                           english="another account uses this address")
    hours = _hours(CHANGE_EMAIL)
    link = external_url("auth.confirm_email_change", token=make_link_token(CHANGE_EMAIL, user, e=new_email))
    mail.queue_mail("email_change_confirm", to=new_email, name=user.name, user=user,
                    subject="Neue E-Mail-Adresse bestätigen – NaMa NRW Lernplattform",
                    template="email_change_confirm", context={"link": link, "hours": hours, "new_email": new_email})
    mail.queue_mail("email_change_notice", to=user.email, name=user.name, user=user,
                    subject="Änderung Ihrer E-Mail-Adresse beantragt – NaMa NRW Lernplattform",
                    template="email_change_notice",
                    context={"new_email": new_email, "forgot_url": external_url("auth.forgot_password")})
    db.session.flush()
    return new_email


def _address_taken(email: str, user: User) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)
                                  .where(User.email == email, User.id != user.id)))


def confirm_email_change(token: str) -> User:
    """Switch to the new address the link was sent to (which counts as confirmed from now on)."""
    from namalms.services.progress import progress_changed

    user, payload = read_link_token(CHANGE_EMAIL, token)
    new_email = normalise_email(str(payload.get("e", "")))
    if not EMAIL_PATTERN.match(new_email):
        raise LinkInvalid("Dieser Link ist ungültig.")
    if _address_taken(new_email, user):
        raise ServiceError("Mit dieser E-Mail-Adresse gibt es inzwischen ein anderes Konto; die Änderung ist "
                           "nicht möglich.", english="another account uses this address now")
    old = user.email
    user.email = new_email
    was_confirmed = user.is_email_confirmed
    user.email_confirmed_at = utcnow()
    record_audit("email_changed", actor=user, target_type="user", target_id=str(user.id), subject_user_id=user.id,
                 data={"from": old, "to": new_email})
    db.session.flush()
    if not was_confirmed:
        progress_changed(user)
    return user


@dataclass(frozen=True)
class AccountState:
    """What the profile page says about the account: address state and open logins."""

    is_confirmed: bool
    logins: int


def account_state(user: User) -> AccountState:
    """Whether the address is confirmed and how many logins are open (for the account page)."""
    return AccountState(user.is_email_confirmed, sessions.count_for(user))
