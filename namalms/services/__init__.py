"""Use cases that change state. Views and CLI both call these; they flush, never commit."""


class ServiceError(Exception):
    """A request the service refuses, with a German message for the user.

    `field` names the form field the message belongs to, when there is one.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
