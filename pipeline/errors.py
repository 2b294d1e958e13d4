"""Typed errors raised by the pipeline. Callers turn them into exit codes or UI messages."""

from __future__ import annotations


class PipelineError(Exception):
    """Base class for every error the pipeline raises on purpose."""


class ImageRejected(PipelineError):
    """The input is not an image we accept (format, size, truncated, hostile)."""


class NoFaceFound(PipelineError):
    """No face was detected where one was required."""


class ModelUnavailable(PipelineError):
    """A model file is missing, truncated or fails its checksum."""


class MappingError(PipelineError):
    """A face mapping names a face or role that does not exist."""
