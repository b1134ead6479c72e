"""Trainer area (/trainer/): content publishing, workshops and attendance, learner progress."""
from flask import Flask

from namalms.trainer import overview  # noqa: F401  (each module registers its routes on bp)
from namalms.trainer import content  # noqa: F401,E402
from namalms.trainer import workshops, learners  # noqa: F401,E402
from namalms.trainer.blueprint import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
