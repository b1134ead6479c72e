"""Pausing Python's cycle collector while a batch job builds many short-lived objects.

Reading a batch of learners allocates hundreds of thousands of small objects (rows, dicts,
dataclasses, lists). Every few hundred allocations set off a collection, and the batch's
survivors set off full ones that walk every object of the process – measured, that was about
a fifth to a half of a 100,000-learner export or evaluation. These objects form no cycles, so
reference counting frees them anyway; the collector is only delayed, never skipped for good.

Pure Python: no Flask, no database.
"""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_paused_by_us = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cycle collector off inside the block (keep the block to one batch, not a whole run).

    Counted, so overlapping pauses of several threads end only when the last one does, and a
    collector that someone else turned off stays off.
    """
    global _pauses, _paused_by_us
    with _lock:
        _pauses += 1
        if _pauses == 1 and gc.isenabled():
            gc.disable()
            _paused_by_us = True
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _paused_by_us:
                _paused_by_us = False
                gc.enable()
