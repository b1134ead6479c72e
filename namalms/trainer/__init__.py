"""Trainer area (/trainer/): content publishing, workshops and attendance, learner progress."""
from flask import Flask, render_template

from namalms.trainer import overview  # noqa: F401  (each module registers its routes on bp)
from namalms.trainer import content  # noqa: F401,E402
from namalms.trainer import workshops, learners  # noqa: F401,E402
from namalms.trainer.blueprint import bp
from namalms.services.trainer_courses import CourseNotAssigned


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.errorhandler(CourseNotAssigned)
    def not_assigned(error: CourseNotAssigned):
        """A service refused a course that is not the trainer's: the same 403 page as a view's guard."""
        return render_template("error.html", code=403, title="Kein Zugriff", text=error.message), 403
