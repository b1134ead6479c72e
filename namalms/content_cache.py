"""What each app process prepares once from the published content, and when it is stale.

Module pages, the programme's rules and the course structure change only when content is
published, synchronised, reordered or retired – a few times a week – but are read on every page
view. So every process keeps what it prepared from them, keyed by the *content stamp*: a random
number in the one row of ``content_state`` that changes in the same transaction as any change to
the content tables. Nobody has to remember to change it: an ``after_flush`` hook on every session
does it whenever a flush touched a content model. A process reads the stamp with one small query
(or as a column of a query it makes anyway) and rebuilds what it holds when the stamp differs.

The stamp is random rather than a counter: a request may prepare something from its own
uncommitted change, and if that transaction rolls back, the stamp it saw must never come back
for different content.

Only plain data (dataclasses, strings, ``Markup``) goes into the cache, never ORM objects: they
belong to one session. Each app has its own cache (``app.extensions``), so several apps in one
process (the test suite) never see each other's content.
"""
from __future__ import annotations

import secrets
import threading
from itertools import chain
from typing import Callable, TypeVar

from flask import Flask, current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from namalms.models import (
    Asset, CertificateDefinition, ContentRevision, ContentState, Course, District, Module, Region,
)

CONTENT_MODELS = (Asset, CertificateDefinition, ContentRevision, Course, District, Module, Region)
EXTENSION = "namalms_content_cache"
MAX_ENTRIES = 2000  # prepared module pages and the like; far more than the programme has

T = TypeVar("T")

STAMP_QUERY = select(ContentState.stamp).where(ContentState.id == 1)
_SEEN = "namalms_content_stamp"  # session.info: (transaction, stamp) read in that transaction


def new_stamp() -> int:
    return secrets.randbits(62)


@event.listens_for(Session, "after_flush")
def _stamp_content_changes(session: Session, flush_context) -> None:
    """A flush that wrote a content model also writes a new stamp, in the same transaction."""
    # In after_flush the session still lists what this flush wrote as new, dirty and deleted.
    if any(isinstance(instance, CONTENT_MODELS) for instance in chain(session.new, session.dirty, session.deleted)):
        stamp = new_stamp()
        session.connection().execute(update(ContentState).where(ContentState.id == 1).values(stamp=stamp))
        session.info[_SEEN] = (session.get_transaction(), stamp)


class ContentCache:
    """Prepared content of one app, valid for one stamp."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._entries: dict = {}

    def get(self, stamp: int | None, key, build: Callable[[], T]) -> T:
        """The entry for ``key`` prepared under ``stamp``, built now if there is none.

        Without a stamp (a database from before the stamp existed) nothing is kept.
        """
        if stamp is None:
            return build()
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._entries = stamp, {}
            if key in self._entries:
                return self._entries[key]
        value = build()  # outside the lock: building may query; two threads may build, both right
        with self._lock:
            if stamp == self._stamp and len(self._entries) < MAX_ENTRIES:
                self._entries[key] = value
        return value


def cache() -> ContentCache:
    return current_app.extensions[EXTENSION]


def current_stamp() -> int | None:
    """The content stamp as this transaction sees it: read once per transaction (one single-row
    read), and known without reading after this transaction changed the content itself."""
    from namalms.extensions import db

    session = db.session()
    seen = session.info.get(_SEEN)
    transaction = session.get_transaction()
    if seen is not None and transaction is not None and seen[0] is transaction:
        return seen[1]
    stamp = session.scalar(STAMP_QUERY)
    session.info[_SEEN] = (session.get_transaction(), stamp)
    return stamp


def prepared(key, build: Callable[[], T], *, stamp: int | None = None) -> T:
    """``build()`` once per content state and process; ``stamp`` when the caller already read it."""
    return cache().get(current_stamp() if stamp is None else stamp, key, build)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = ContentCache()
