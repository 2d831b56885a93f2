"""Bank statement reading: camt.053 entries per CPU-second, and memory on a big statement.

``python -m bench.statements [--entries N] [--big-mb M]`` prints:

* the CPU time of turning a camt.053 file of N entries (default 200,000) into the CSV that
  validation reads (parse, map, balance check, CSV:
  :class:`etl_handlers.core.statements.StatementCsv`), the same for MT940 and BAI2 files of
  as many entries, as entries per CPU-second, and of the camt.053 reader alone (no CSV);
* with ``--big-mb``: the peak RSS of a child process that reads a camt.053 statement of about
  M MB, written to a temporary file first (streamed: the generator holds one entry at a time),
  against the child's RSS before reading it.

Figures are process CPU time (``time.process_time``), so a busy machine skews them less.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

__all__ = ["bai2_bytes", "camt053_chunks", "main", "mt940_bytes", "read_all"]

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
NAMES = ("Jürgen Müller GmbH", "Café Ørsted", "Online Shop Łódź", "Siân O'Brien", "ACME Corp")


def _amount(number: int) -> Decimal:
    return Decimal(f"{1 + number % 997}.{number % 100:02d}")


def camt053_chunks(entries: int, *, statements: int = 1) -> Iterator[bytes]:
    """A camt.053.001.08 document of ``entries`` entries spread over ``statements``
    statements (balances that add up, every second entry a debit, names and remittance
    text on each), yielded a few entries at a time."""
    yield (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="{NAMESPACE}">\n<BkToCstmrStmt>\n'
        "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2024-01-16T06:00:00Z</CreDtTm></GrpHdr>\n"
    ).encode()
    per = -(-entries // statements) if statements else 0
    number = 0
    for s in range(statements):
        count = min(per, entries - number)
        closing = Decimal("1000.00")
        for n in range(number, number + count):
            closing += _amount(n) if n % 2 else -_amount(n)
        yield (
            f"<Stmt><Id>BENCH-{s:04d}</Id>"
            "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>"
            '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>'
            "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-01-15</Dt></Dt></Bal>"
            f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">{abs(closing)}'
            f"</Amt><CdtDbtInd>{'CRDT' if closing >= 0 else 'DBIT'}</CdtDbtInd>"
            "<Dt><Dt>2024-01-15</Dt></Dt></Bal>\n"
        ).encode()
        batch = []
        for n in range(number, number + count):
            credit = n % 2 == 1
            party = "Dbtr" if credit else "Cdtr"
            batch.append(
                f"<Ntry><NtryRef>E{n:010d}</NtryRef>"
                f'<Amt Ccy="EUR">{_amount(n)}</Amt>'
                f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd>"
                "<Sts><Cd>BOOK</Cd></Sts>"
                f"<BookgDt><DtTm>2024-01-15T{n % 24:02d}:{n % 60:02d}:00+01:00</DtTm></BookgDt>"
                "<ValDt><Dt>2024-01-15</Dt></ValDt>"
                f"<AcctSvcrRef>BANK{n:012d}</AcctSvcrRef>"
                "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd>"
                "</Fmly></Domn></BkTxCd>"
                f"<NtryDtls><TxDtls><RltdPties><{party}><Pty><Nm>{NAMES[n % len(NAMES)]}</Nm>"
                f"</Pty></{party}></RltdPties><RmtInf><Ustrd>Invoice {n}</Ustrd></RmtInf>"
                "</TxDtls></NtryDtls></Ntry>\n"
            )
            if len(batch) == 500:
                yield "".join(batch).encode()
                batch = []
        yield ("".join(batch) + "</Stmt>\n").encode()
        number += count
    yield b"</BkToCstmrStmt>\n</Document>\n"


def mt940_bytes(entries: int) -> bytes:
    """One MT940 statement of ``entries`` entries, each with a :86: line."""
    lines = [":20:BENCH", ":25:DE89370400440532013000", ":28C:1/1", ":60F:C240115EUR1000,00"]
    balance = Decimal("1000.00")
    for n in range(entries):
        credit = n % 2 == 1
        amount = _amount(n)
        balance += amount if credit else -amount
        lines.append(
            f":61:2401150115{'C' if credit else 'D'}{str(amount).replace('.', ',')}"
            f"NTRFREF{n:09d}//B{n:012d}"
        )
        lines.append(f":86:{NAMES[n % len(NAMES)]} Invoice {n}")
    mark = "C" if balance >= 0 else "D"
    lines.append(f":62F:{mark}240115EUR{str(abs(balance)).replace('.', ',')}")
    return ("\r\n".join(lines) + "\r\n").encode()


def bai2_bytes(entries: int) -> bytes:
    """One BAI2 file, one group, one account of ``entries`` detail records, with the
    trailers' counts and control totals right."""
    closing = 100_000
    details = []
    total = 0
    for n in range(entries):
        cents = int(_amount(n) * 100)
        code = "165" if n % 2 else "475"
        closing += cents if n % 2 else -cents
        total += cents
        details.append(f"16,{code},{cents},Z,BR{n:012d},CR{n},{NAMES[n % len(NAMES)]}")
    account_total = 100_000 + closing + total
    account = [f"03,123456789,USD,010,100000,,,015,{closing},,/", *details]
    records = len(account) + 1
    lines = [
        "01,SENDER,RECEIVER,240116,0600,BENCH,,,2/",
        "02,RECEIVER,BANK,1,240115,2400,USD,2/",
        *account,
        f"49,{account_total},{records}/",
        f"98,{account_total},1,{records + 2}/",
        f"99,{account_total},1,{records + 4}/",
    ]
    return ("\n".join(lines) + "\n").encode()


