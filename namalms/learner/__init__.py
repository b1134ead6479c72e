"""What learners see: catalogue, course and module pages, quizzes, certificates, their dashboard."""
from flask import Flask, request
from flask_login import current_user
from sqlalchemy import bindparam, select

from namalms.extensions import db
from namalms.learner import account, certificates, profile, workshops  # noqa: F401  (register their routes on bp)
from namalms.learner import cards
from namalms.learner.module_page import UNSEEN_LIST
from namalms.learner.views import bp
from namalms.models import Certificate, CertificateDefinition

# Built once: building the statement would cost more than running it.
UNSEEN = (select(Certificate.number, CertificateDefinition.title)
          .join(CertificateDefinition, CertificateDefinition.id == Certificate.definition_id)
          .where(Certificate.user_id == bindparam("user_id"), Certificate.seen_at.is_(None),
                 Certificate.status == "valid").order_by(Certificate.id))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["standing_card"] = cards.standing_card

    @app.context_processor
    def new_certificates():
        """Certificates issued to the learner that they have not opened yet (one small query).

        A view that already read them (the module page in its one query, the pages that read the
        learner's records) hands them over with :func:`known_unseen_certificates` or
        :func:`known_unseen`; then there is nothing to look up.
        """
        if not current_user.is_authenticated or current_user.role != "learner":
            return {"new_certificates": []}
        if UNSEEN_LIST in request.environ:
            return {"new_certificates": request.environ[UNSEEN_LIST]}
        return {"new_certificates": db.session.execute(UNSEEN, {"user_id": current_user.id}).all()}
