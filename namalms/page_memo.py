"""Learner pages kept by each app process while nothing they show has changed.

A learner's module, course, dashboard and certificates pages are drawn from the published
content, the shared rows (workshops) and the learner's own records. Each of these has a stamp
that changes in the transaction of every change to it (:mod:`namalms.content_cache`,
:mod:`namalms.learner_stamps`), and the login of every request reads all three with the user,
in the one statement it makes anyway. So a page drawn once can be answered again from memory
for as long as

- the login row is the same (the user, their name, role and account, the login itself),
- the three stamps are the same,
- the request is the same (address with its query, host, proxy prefix),
- the session is the same (its CSRF token, no message waiting to be shown),
- and it is the same minute (what a page says about "now": dates, upcoming workshops, when the
  next visit of a module counts).

A public page about one record (``/verify/<code>``) is kept the same way, with the stamps of
that record's owner read by one small statement of its own and the key ring the process holds
(``subject``).

The login is checked (:func:`namalms.services.sessions.login_for`) before flask-login loads the
user, and a kept page is answered without loading it at all: the decorator goes outside
``login_required``. When the page has to be drawn, the user loader uses the same read.

A page is only kept when drawing it changed nothing: status 200, no write in the request, the
session cookie unchanged, nothing set in a cookie. What is kept is the view's answer before the
app's ``after_request`` hooks, which run on every answer, kept or not (request id, log line,
security headers). Each process keeps at most ``PAGE_MEMO_BYTES`` (0: keep nothing); the least
recently used page goes first.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from functools import wraps
from typing import Callable

from flask import Flask, Response, current_app, g, has_app_context, request, session
from sqlalchemy import event
from sqlalchemy.orm import Session

from namalms import learner_stamps  # noqa: F401  (its hooks write the stamps the keys name)
from namalms.models.base import utcnow
from namalms.observability import KEPT_PAGE_USER
from namalms.services import sessions

EXTENSION = "namalms_page_memo"
_WROTE = "namalms_page_memo_wrote"  # g: this request flushed a change
_PLAIN = (str, int, float, bool, type(None))


class PageMemo:
    """The kept pages of one app: (status, headers, body) by key, at most ``budget`` bytes of body."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._pages: OrderedDict = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key, page: tuple[int, list, bytes]) -> None:
        size = len(page[2])
        if size > self.budget // 4:
            return
        with self._lock:
            old = self._pages.pop(key, None)
            if old is not None:
                self._size -= len(old[2])
            self._pages[key] = page
            self._size += size
            while self._size > self.budget:
                _, dropped = self._pages.popitem(last=False)
                self._size -= len(dropped[2])

    def __len__(self) -> int:
        return len(self._pages)


def _note_write(session: Session, *args) -> None:
    """A flush, or a commit (a view's own write transaction, which may write past the ORM): the
    page drawn in this request is not kept."""
    if has_app_context():
        setattr(g, _WROTE, True)


event.listen(Session, "after_flush", _note_write)
event.listen(Session, "after_commit", _note_write)


def _viewer():
    """Who is looking, as far as a page shows it: the login (None when nobody is logged in) and
    the session's values; None when the page must be drawn afresh.

    Read before flask-login looks at the request, and without loading the user: a kept page
    needs neither. So this refuses whatever flask-login would do more than read – log in from
    the "angemeldet bleiben" cookie, or mark the session as no longer fresh (session protection).
    """
    if session.modified or "_flashes" in session:
        return None
    values = tuple(sorted(session.items()))
    if not all(isinstance(value, _PLAIN) for _, value in values):
        return None
    # flask-login's own identifier of this browser (its session protection); without it (another
    # flask-login version) nothing is answered from memory rather than anything wrongly.
    identifier = getattr(current_app.login_manager, "_session_identifier_generator", None)
    if identifier is None:
        return None
    if session and session.get("_fresh") is not False and session.get("_id") != identifier():
        return None
    token = session.get("_user_id")
    if token is None:
        if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
            return None
        return None, values
    login = sessions.login_for(token)
    if login is None or login.content_stamp is None:
        return None
    return login, values


def kept_page(view=None, *, subject: Callable[..., tuple | None] | None = None):
    """Answer a GET from the page kept under the same key; keep what the view draws.

    Without ``subject``: a learner's own page (learners only – an admin's view of someone
    else's certificate depends on that person's records, which the admin's stamp does not
    follow). With ``subject``: a page about a record anyone may look at; ``subject(**view_args)``
    returns the stamps of what the page shows (None: draw afresh, e.g. nothing found).
    """
    if view is None:
        return lambda view: kept_page(view, subject=subject)

    @wraps(view)
    def wrapped(*args, **kwargs):
        memo: PageMemo | None = current_app.extensions.get(EXTENSION)
        if memo is None or not memo.budget or request.method != "GET":
            return view(*args, **kwargs)
        viewer = _viewer()
        login = viewer[0] if viewer is not None else None
        if subject is None:
            shown = () if login is not None and login.role == "learner" else None
        else:
            shown = subject(**kwargs) if viewer is not None else None
        if shown is None:
            return view(*args, **kwargs)
        key = (request.endpoint, request.host, request.script_root, request.full_path,
               login.row if login else None, viewer[1], shown, utcnow().replace(second=0, microsecond=0))
        page = memo.get(key)
        if page is not None:
            if login is not None:
                request.environ[KEPT_PAGE_USER] = login.user_id  # for the log line: no user was loaded
            status, headers, body = page
            return Response(body, status=status, headers=headers)
        g.pop(_WROTE, None)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == 200 and not response.is_streamed and not response.direct_passthrough \
                and not g.get(_WROTE) and not session.modified and "Set-Cookie" not in response.headers:
            memo.put(key, (200, list(response.headers.items()), response.get_data()))
        return response

    wrapped.without_memo = view  # the view itself, always drawing (the page benchmark measures both)
    return wrapped


def init_app(app: Flask) -> None:
    budget = app.config.get("PAGE_MEMO_BYTES", 0)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 0:
        raise RuntimeError(f"PAGE_MEMO_BYTES must be a whole number of bytes, 0 or more (0 keeps no page), "
                           f"not {budget!r}")
    app.extensions[EXTENSION] = PageMemo(budget)