def read_all(source: io.BufferedIOBase | io.BytesIO) -> int:
    """Read ``source`` as validation does (64 KiB reads of the CSV); returns the bytes."""
    from etl_handlers.core.schema import load_schema
    from etl_handlers.core.statements import StatementCsv

    reader = StatementCsv(source, schema=load_schema())  # type: ignore[arg-type]
    size = 0
    while chunk := reader.read(1 << 16):
        size += len(chunk)
    return size


def _cpu(data: bytes) -> float:
    start = time.process_time()
    read_all(io.BytesIO(data))
    return time.process_time() - start


def _parse_cpu(data: bytes) -> float:
    """CPU time of the camt.053 reader alone: entries and statement ends, no CSV."""
    from etl_handlers.core.statements.camt import read_camt053

    start = time.process_time()
    for _ in read_camt053(io.BytesIO(data), namespace=NAMESPACE, version="bench"):
        pass
    return time.process_time() - start


def _big(megabytes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "big.xml"
        sample = len(b"".join(camt053_chunks(1_000))) / 1_000  # bytes per entry
        entries = int(megabytes * 1_000_000 / sample)
        with path.open("wb") as sink:
            for chunk in camt053_chunks(entries, statements=4):
                sink.write(chunk)
        size = path.stat().st_size
        child = subprocess.run(
            [sys.executable, "-m", "bench.statements", "--read", str(path)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ},
        )
        before, peak, cpu = (float(v) for v in child.stdout.split())
    return {
        "mb": size / 1e6,
        "entries": entries,
        "rss_before_mb": before,
        "peak_mb": peak,
        "cpu_s": cpu,
    }


def _high_water_mb() -> float:
    """This process's peak RSS in MB: ``VmHWM`` (ru_maxrss would carry the parent's peak
    across fork and exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover


def _read_child(path: str) -> None:
    import etl_handlers.core.statements.camt  # noqa: F401 - loaded before the baseline

    before = _high_water_mb()
    start = time.process_time()
    with open(path, "rb") as source:
        read_all(source)
    cpu = time.process_time() - start
    print(f"{before:.1f} {_high_water_mb():.1f} {cpu:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.statements", description=__doc__)
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--big-mb", type=int, default=0, help="also read a camt.053 of ~M MB")
    parser.add_argument("--read", help=argparse.SUPPRESS)  # the child of --big-mb
    args = parser.parse_args(argv)
    if args.read:
        _read_child(args.read)
        return 0
    n = args.entries
    if not n and args.big_mb:  # the big statement alone
        big = _big(args.big_mb)
        _print_big(big)
        return 0
    camt = b"".join(camt053_chunks(n))
    for name, data in (("camt.053", camt), ("mt940", mt940_bytes(n)), ("bai2", bai2_bytes(n))):
        cpu = _cpu(data)
        print(
            f"{name:9s} {n:>9,} entries {len(data) / 1e6:8.1f} MB  {cpu:6.2f} CPU s  "
            f"{n / cpu:>9,.0f} entries/CPU-s"
        )
    parse = _parse_cpu(camt)
    print(f"camt.053 parsing alone (no CSV): {parse:6.2f} CPU s  {n / parse:>9,.0f} entries/CPU-s")
    if args.big_mb:
        _print_big(_big(args.big_mb))
    return 0


def _print_big(big: dict[str, float]) -> None:
    print(
        f"camt.053 big: {big['mb']:.0f} MB, {big['entries']:,} entries, "
        f"{big['cpu_s']:.1f} CPU s ({big['entries'] / big['cpu_s']:,.0f} entries/CPU-s), "
        f"peak RSS {big['peak_mb']:.0f} MB (before reading: {big['rss_before_mb']:.0f} MB)"
    )


if __name__ == "__main__":
    sys.exit(main())
