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


class QueueBusy(ServiceError):
    pass
