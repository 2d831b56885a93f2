"""Validation of construct props: collect every problem, then raise once naming them all."""

from __future__ import annotations

from collections.abc import Sequence


class PropsError(ValueError):
    """A construct received props that cannot work together; the message lists them all."""


def raise_if_any(construct: str, problems: Sequence[str]) -> None:
    """Raise :class:`PropsError` listing every problem, if there is any."""
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise PropsError(f"{construct}: invalid props\n{listed}")
