"""The programme office administers accounts: roles, deactivation, new trainer accounts (all
audited), and the account list it works from.

Self-service for one's own account (registration, login, profile) is in
:mod:`namalms.services.accounts`.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from namalms.extensions import db
from namalms.models import ROLES, AuditEvent, Certificate, Enrollment, Region, User
from namalms.pagination import Page, paginate
from namalms.services import ServiceError
from namalms.services.accounts import create_user, find_user_by_email, password_problem
from namalms.services.audit import record_audit

# No 0/O, 1/l/I: an initial password is read off a screen and typed in by someone else.
PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def generate_password(groups: int = 4, size: int = 4, *, email: str = "", name: str = "",
                      min_length: int = 10) -> str:
    """A random initial password like "k7Hm-Qx4p-Z9rt-b3Fw" (about 95 bits), easy to copy by hand.

    It must pass the very policy it is checked against (``password_problem``), which refuses a
    password containing the person's name: for a trainer named "T" most random passwords do.
    So candidates are drawn until one passes (a few draws at most), with enough groups for the
    configured minimum length.
    """
    groups = max(groups, -(-(min_length + 1) // (size + 1)))
    while True:
        candidate = "-".join("".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(size)) for _ in range(groups))
        if password_problem(candidate, email=email, name=name, min_length=min_length) is None:
            return candidate


def _audit(action: str, user: User, *, actor: User, reason: str = "", data: dict | None = None) -> None:
    record_audit(action, actor=actor, reason=(reason or "").strip(), target_type="user", target_id=str(user.id),
                 subject_user_id=user.id, data=data)


def change_role(user: User, role: str, *, actor: User, reason: str = "") -> bool:
    """Give an account another role. Returns False when it already had that role.

    An admin cannot take the office role from themselves, so the office never locks itself out.
    """
    if role not in ROLES:
        raise ServiceError("Bitte wählen Sie eine der angebotenen Rollen.", "role")
    if user.id == actor.id and role != "admin":
        raise ServiceError("Sie können sich nicht selbst die Rolle Programmbüro entziehen. "
                           "Bitten Sie eine andere Person aus dem Programmbüro darum.", "role")
    if user.role == role:
        return False
    old = user.role
    user.role = role
    _audit("user_role_changed", user, actor=actor, reason=reason, data={"from": old, "to": role})
    db.session.flush()
    return True


def deactivate_user(user: User, *, actor: User, reason: str = "") -> bool:
    """Block an account and end all its sessions at once. Returns False when it was already blocked.

    Raising session_version invalidates every login cookie of the account (see User.get_id).
    """
    if user.id == actor.id:
        raise ServiceError("Sie können Ihr eigenes Konto nicht deaktivieren.")
    if not user.is_active_account:
        return False
    user.is_active_account = False
    user.session_version = (user.session_version or 1) + 1
    _audit("user_deactivated", user, actor=actor, reason=reason)
    db.session.flush()
    return True


def reactivate_user(user: User, *, actor: User, reason: str = "") -> bool:
    """Let a deactivated account log in again. Returns False when it was active."""
    if user.is_active_account:
        return False
    user.is_active_account = True
    _audit("user_reactivated", user, actor=actor, reason=reason)
    db.session.flush()
    return True


def create_trainer(*, name: str, email: str, actor: User, password: str = "",
                   min_length: int = 10) -> tuple[User, str | None]:
    """Create a trainer account. Without a password one is generated and returned (to show once).

    Returns (user, generated password or None when the office entered one).
    """
    # The shared account checks speak to someone registering themselves; say it for the office here.
    if not name.strip():
        raise ServiceError("Bitte geben Sie den Namen der Trainerin bzw. des Trainers an.", "name")
    if find_user_by_email(email) is not None:
        raise ServiceError("Mit dieser E-Mail-Adresse gibt es bereits ein Konto. Ändern Sie dort "
                           "gegebenenfalls die Rolle.", "email")
    generated = None if password else generate_password(email=email, name=name, min_length=min_length)
    user = create_user(email=email, name=name, role="trainer", password=password or generated,
                       min_length=min_length)
    _audit("user_created", user, actor=actor,
           data={"role": "trainer", "email": user.email, "password": "generated" if generated else "entered"})
    db.session.flush()
    return user, generated


# --- reading ---------------------------------------------------------------------------------------

STATES = {"active": "aktiv", "inactive": "deaktiviert"}
MAX_SEARCH = 200


@dataclass(frozen=True)
class AccountFilters:
    """How the office narrows the account list: a search text, a role, a state."""

    search: str = ""
    role: str = ""
    state: str = ""

    @classmethod
    def from_args(cls, args) -> AccountFilters:
        role = args.get("role", "")
        state = args.get("state", "")
        return cls((args.get("q") or "").strip()[:MAX_SEARCH], role if role in ROLES else "",
                   state if state in STATES else "")

    def query_args(self) -> dict[str, str]:
        values = {"q": self.search, "role": self.role, "state": self.state}
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class AccountList:
    """One page of accounts with what the list shows beside them."""

    users: Page[User]
    regions: dict[str, str]
    enrolments: dict[int, int]
    role_counts: dict[str, int]


def account_list(filters: AccountFilters, *, page: int = 1) -> AccountList:
    """Accounts sorted by name, filtered; the page and its side facts in five statements."""
    query = select(User).order_by(User.name, User.id)
    if filters.search:
        like = f"%{filters.search.lower()}%"
        query = query.where(or_(func.lower(User.name).like(like), User.email.like(like),
                                func.lower(User.municipality).like(like)))
    if filters.role:
        query = query.where(User.role == filters.role)
    if filters.state:
        query = query.where(User.is_active_account.is_(filters.state == "active"))
    users = paginate(query, page)
    regions = {r.id: r.name for r in db.session.scalars(select(Region))}
    enrolments = dict(db.session.execute(
        select(Enrollment.user_id, func.count()).where(Enrollment.user_id.in_([u.id for u in users]))
        .group_by(Enrollment.user_id)).all()) if users.items else {}
    role_counts = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
    return AccountList(users, regions, enrolments, role_counts)


@dataclass(frozen=True)
class AccountDetail:
    """One account for the office: its recent account events and how many valid certificates it holds."""

    events: list[AuditEvent]
    valid_certificates: int


def account_detail(user: User, *, events: int = 20) -> AccountDetail:
    recent = list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_user_id == user.id, AuditEvent.target_type == "user")
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(events)))
    valid = db.session.scalar(select(func.count(Certificate.id)).where(
        Certificate.user_id == user.id, Certificate.current_marker.is_(True), Certificate.status == "valid")) or 0
    return AccountDetail(recent, valid)
