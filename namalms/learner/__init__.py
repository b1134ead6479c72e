"""What learners see: catalogue, course and module pages, quizzes, their dashboard."""
from flask import Flask

from namalms.learner.views import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
