"""Registration, login and logout."""
from __future__ import annotations

from flask import Flask

from namalms.auth.views import bp, load_user, unauthorized
from namalms.extensions import login_manager


def init_app(app: Flask) -> None:
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(unauthorized)
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
