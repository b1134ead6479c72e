"""Use cases that change state. Views and CLI both call these; they flush, never commit.

The commit happens in one place, :mod:`namalms.unit_of_work`.
"""


class ServiceError(Exception):
    """A request the service refuses, with a German message for the user.

    `field` names the form field the message belongs to, when there is one; `english` is a
    short English summary for the command line (the German message is shown beside it).
    """

    def __init__(self, message: str, field: str | None = None, *, english: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.english = english
