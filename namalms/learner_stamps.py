"""A stamp per learner that changes with every change to what their pages show.

A learner page (module, course, dashboard, certificates) is drawn from the published content, a
few shared rows (the workshops) and the learner's own records: enrolments, progress, self-check
attempts, certificates, standings, workshop attendance, their account. The content already has
its stamp (:mod:`namalms.content_cache`). This module gives the rest theirs:

- ``learner_stamp`` holds one random number per learner, written in the transaction of every
  change to that learner's records;
- ``content_state.site_stamp`` changes with every change to the shared rows (and to the
  anonymous certificate records left by deleted accounts, which have no learner).

Nobody has to remember to write them: an ``after_flush`` hook on every session notes whose
records a flush touched, and ``before_commit`` writes the stamps – at the end of the
transaction, in the order of the user ids (``CHUNK`` ids per statement), so two transactions
never wait for each other's stamps in opposite order. Writes that bypass the ORM (the batched standings of
``certificates evaluate``) name their learners with :func:`note_changed`. When a flush touched
a learner row whose owner cannot be told (an unloaded ``user_id``), the site stamp changes
instead: every learner page is then drawn afresh once.

Stamps are random rather than counters, made like the content stamp (``content_cache.new_stamp``): a request may have seen a stamp
written by a transaction that then rolled back, and that stamp must never come back for
different records. The login of each request reads the three stamps with the user (see
:mod:`namalms.services.sessions`), so a page kept under them (:mod:`namalms.page_memo`) is known
to be current without a query of its own.
"""
from __future__ import annotations

from itertools import chain
from typing import Iterable

from sqlalchemy import BigInteger, event, literal, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from namalms.content_cache import new_stamp
from namalms.models import (
    Certificate, ContentState, Eligibility, Enrollment, LearnerStamp, ModuleProgress, NotificationOptOut,
    ProgressEvent, QuizAttempt, TrainerAssignment, User, Workshop, WorkshopAttendance,
)

# Rows that belong to one user (their ``user_id``) and appear on that user's pages.
LEARNER_MODELS = (Certificate, Eligibility, Enrollment, ModuleProgress, NotificationOptOut, ProgressEvent,
                  QuizAttempt, TrainerAssignment, WorkshopAttendance)
# Rows every learner's pages show.
SHARED_MODELS = (Workshop,)
CHUNK = 5000  # user ids per statement
_CHANGED = "namalms_learner_stamps"  # session.info: {"users": set of ids, "shared": bool}


def _pending(session: Session) -> dict:
    return session.info.setdefault(_CHANGED, {"users": set(), "shared": False})


def note_changed(session: Session, user_ids: Iterable[int]) -> None:
    """These learners' records were written outside the ORM: their stamps change at commit."""
    _pending(session)["users"].update(user_ids)


def _owners(instance) -> tuple[list[int], bool]:
    """The user ids a flushed row belongs to (old and new owner), and whether that is certain."""
    if isinstance(instance, User):
        return ([instance.id] if instance.id is not None else []), instance.id is not None
    history = sa_inspect(instance).attrs.user_id.history
    owners = [value for value in chain(history.added, history.unchanged, history.deleted) if value is not None]
    # A row whose user_id is None now and was never loaded otherwise: nobody's page shows it.
    return owners, bool(owners) or history.unchanged == [None] or None in history.added


@event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, flush_context) -> None:
    """Note whose records this flush wrote (the session still lists them as new/dirty/deleted)."""
    pending = None
    for instance in chain(session.new, session.dirty, session.deleted):
        if isinstance(instance, SHARED_MODELS):
            pending = pending or _pending(session)
            pending["shared"] = True
        elif isinstance(instance, (User, *LEARNER_MODELS)):
            if instance in session.dirty and not session.is_modified(instance):
                continue  # only touched (a relationship loaded), nothing written
            pending = pending or _pending(session)
            owners, certain = _owners(instance)
            pending["users"].update(owners)
            # Not knowing whose row it is – or an anonymous certificate record, which /verify
            # still shows: every page is drawn afresh once.
            if not certain or (isinstance(instance, Certificate) and not owners):
                pending["shared"] = True


@event.listens_for(Session, "before_commit")
def _write_stamps(session: Session) -> None:
    """Write the stamps of everything this transaction changed, as its last statements."""
    if not session.info.get(_CHANGED) and not (session.new or session.dirty or session.deleted):
        return
    session.flush()  # what is still pending is written now, so its owners are noted too
    pending = session.info.pop(_CHANGED, None)
    if not pending:
        return
    connection = session.connection()
    # One new stamp for all of them (the key of a page names its user), in ascending user ids,
    # CHUNK ids per statement (an evaluation of every learner commits 100,000 at once; PostgreSQL
    # takes at most 65,535 parameters). Only users that still exist: a deleted account's rows
    # went with it.
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    stamp, user_ids = new_stamp(), sorted(pending["users"])
    for start in range(0, len(user_ids), CHUNK):
        statement = dialect.insert(LearnerStamp).from_select(
            ["user_id", "stamp"], select(User.id, literal(stamp, BigInteger))
            .where(User.id.in_(user_ids[start:start + CHUNK])).order_by(User.id))
        connection.execute(statement.on_conflict_do_update(index_elements=[LearnerStamp.user_id],
                                                           set_={"stamp": statement.excluded.stamp}))
    if pending["shared"]:
        connection.execute(update(ContentState).where(ContentState.id == 1).values(site_stamp=new_stamp()))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGED, None)
