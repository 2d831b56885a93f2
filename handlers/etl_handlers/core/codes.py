"""Every stable code the processing core emits, in one place.

File codes end a whole file (raised as :class:`etl_handlers.core.errors.FileRejected`, reported as
``error.code`` of an INVALID outcome). Row codes are the ``code`` of a line in the reject
file (``rejected/{job}/{stem}.rejected.jsonl``); the first failing rule of a row wins, the
field count first, then the columns in schema order.

Codes are part of the public contract: add new ones, never rename or reuse one.
"""

from __future__ import annotations

from etl_handlers.contract import CODE_INVALID_WITHOUT_REASON

# -- file codes -----------------------------------------------------------------------------
EMPTY_FILE = "EMPTY_FILE"
"""The object has 0 bytes, or no header row at all (only a BOM or blank lines)."""
NOT_UTF8 = "NOT_UTF8"
"""The bytes are not valid UTF-8; the message gives the byte offset and line."""
MALFORMED_CSV = "MALFORMED_CSV"
"""The CSV cannot be parsed: an unterminated quote, text after a closing quote, or a NUL
character in the header row (typically a UTF-16 file)."""
FIELD_TOO_LARGE = "FIELD_TOO_LARGE"
"""A field is longer than ``csvio.MAX_FIELD_CHARS`` (1 MiB) characters; usually an
unterminated quote that swallowed the rest of the file."""
LINE_TOO_LONG = "LINE_TOO_LONG"
"""A physical line is longer than ``csvio.MAX_LINE_BYTES`` (8 MiB) bytes."""
DUPLICATE_COLUMN = "DUPLICATE_COLUMN"
"""Two header names are equal after trimming and lower-casing."""
MISSING_COLUMN = "MISSING_COLUMN"
"""Required schema columns are absent from the header; the message lists them."""
REJECT_RATE_EXCEEDED = "REJECT_RATE_EXCEEDED"
"""More than the allowed fraction of rows was rejected; the message gives the figures."""
INVALID_INPUT = "INVALID_INPUT"
"""A later step (transform, enrich) read a value its predecessor should never have written:
the intermediate object is corrupt or from another schema."""

FILE_CODES = (
    EMPTY_FILE,
    NOT_UTF8,
    MALFORMED_CSV,
    FIELD_TOO_LARGE,
    LINE_TOO_LONG,
    DUPLICATE_COLUMN,
    MISSING_COLUMN,
    REJECT_RATE_EXCEEDED,
    INVALID_INPUT,
)

# -- row codes ------------------------------------------------------------------------------
FIELD_COUNT = "FIELD_COUNT"
"""The row has more or fewer fields than the header."""
NUL_CHARACTER = "NUL_CHARACTER"
"""A field of the row contains a NUL character (checked right after the field count)."""
REQUIRED = "REQUIRED"
"""A required column is empty."""
TOO_LONG = "TOO_LONG"
"""An identifier or text value is longer than the column's ``maxLength`` (characters)."""
INVALID_FORMAT = "INVALID_FORMAT"
"""An identifier does not match the column's ``pattern``."""
INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
"""Not ``YYYY-MM-DDTHH:MM:SS[.f]`` with ``Z`` or a ``+HH:MM`` offset, or not a real
date/time, or an offset outside -12:00..+14:00."""
INVALID_AMOUNT = "INVALID_AMOUNT"
"""Not a plain positive decimal (digits, optional ``.digits``; no sign, exponent or
separators), zero, or more than 18 integer digits."""
AMOUNT_PRECISION = "AMOUNT_PRECISION"
"""More significant decimals than the minor units of the row's currency."""
INVALID_CURRENCY = "INVALID_CURRENCY"
"""Not an active ISO 4217 alphabetic code with minor units (any case)."""
INVALID_ENUM = "INVALID_ENUM"
"""Not one of the column's ``values`` (any case)."""
INVALID_CARD = "INVALID_CARD"
"""Not 12-19 ASCII digits passing the Luhn check."""
INVALID_COUNTRY = "INVALID_COUNTRY"
"""Not an ISO 3166-1 alpha-2 code (any case)."""
DUPLICATE_ID = "DUPLICATE_ID"
"""A unique column's value was already taken by an accepted row earlier in the file."""
DUPLICATE_ACROSS_FILES = "DUPLICATE_ACROSS_FILES"
"""The row's unique id was accepted by another job of the pipeline within the seen-ids window
(only with the workflow's ``seen_ids`` on); the message names that job and the day."""

FILE_ROW_CODES = (
    FIELD_COUNT,
    NUL_CHARACTER,
    REQUIRED,
    TOO_LONG,
    INVALID_FORMAT,
    INVALID_TIMESTAMP,
    INVALID_AMOUNT,
    AMOUNT_PRECISION,
    INVALID_CURRENCY,
    INVALID_ENUM,
    INVALID_CARD,
    INVALID_COUNTRY,
    DUPLICATE_ID,
)
"""The row codes one file can give by itself (the rules and the file's own duplicates)."""
ROW_CODES = (*FILE_ROW_CODES, DUPLICATE_ACROSS_FILES)
"""Every row code: those of one file, and a duplicate of an earlier file's row."""

