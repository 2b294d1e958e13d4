"""Errors the services raise on purpose. Entry points show their message as one line."""

from __future__ import annotations


class ServiceError(Exception):
    """Base for refusals a user can act on (CLI exit 2, UI gr.Error)."""


class NotFound(ServiceError):
    pass


class InvalidRequest(ServiceError):
    pass


class ConsentRequired(InvalidRequest):
    pass


class NotReady(InvalidRequest):
    """A template that cannot be swapped into yet: no face, failed, or still being preprocessed."""


class QueueBusy(ServiceError):
    pass


def one_line(exc: BaseException) -> str:
    """The first line of an error's message, or its type name when the message is empty."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
