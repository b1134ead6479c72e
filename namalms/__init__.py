"""namalms – the learning management system of NaMa NRW."""
from __future__ import annotations

import os

from flask import Flask


def create_app(test_config: dict | None = None, *, instance_path: str | None = None) -> Flask:
    """Build the application: config → extensions → blueprints → CLI. Wiring only.

    ``instance_path`` (default: ``NAMALMS_INSTANCE_PATH``, else ``instance/`` of the project) holds
    the SQLite database, keys and ``config.py``; tests give every app its own, so they never write
    into the checkout.
    """
    instance_path = instance_path or os.environ.get("NAMALMS_INSTANCE_PATH") or None
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    from namalms import config

    app.config.from_object(config.Defaults)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        config.apply_environment(app.config)
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)  # keys and database: owner only
    config.finish(app.config, app.instance_path)

    from namalms import keys, observability
    from namalms.session_cookie import RememberingSessionInterface

    app.session_interface = RememberingSessionInterface()  # one per app: it remembers this app's cookies

    observability.init_app(app)  # first: every later hook and log line has the request id
    keys.init_app(app)
    from namalms.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config.PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    from namalms import content_cache

    content_cache.init_app(app)
    from namalms import page_memo

    page_memo.init_app(app)
    if app.config["PROXY_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Client address and scheme from exactly this many proxies; the host stays as sent.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)

    from namalms import lrs

    lrs.init_app(app)

    from namalms import models  # noqa: F401  (registers every table)
    from namalms import (
        api, auth, credentials, errors, forms, learner, office, public, ratelimit, reference, trainer, unit_of_work,
        verify, web,
    )

    unit_of_work.init_app(app)
    web.init_app(app)
    forms.init_app(app)
    errors.init_app(app)
    auth.init_app(app)
    public.init_app(app)
    reference.init_app(app)
    verify.init_app(app)
    credentials.init_app(app)
    learner.init_app(app)
    trainer.init_app(app)
    office.init_app(app)
    api.init_app(app)
    ratelimit.init_app(app)  # after the blueprints: it attaches the limits their views declare

    from namalms import cli

    cli.init_app(app)
    return app
