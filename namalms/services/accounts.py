"""Accounts: registration, login checks, creating staff accounts."""
from __future__ import annotations

import re

from functools import cache

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from namalms.extensions import db
from namalms.models import ROLES, District, User
from namalms.models.base import utcnow
from namalms.services import ServiceError

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# scrypt: memory-hard, the current werkzeug default; spelled out so it never silently changes.
# The setting PASSWORD_HASH_METHOD may only lower it for the test suite (see config.Testing).
PASSWORD_METHOD = "scrypt"
COMMON_PASSWORDS = {
    "passwort123", "password123", "1234567890", "0123456789", "qwertzuiop", "qwertyuiop",
    "passwort1234", "password1234", "abcdefghij", "hallo12345", "sommer2026", "winter2026",
    "nachhaltigkeit", "einszweidrei",
}


def hash_method() -> str:
    return current_app.config.get("PASSWORD_HASH_METHOD") or PASSWORD_METHOD


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=hash_method())


@cache
def _dummy_hash(method: str) -> str:
    """A hash to check against for an unknown e-mail, so that attempt costs as much as a real one."""
    return generate_password_hash("namalms-dummy-password", method=method)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def password_problem(password: str, *, email: str = "", name: str = "", min_length: int = 10) -> str | None:
    """Why a password is too weak (German), or None when it is acceptable.

    Follows NIST SP 800-63B: length over composition rules, and no well-known or personal words.
    """
    if len(password) < min_length:
        return f"Das Passwort muss mindestens {min_length} Zeichen lang sein."
    if len(password) > 200:
        return "Das Passwort darf höchstens 200 Zeichen lang sein."
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(lowered)) < 4:
        return "Dieses Passwort ist zu leicht zu erraten. Bitte wählen Sie ein anderes."
    local_part = email.split("@")[0].lower()
    if (local_part and len(local_part) >= 4 and local_part in lowered) or (
        name and name.strip().lower() and name.strip().lower().replace(" ", "") in lowered.replace(" ", "")
    ):
        return "Das Passwort darf nicht Ihren Namen oder Ihre E-Mail-Adresse enthalten."
    return None


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def _check_new_account(email: str, name: str, password: str, min_length: int) -> str:
    email = normalise_email(email)
    if not name.strip():
        raise ServiceError("Bitte geben Sie Ihren Namen an.", "name", english="a name is required")
    if not EMAIL_PATTERN.match(email):
        raise ServiceError("Bitte geben Sie eine gültige E-Mail-Adresse an.", "email", english="invalid e-mail address")
    if problem := password_problem(password, email=email, name=name, min_length=min_length):
        raise ServiceError(problem, "password", english="password too weak (at least 10 characters, not a common "
                                                     "word, not your name or e-mail)")
    if db.session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise ServiceError(
            "Mit dieser E-Mail-Adresse gibt es bereits ein Konto. Bitte melden Sie sich an.", "email",
            english="an account with this e-mail address exists already")
    return email


def _insert_account(user: User) -> User:
    """Insert a new account; a concurrent registration with the same address loses cleanly.

    The check before only sees committed accounts: two requests with the same e-mail can pass it
    together, and the database's unique index decides. The loser gets the same German message
    as if it had come second, not an error page.
    """
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:
        raise ServiceError(
            "Mit dieser E-Mail-Adresse gibt es bereits ein Konto. Bitte melden Sie sich an.", "email",
            english="an account with this e-mail address exists already") from None
    return user


def _district(district_id: str | None) -> District:
    """The chosen Kreis or kreisfreie Stadt, or a German message for the form field."""
    district = db.session.get(District, district_id) if district_id else None
    if district is None:
        raise ServiceError("Bitte wählen Sie Ihren Kreis bzw. Ihre kreisfreie Stadt aus.", "district_id")
    return district


def _municipality(municipality: str) -> str:
    if not municipality.strip():
        raise ServiceError("Bitte geben Sie Ihre Kommune bzw. Institution an.", "municipality")
    return municipality.strip()


def register_learner(
    *, name: str, email: str, password: str, district_id: str, municipality: str, min_length: int = 10
) -> User:
    """Create a learner account; the region follows from the chosen Kreis or kreisfreie Stadt."""
    email = _check_new_account(email, name, password, min_length)
    district = _district(district_id)
    municipality = _municipality(municipality)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=hash_password(password),
        role="learner",
        district_id=district.id,
        region_id=district.region_id,
        municipality=municipality,
    )
    return _insert_account(user)


def create_user(
    *, email: str, name: str, role: str, password: str, district_id: str | None = None,
    municipality: str = "", min_length: int = 10, email_confirmed: bool = True,
) -> User:
    """Create an account of any role (CLI, programme office, demo data).

    Whoever creates an account this way vouches for its address, so it counts as confirmed;
    self-registration (:func:`register_learner`) starts unconfirmed.
    """
    if role not in ROLES:
        raise ServiceError(f"Unbekannte Rolle „{role}“. Erlaubt: {', '.join(ROLES)}.", "role", english="unknown role")
    email = _check_new_account(email, name, password, min_length)
    district = db.session.get(District, district_id) if district_id else None
    if district_id and district is None:
        raise ServiceError(f"Unbekannter Kreis bzw. unbekannte Stadt „{district_id}“.", "district_id",
                           english="unknown district id (see content/regions.yml)")
    user = User(
        email=email, name=name.strip(), role=role,
        password_hash=hash_password(password),
        district_id=district.id if district else None,
        region_id=district.region_id if district else None,
        municipality=municipality.strip(), email_confirmed_at=utcnow() if email_confirmed else None,
    )
    return _insert_account(user)


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is the account's password (re-authentication for sensitive changes)."""
    return check_password_hash(user.password_hash, password)


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None – without revealing which part was wrong."""
    user = find_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(hash_method()), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active_account:
        return None
    return user


def update_profile(user: User, *, name: str, district_id: str, municipality: str) -> list:
    """Change a learner's own details; a new region can make a certificate due at once.

    Returns certificates issued because of the change. Issued certificates keep the name they
    were issued with (their snapshot is frozen).
    """
    from namalms.services.audit import record_audit
    from namalms.services.certificates import evaluate_and_issue

    if not name.strip():
        raise ServiceError("Bitte geben Sie Ihren Namen an.", "name")
    district = _district(district_id)
    municipality = _municipality(municipality)
    old_region = user.region_id
    changes = {}
    for field, value in (("name", name.strip()), ("district_id", district.id), ("municipality", municipality)):
        if getattr(user, field) != value:
            changes[field] = {"from": getattr(user, field), "to": value}
            setattr(user, field, value)
    user.region_id = district.region_id
    if changes:
        record_audit("profile_changed", actor=user, target_type="user", target_id=str(user.id),
              subject_user_id=user.id, data=changes)
    db.session.flush()
    return evaluate_and_issue(user) if user.region_id != old_region else []
