"""A certificate's standing card (dashboard, certificates page), drawn once per distinct state.

The card shows the verdict tree of a certificate's rule for one learner: dozens of small
template expressions, a sixth of the dashboard's time. What it shows depends only on what is in
its key below – the definition's id and title, the whole verdict (a frozen, comparable tree), the
certificate's number, status and date, how it is opened, the application's root path – and many
learners stand at the same point, so the last 1,024 cards drawn are kept by the process.
"""
from __future__ import annotations

from flask import get_template_attribute, request
from markupsafe import Markup

from namalms.content.recent import RecentResults

_drawn = RecentResults(1024)


def standing_card(standing, *, open: bool = False, level: int = 3, unconfirmed: bool = False) -> Markup:
    """The ``standing_card`` macro of ``_macros.html`` for ``standing`` (a services.certificates.Standing)."""
    certificate = standing.certificate
    key = (request.script_root, standing.definition.id, standing.definition.title, standing.verdict,
           None if certificate is None else (certificate.number, certificate.status, certificate.issued_at,
                                             certificate.is_valid, certificate.status_label),
           bool(open), level, bool(unconfirmed))
    return _drawn.get(key, lambda: Markup(get_template_attribute("_macros.html", "standing_card")(
        standing, open=open, level=level, unconfirmed=unconfirmed)))
