"""What a starting app server does before it answers: finish what a killed process left half-done."""
from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from namalms.services.publishing.files import complete_pending_writes, remove_stale_temporaries
from namalms.unit_of_work import unit_of_work

log = logging.getLogger(__name__)


def recover(app: Flask) -> None:
    """Write back content files whose revision was committed but whose file was not yet written,
    and remove temporary files of publications that never finished.

    A database that is not reachable (or not migrated yet) is logged, not fatal: the app starts
    and ``flask content sync`` does the same work later.
    """
    with app.app_context():
        try:
            with unit_of_work():
                written = complete_pending_writes()
        except SQLAlchemyError as error:
            log.warning("could not check for pending content write-backs: %s", error)
            written = []
        for path in written:
            log.warning("completed the write-back of %s after an interrupted publication", path)
        for path in remove_stale_temporaries():
            log.info("removed stale temporary file %s", path)