# -- step codes -----------------------------------------------------------------------------
JOB_NOT_RUNNABLE = "JOB_NOT_RUNNABLE"
"""The job is missing, final (FAILED/SUCCEEDED) or past this step: nothing was done."""
SOURCE_MISSING = "SOURCE_MISSING"
"""The source object (or its version) was deleted before the step could read it."""
SOURCE_CHANGED = "SOURCE_CHANGED"
"""The unversioned source object was overwritten after the job was created."""
RECONCILIATION_FAILED = "RECONCILIATION_FAILED"
"""Rows or amounts do not add up across the steps; the message lists the differences."""
INVALID_WITHOUT_REASON = CODE_INVALID_WITHOUT_REASON
"""A step found the file INVALID but gave no reason (a defect of the step), or returned a
result without a readable outcome; the state machine fails the job with this code."""

STEP_CODES = (
    JOB_NOT_RUNNABLE,
    SOURCE_MISSING,
    SOURCE_CHANGED,
    RECONCILIATION_FAILED,
    INVALID_WITHOUT_REASON,
)

# -- execution codes ------------------------------------------------------------------------
# Recorded by the trigger from the execution status rule, for a job its execution left in a
# running status (no Catch of the state machine can record these).
EXECUTION_TIMED_OUT = "EXECUTION_TIMED_OUT"
"""The execution ran past the state machine's timeout."""
EXECUTION_ABORTED = "EXECUTION_ABORTED"
"""The execution was stopped (StopExecution, e.g. by an operator)."""
EXECUTION_FAILED = "EXECUTION_FAILED"
"""The execution failed without recording the job (e.g. ``States.Runtime``, or the failure
branch's own record could not be written); the message names the execution's error."""

EXECUTION_CODES = (EXECUTION_TIMED_OUT, EXECUTION_ABORTED, EXECUTION_FAILED)

# -- intake codes ---------------------------------------------------------------------------
# Recorded by the trigger for an object it will not process; no execution starts.
CARD_NUMBER_IN_NAME = "CARD_NUMBER_IN_NAME"
"""The object's key holds a card number (``etl_handlers.core.masking.card_numbers_in_name``):
the file stays where it is, unread; the job record names it with the number masked."""

INTAKE_CODES = (CARD_NUMBER_IN_NAME,)

# -- sender manifests (issue 19) ------------------------------------------------------------
MANIFEST_MISSING = "MANIFEST_MISSING"
"""The pipeline requires a manifest and ``raw/<name>.manifest.json`` did not arrive within
the configured wait (or was deleted before validation read it)."""
MANIFEST_INVALID = "MANIFEST_INVALID"
"""The manifest is not the documented JSON (``docs/pipeline-contract.md``); the message
lists every problem."""
CONTROL_TOTALS_MISMATCH = "CONTROL_TOTALS_MISMATCH"
"""What validation counted (rows, per currency count, debit and credit of the valid rows,
the file's SHA-256) differs from what the manifest declares; the message names each
difference."""

MANIFEST_CODES = (MANIFEST_MISSING, MANIFEST_INVALID, CONTROL_TOTALS_MISMATCH)

# -- bank statement formats (issue 16) ------------------------------------------------------
# File codes of camt.053, MT940 and BAI2 files (see core/statements/); added to FILE_CODES.
UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
"""The file's first bytes are a format the pipeline does not read (another ISO 20022 message
or version, an MT94x without ``:60F:``, XML of another kind) or one its configuration does
not accept; the message names what was recognised and what is accepted."""
UNSAFE_XML = "UNSAFE_XML"
"""The XML declares a DTD (``<!DOCTYPE``): refused before any parsing, since a DTD is how
entity bombs and external entities (XXE) get in; or the root element did not start within
the first 64 KiB."""
MALFORMED_STATEMENT = "MALFORMED_STATEMENT"
"""The statement cannot be read: XML that is not well-formed or truncated, a mandatory
element or field missing or invalid, a BAI2 control record (record count, control total,
trailer) that does not match; the message names the statement and the place."""
BALANCE_MISMATCH = "BALANCE_MISMATCH"
"""Opening balance + credits - debits differs from the closing balance of a statement
(exact decimals); the message names the statement and both figures."""
CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
"""An entry's or a balance's currency differs from its statement's currency."""

STATEMENT_CODES = (
    UNSUPPORTED_FORMAT,
    UNSAFE_XML,
    MALFORMED_STATEMENT,
    BALANCE_MISMATCH,
    CURRENCY_MISMATCH,
)
FILE_CODES = (*FILE_CODES, *STATEMENT_CODES)
