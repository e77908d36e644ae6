"""The one family of application errors: services raise them; the API and the pages map them to answers."""

from __future__ import annotations


class ApplicationError(Exception):
    """A refusal a user can act on. ``code`` is the stable machine name, ``status`` the HTTP status for the API."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, **self.extra}


class NotFound(ApplicationError):
    code = "not_found"
    status = 404


class InvalidInput(ApplicationError):
    code = "invalid_input"
    status = 400
