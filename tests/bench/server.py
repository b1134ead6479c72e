"""gunicorn entry point of the page benchmark: the app of `wsgi.py`, in the benchmark's instance folder.

`wsgi.py` builds the production app with `create_app()`, whose instance folder is the checkout's
`instance/` – the developer's database, keys and `config.py`. The benchmark needs its own
folder instead (its `config.py` raises the rate limits, see `bench_pages.write_instance`), and
`create_app` takes it as a parameter that `wsgi.py` does not pass. So this module imports
`wsgi.py` itself – whatever it does after building the app (start-up recovery, ...) happens here
too – with `namalms.create_app` bound to the folder named by `NAMALMS_BENCH_INSTANCE` for the
duration of that import, and refuses to serve if the app ended up anywhere else.

It adds three probe routes the app does not have: `/_bench/user`, a logged-in request that only
loads the user (session cookie, login session query, the unit of work) and renders nothing, the
floor every learner page stands on; and `/_bench/module-state/<module_id>`, which also runs the
module page's one query of the learner's state – the least a module page drawn afresh costs,
however much of it was prepared in advance (a page kept by `namalms.page_memo` needs only the login);
and `/_bench/module-drawn/<module_id>`, the module page drawn afresh on every view (the app's
view without the page memo), as the first view after each step of a learner is.
"""
from __future__ import annotations

import os
from functools import partial

from flask_login import current_user, login_required

import namalms
from namalms.extensions import read_only
from tests.bench.bench_pages import DRAWN_PROBE_PATH, INSTANCE_VARIABLE, PROBE_PATH, STATE_PROBE_PATH


def _import_wsgi_app(instance_path: str):
    """`wsgi.app`, built by `wsgi.py` with `instance_path` as its instance folder."""
    original = namalms.create_app
    namalms.create_app = partial(original, instance_path=instance_path)
    try:
        import wsgi
    finally:
        namalms.create_app = original
    if os.path.realpath(wsgi.app.instance_path) != os.path.realpath(instance_path):
        raise RuntimeError(f"wsgi.py built its app in {wsgi.app.instance_path}, not in {instance_path}: "
                           "it no longer calls namalms.create_app, adapt tests/bench/server.py")
    return wsgi.app


app = _import_wsgi_app(os.environ[INSTANCE_VARIABLE])

from namalms.learner import module_page  # noqa: E402  (only once the app is built: import order)
from namalms.learner import views as learner_views  # noqa: E402


@app.route(PROBE_PATH)
@read_only  # outside login_required, as on the module page: loading the user takes no write lock
@login_required
def bench_user():
    """The logged-in user's id as text: the cost of a request that only loads the user."""
    return str(current_user.id), 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.route(f"{STATE_PROBE_PATH}/<module_id>")
@read_only
@login_required
def bench_module_state(module_id: str):
    """The content stamp the module page's query read: its login and its one query, nothing drawn."""
    state = module_page.learner_state(current_user.id, module_id)
    return str(state.stamp if state else None), 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.route(f"{DRAWN_PROBE_PATH}/<module_id>")
@read_only
@login_required
def bench_module_drawn(module_id: str):
    """The module page drawn afresh on every view, as after each step of the learner: the app's
    own module view without the page memo around it (namalms.page_memo.kept_page)."""
    return _module_view_without_memo(module_id=module_id)


def _module_view_without_memo(**kwargs):
    # functools.wraps hands the attribute on to the decorators outside kept_page (read_only).
    view = getattr(learner_views.module, "without_memo", None)
    if view is None:
        raise RuntimeError("the module view is no longer wrapped by page_memo.kept_page: adapt tests/bench/server.py")
    return view(**kwargs)
