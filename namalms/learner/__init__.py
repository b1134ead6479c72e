"""What learners see: catalogue, course and module pages, quizzes, certificates, their dashboard."""
from flask import Flask
from flask_login import current_user
from sqlalchemy import select

from namalms.extensions import db
from namalms.learner import account, certificates, profile, workshops  # noqa: F401  (register their routes on bp)
from namalms.learner.views import bp
from namalms.models import Certificate


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def new_certificates():
        """Certificates issued to the learner that they have not opened yet (one small query)."""
        if not current_user.is_authenticated or current_user.role != "learner":
            return {"new_certificates": []}
        unseen = db.session.scalars(select(Certificate).where(
            Certificate.user_id == current_user.id, Certificate.seen_at.is_(None),
            Certificate.status == "valid")).all()
        return {"new_certificates": unseen}
