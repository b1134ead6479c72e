"""The one transaction boundary: commit on success, roll back on anything else.

Services change state and flush, but never commit; views and CLI commands never commit either.
Instead every web request and every CLI command is one unit of work:

- web: the request hooks below commit when the view answered with a success (status < 400) and
  roll back otherwise – an exception, a refused form (4xx), or a view that called
  :func:`refuse`. A :class:`ServiceError` that reaches Flask becomes the German message on the
  page the user came from (or a 422 page), after the rollback.
- CLI: :func:`cli_command` wraps a click command in :func:`unit_of_work`; a ``ServiceError``
  becomes an English ``error: …`` line on stderr and exit status 1.

So a failed request or command leaves nothing half-written in the database.
"""
from __future__ import annotations

import inspect
import sys
from contextlib import contextmanager
from functools import wraps
from typing import Iterator
from urllib.parse import urlsplit

import click
from flask import Flask, flash, redirect, render_template, request
from werkzeug.wrappers import Response

from namalms.extensions import _may_write, db
from namalms.services import ServiceError

_FAILED = "namalms.unit_of_work.failed"  # a key of the WSGI environ: it lives exactly one request


class UnitOfWork:
    """Handle on the running unit of work; ``discard()`` rolls back instead of committing."""

    def __init__(self) -> None:
        self.is_discarded = False

    def discard(self) -> None:
        """End without saving anything (dry runs, previews)."""
        self.is_discarded = True


def finish(*, commit: bool) -> None:
    """Commit or roll back the session's transaction – the only commit of a request or command."""
    if commit:
        db.session.commit()
    else:
        db.session.rollback()


def abandon() -> None:
    """Roll back after a failure, even when the connection is already broken (error pages).

    A dead connection had nothing saved and has nothing to undo; its error must not stop the
    German error page from being drawn.
    """
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; the session is reset either way
        db.session.close()


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Everything inside is saved together when the block ends normally, or not at all."""
    work = UnitOfWork()
    try:
        yield work
    except BaseException:
        finish(commit=False)
        raise
    finish(commit=not work.is_discarded)


@contextmanager
def write_transaction() -> Iterator[None]:
    """Inside a read-only view: end the read, write in an immediate transaction, commit at once.

    For the one small write a page view makes (the module page notes the visit), so the rest of
    the page never holds SQLite's write lock.
    """
    finish(commit=True)
    token = _may_write.set(True)
    try:
        with unit_of_work():
            yield
    finally:
        _may_write.reset(token)


# --- web ----------------------------------------------------------------------------------------

def refuse(error: ServiceError | str, target: str, *, category: str = "error") -> Response:
    """Answer a refused action with a message on ``target``: nothing of this request is saved."""
    request.environ[_FAILED] = True
    flash(error.message if isinstance(error, ServiceError) else error, category)
    return redirect(target)


def discard_request() -> None:
    """Roll back this request's changes at its end, whatever the view answers."""
    request.environ[_FAILED] = True


def _same_site_referrer() -> str | None:
    referrer = request.referrer
    if not referrer:
        return None
    ours, theirs = urlsplit(request.host_url), urlsplit(referrer)
    if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
        return None
    return referrer


def _service_error(error: ServiceError):
    """A ServiceError no view handled: roll back, then say it where the user came from."""
    finish(commit=False)
    request.environ[_FAILED] = True
    target = _same_site_referrer()
    if target and request.method == "POST":
        flash(error.message, "error")
        return redirect(target)
    return render_template("error.html", code=422, title="Das hat nicht geklappt", text=error.message), 422


def init_app(app: Flask) -> None:
    app.register_error_handler(ServiceError, _service_error)

    @app.after_request
    def end_unit_of_work(response):
        if not db.session.registry.has():
            return response  # no session was opened (a page answered from memory): nothing to end
        failed = request.environ.get(_FAILED, False) or response.status_code >= 400
        finish(commit=not failed)
        return response

    @app.teardown_request
    def roll_back_on_exception(exception):
        if exception is not None:
            db.session.rollback()


# --- command line ---------------------------------------------------------------------------------

def english(error: ServiceError) -> str:
    """The service's refusal for the command line: English first, the German message in brackets."""
    return f"{error.english or 'request refused'} ({error.message})"


def cli_command(command):
    """Run a click command as one unit of work; a ServiceError exits 1 with an English message.

    The command may take a ``work`` keyword argument to receive the :class:`UnitOfWork`
    (e.g. to ``discard()`` a dry run).
    """
    takes_work = "work" in inspect.signature(command).parameters

    @wraps(command)
    def wrapped(*args, **kwargs):
        try:
            with unit_of_work() as work:
                if takes_work:
                    kwargs["work"] = work
                return command(*args, **kwargs)
        except ServiceError as error:
            click.echo(f"error: {english(error)}", err=True)
            sys.exit(1)

    return wrapped
