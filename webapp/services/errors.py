"""Errors that services raise; views turn them into form messages, the API into the JSON errors of API.md."""


class ServiceError(Exception):
    """Base class: a request that cannot be carried out, with a message a user can act on."""

    def __init__(self, message="", field_errors=None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class NotFound(ServiceError):
    """The object does not exist, or the caller may not see it or do this to it (both look the same: 404)."""

    def __init__(self, message="Not found."):
        super().__init__(message)


class Forbidden(ServiceError):
    """A logged-in user asked for something only administrators may do (403)."""

    def __init__(self, message="You do not have permission to perform this action."):
        super().__init__(message)


class ValidationError(ServiceError):
    """Bad input: field_errors maps a field name to its messages, or message says what is wrong."""
