"""What an engine did with a file: rows on the columnar path, rows handed to the reference
and why.

Both engines fill an :class:`EngineReport` as they go; the step logs it (counts and reason
names only, never a value of the file) and publishes the rows on the reference path as a
metric, so a file that quietly leaves the fast path shows up on the dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["COLUMNAR", "REFERENCE", "EngineReport", "Handed", "Reason"]

COLUMNAR = "columnar"
REFERENCE = "reference"
"""Engine names."""


class Reason(StrEnum):
    """Why rows went to the reference engine instead of the columnar one."""

    SWITCHED_OFF = "fast path switched off"
    PYARROW_MISSING = "pyarrow or numpy missing"
    TWO_UNIQUE_COLUMNS = "schema with more than one unique column"
    LONG_COLUMN_NAME = "column name of 200 characters or more"
    OUTPUT_FORMAT = "format other than JSON Lines"
    HEADER = "header not a simple line"
    COLUMN_ORDER = "columns not in schema order"
    QUOTED_LINE_BREAK = "quoted line break"
    BARE_CR = "bare CR"
    BAD_UTF8 = "bad UTF-8"
    STRAY_QUOTE = "stray quote"
    OVERLONG_LINE = "overlong line"
    NUL_WITHOUT_STAND_IN = "NUL with every control byte in one chunk"
    NO_FINAL_LINE_END = "last line without line end"
    NOT_CERTIFIED = "record not certified"


@dataclass
class Handed:
    """Rows and chunks (contiguous ranges of input) handed to the reference for one reason."""

    rows: int = 0
    chunks: int = 0


@dataclass
class EngineReport:
    """Counts of one step's run. ``engine``: the engine the selector chose; a columnar run
    may still hand ranges of the file to the reference (``reasons`` says why)."""

    engine: str
    columnar_rows: int = 0
    columnar_chunks: int = 0
    reasons: dict[Reason, Handed] = field(default_factory=dict)

    @property
    def reference_rows(self) -> int:
        return sum(handed.rows for handed in self.reasons.values())

    @property
    def reference_chunks(self) -> int:
        return sum(handed.chunks for handed in self.reasons.values())

    def columnar(self, rows: int, chunks: int = 1) -> None:
        """Record ``rows`` done on the columnar path."""
        self.columnar_rows += rows
        self.columnar_chunks += chunks

    def reference(self, reason: Reason, rows: int, chunks: int = 1) -> None:
        """Record ``rows`` handed to the reference for ``reason``."""
        handed = self.reasons.setdefault(reason, Handed())
        handed.rows += rows
        handed.chunks += chunks

    @property
    def columnar_share(self) -> float:
        """The fraction of rows done on the columnar path (1.0 for a file without rows on
        the columnar engine, 0.0 on the reference engine)."""
        total = self.columnar_rows + self.reference_rows
        if not total:
            return 1.0 if self.engine == COLUMNAR else 0.0
        return self.columnar_rows / total

    def to_json(self) -> dict[str, Any]:
        """Log fields: counts and reason names only."""
        return {
            "engine": self.engine,
            "rows": {"columnar": self.columnar_rows, "reference": self.reference_rows},
            "chunks": {"columnar": self.columnar_chunks, "reference": self.reference_chunks},
            "reasons": {
                str(reason): {"rows": handed.rows, "chunks": handed.chunks}
                for reason, handed in self.reasons.items()
            },
        }
