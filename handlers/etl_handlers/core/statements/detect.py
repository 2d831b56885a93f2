"""Which format a file is, from its first bytes (never its name).

* XML whose root is ``Document`` in the namespace ``urn:iso:std:iso:20022:tech:xsd:
  camt.053.001.NN`` with NN from :data:`CAMT053_VERSIONS`: camt.053. Any other XML is
  ``UNSUPPORTED_FORMAT`` naming its root and namespace (another ISO 20022 message says which).
  A DTD (``<!DOCTYPE``) before the root is ``UNSAFE_XML``: nothing past it is parsed.
* A first record ``01,``: BAI2.
* ``:20:`` (optionally after a SWIFT ``{1:...}`` envelope) with a ``:60F:`` or ``:60M:``
  opening balance: MT940; ``:20:`` without one (an MT942 interim report, say) is
  ``UNSUPPORTED_FORMAT``.
* Anything else is read as CSV, whose own rules (UTF-8, header...) then apply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.parsers import expat

from etl_handlers.contract import FORMAT_BAI2, FORMAT_CAMT053, FORMAT_CSV, FORMAT_MT940
from etl_handlers.core import codes
from etl_handlers.core.errors import FileRejected

__all__ = ["CAMT053_VERSIONS", "SNIFF_BYTES", "Detected", "detect"]

SNIFF_BYTES = 64 * 1024
"""How much of the file detection reads; an XML root element must start within it."""
CAMT053_VERSIONS = range(2, 14)
"""camt.053.001.02 to camt.053.001.13 (the newest version ISO 20022 has published)."""
ISO20022 = "urn:iso:std:iso:20022:tech:xsd:"
_MESSAGE = re.compile(r"([a-z]{4})\.(\d{3})\.(\d{3})\.(\d{2})")
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Detected:
    """A file's format and, for camt.053, its root namespace (``detail``)."""

    format: str
    detail: str = ""

    @property
    def label(self) -> str:
        """The format as a person reads it: ``camt.053 (camt.053.001.08)``."""
        if self.format == FORMAT_CAMT053:
            return f"{self.format} ({self.detail.removeprefix(ISO20022)})"
        return self.format


class _Root(Exception):
    """Stops the sniffing parser at the root element."""

    def __init__(self, name: str) -> None:
        self.name = name


def _unsupported(message: str) -> FileRejected:
    return FileRejected(codes.UNSUPPORTED_FORMAT, message)


def detect(head: bytes, *, complete: bool) -> Detected:
    """The format of a file whose first bytes are ``head`` (all of it when ``complete``).

    Raises FileRejected ``UNSUPPORTED_FORMAT`` or ``UNSAFE_XML``.
    """
    text = head.removeprefix(_BOM).lstrip(b" \t\r\n")
    if text.startswith(b"<"):
        return _xml(head, complete=complete)
    if text.startswith(b"01,"):
        return Detected(FORMAT_BAI2)
    if text.startswith((b":20:", b"{1:")):
        if re.search(rb"(^|[\r\n{]):60[FM]:", text):
            return Detected(FORMAT_MT940)
        if text.startswith(b":20:") or b":20:" in text:
            tags = sorted({t.decode() for t in re.findall(rb"(?m)^:(\d\d[A-Z]?):", text)})
            raise _unsupported(
                "recognised a SWIFT MT message (fields "
                + ", ".join(f":{t}:" for t in tags[:8])
                + ") without a :60F:/:60M: opening balance, so not an MT940 statement "
                "(an MT942 interim report?); MT940 is read"
            )
    return Detected(FORMAT_CSV)


def _xml(head: bytes, *, complete: bool) -> Detected:
    parser = expat.ParserCreate(namespace_separator=" ")

    def doctype(*_: object) -> None:
        raise FileRejected(
            codes.UNSAFE_XML,
            "the XML declares a document type (<!DOCTYPE>): refused, since a DTD is how "
            "entity expansion bombs and external entities get in; camt.053 needs none",
        )

    def start(name: str, _attributes: object) -> None:
        raise _Root(name)

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    try:
        parser.Parse(head, complete)
    except _Root as root:
        return _root_format(root.name)
    except expat.ExpatError as error:
        raise FileRejected(
            codes.MALFORMED_STATEMENT,
            f"XML: not well-formed before its root element ({expat.errors.messages[error.code]}"
            f", line {error.lineno}, column {error.offset})",
        ) from None
    # (a complete document without a root element is an expat error above)
    raise FileRejected(
        codes.UNSAFE_XML,
        f"the XML's root element does not start within its first {SNIFF_BYTES // 1024} KiB",
    )


def _root_format(name: str) -> Detected:
    namespace, _, local = name.rpartition(" ")
    found = _MESSAGE.search(namespace) if namespace.startswith(ISO20022) else None
    if found and local == "Document":
        message = found.group(0)
        area, number, version = found.group(1, 2, 4)
        if (area, number) == ("camt", "053") and int(version) in CAMT053_VERSIONS:
            return Detected(FORMAT_CAMT053, namespace)
        raise _unsupported(
            f"recognised the ISO 20022 message {message}; camt.053 versions "
            f"001.{CAMT053_VERSIONS.start:02d} to 001.{CAMT053_VERSIONS.stop - 1:02d} are read"
        )
    where = f"in the namespace {namespace[:200]}" if namespace else "without a namespace"
    raise _unsupported(
        f"recognised XML with the root element {local[:100]} {where}; of XML, only camt.053 "
        f"(root Document in {ISO20022}camt.053.001.NN) is read"
    )
