"""Errors of the processing core, and how the pipeline treats each kind.

A data problem with a whole file is a :class:`FileRejected` (the step returns
``outcome: INVALID`` with its stable code); a fault that may go away on a retry is a
:class:`TransientError` (the state machine retries on that class name); a bad schema
document or setting is a :class:`ConfigurationError` (retrying cannot help).
"""

from __future__ import annotations

from etl_handlers.core.masking import scrub

__all__ = ["ConfigurationError", "EtlError", "FileRejected", "TransientError"]


class EtlError(Exception):
    """Root of every error the pipeline raises on purpose."""


class FileRejected(EtlError):
    """The file as a whole breaks a data rule (not UTF-8, malformed CSV, missing column...).

    ``code`` is a stable constant from :mod:`etl_handlers.core.codes`; ``message`` is plain text for
    the job record and the user: it never carries a stack trace, and it is scrubbed of card
    numbers here (a message may quote a key, and a file may be named after a card number).
    """

    def __init__(self, code: str, message: str) -> None:
        message = scrub(message)
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TransientError(EtlError):
    """A fault that a retry may cure (throttling, a timeout, a dropped connection).

    The state machine retries a task whose error name is ``TransientError``; keep the class
    name stable.
    """


class ConfigurationError(EtlError):
    """The schema document or a setting is invalid; the message names the bad field."""
