"""The compliance profiles and the one parse of a profile's name.

Nothing here imports aws_cdk or cdk-nag: reading a profile (an app's ``-c compliance=...``, a
construct's ``compliance=`` prop) costs nothing.
"""

from __future__ import annotations

import enum


class UnknownProfileError(ValueError):
    """A compliance profile's name is none of :data:`PROFILES` (in any case)."""


class Compliance(enum.Enum):
    """The compliance profile: what the constructs build and which cdk-nag packs check it.

    ``Compliance("strict")``, ``Compliance("STRICT")`` and ``Compliance.of(" Strict ")`` are
    the same profile; any other name raises :class:`UnknownProfileError` naming the valid ones.
    """

    STANDARD = "standard"
    """AwsSolutions + Serverless clean; nothing that costs money while the pipeline is idle."""
    STRICT = "strict"
    """Also PCI DSS 3.2.1 + NIST 800-53 rev 5 clean, for card-holder data environments."""

    @classmethod
    def _missing_(cls, value: object) -> Compliance:
        if isinstance(value, str):
            for profile in cls:
                if profile.value == value.strip().lower():
                    return profile
        raise UnknownProfileError(
            f"compliance profile {value!r} is unknown: use {_valid_names()} (in any case)"
        )

    @classmethod
    def of(cls, value: Compliance | str) -> Compliance:
        """``value`` as a profile; a string is its name (``"strict"``), case-insensitive."""
        return value if isinstance(value, cls) else cls(value)

    @property
    def strict(self) -> bool:
        return self is Compliance.STRICT


PROFILES = tuple(profile.value for profile in Compliance)


def _valid_names() -> str:
    names = [repr(profile.value) for profile in Compliance]
    return ", ".join(names[:-1]) + " or " + names[-1]
