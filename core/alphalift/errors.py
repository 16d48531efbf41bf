"""User-facing errors: each says what happened and what to do next.

The CLI prints ``str(error)`` on one line and exits non-zero; the worker sends ``code`` and the
message to the host, so a plug-in can show it without a traceback.
"""
from __future__ import annotations


class AlphaLiftError(Exception):
    """Base class of every error a user is expected to act on."""

    code = "error"

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} {hint}".strip())


class InputError(AlphaLiftError):
    """The input image cannot be read or is not acceptable."""

    code = "bad-input"


class ImageTooLargeError(InputError):
    code = "image-too-large"


class OutputExistsError(AlphaLiftError):
    code = "output-exists"


class UnknownModelError(AlphaLiftError):
    code = "unknown-model"


class ModelMissingError(AlphaLiftError):
    """The model is not in the cache and could not be fetched."""

    code = "model-missing"


class ModelCorruptError(AlphaLiftError):
    code = "model-corrupt"


class EngineError(AlphaLiftError):
    code = "engine-failed"


class CancelledError(AlphaLiftError):
    code = "cancelled"
