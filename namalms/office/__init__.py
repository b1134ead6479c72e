"""Programme office (/office/): certification status, learner records, statistics, users, audit."""
from flask import Flask

from namalms.office import users, records, statistics, audit_log  # noqa: F401  (each module registers its routes on bp)
from namalms.office import status, tokens  # noqa: F401  (certification status, export, API tokens)
from namalms.office import accounts_mail, pages  # noqa: F401  (mail, account life cycle, retention, site pages)
from namalms.office.blueprint import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
