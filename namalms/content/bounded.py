"""Run the content check with a deadline, in a child process that is killed when it runs over.

Rendering Markdown costs far more than linear time for some shapes of text, whatever their size:
3 KB of nested quote markers take 9 s, 1,500 lines of ever deeper list items more than a
minute (Python-Markdown's block parser). A size limit cannot catch that, and Python cannot stop
a running function from the outside. So the check of an uploaded or edited module runs in a
child process forked from a small server process (``forkserver``: no threads or database
connections of the app server are copied) and is killed at the deadline; the trainer gets a
German problem instead of a worker tied up for minutes.

Pure Python: no Flask, no database.
"""
from __future__ import annotations

import multiprocessing
import threading
import traceback
from typing import Any, Callable

_lock = threading.Lock()
_context = None


class TooSlow(Exception):
    """The function did not finish before its deadline (its process was killed)."""


class ChildFailed(Exception):
    """The function raised in the child process; the message carries its traceback."""


def _get_context():
    global _context
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            # The server imports the content code once; each check is then a cheap fork of it.
            context.set_forkserver_preload(["namalms.content.loader"])
            _context = context
    return _context


def _child(connection, function: Callable, args: tuple) -> None:
    try:
        connection.send(("ok", function(*args)))
    except BaseException:  # noqa: BLE001 - report everything to the parent
        connection.send(("error", traceback.format_exc()))
    finally:
        connection.close()


def run_with_deadline(function: Callable, *args: Any, seconds: float) -> Any:
    """``function(*args)`` computed in a child process; ``TooSlow`` if it takes over ``seconds``.

    ``function`` must be importable by name and its arguments and result picklable.
    """
    context = _get_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, args), daemon=True,
                              name="namalms-content-check")
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise TooSlow(f"{function.__name__} did not finish within {seconds:g} s")
        try:
            status, value = receiver.recv()
        except EOFError:
            raise ChildFailed(f"{function.__name__} ended without an answer (exit code {process.exitcode})") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if status == "error":
        raise ChildFailed(value)
    return value
