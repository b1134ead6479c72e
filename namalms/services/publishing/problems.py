"""Why publishing refused: every problem, a conflict with somebody else's revision, or no change."""
from __future__ import annotations

from namalms.content.model import Problem
from namalms.formatting import format_datetime
from namalms.models import ContentRevision
from namalms.services import ServiceError


class ContentProblems(ServiceError):
    """Refused: the content with this change does not pass the content check."""

    def __init__(self, problems: list[Problem], plan=None):
        count = len(problems)
        super().__init__(f"Nicht veröffentlicht: {count} Problem{'e' if count != 1 else ''} gefunden. "
                         f"Bitte beheben und erneut prüfen.", "source")
        self.problems = problems
        self.plan = plan


class ContentConflict(ServiceError):
    """Refused: the module was published by somebody else since this edit started."""

    def __init__(self, plan, current: ContentRevision):
        who = current.author_label or "jemand anderes"
        when = format_datetime(current.created_at)
        super().__init__(
            f"Konflikt: Während Sie bearbeitet haben, hat {who} am {when} Revision {current.number} "
            f"dieses Moduls veröffentlicht. Ihre Fassung wurde nicht veröffentlicht und nichts wurde "
            f"überschrieben; Ihr Text steht unten im Editor. Vergleichen Sie ihn mit Revision "
            f"{current.number}, übernehmen Sie, was davon bleiben soll, und veröffentlichen Sie dann "
            f"erneut.", "base_revision_id")
        self.plan = plan
        self.current = current


class NothingChanged(ServiceError):
    """Nothing to publish: the text is the published one."""
