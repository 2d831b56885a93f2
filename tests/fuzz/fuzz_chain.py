"""Coverage-guided fuzzing of the processing chain with atheris (optional, not run in CI).

    pip install atheris        # binary wheels for CPython on x86-64 Linux; else it compiles
    PYTHONPATH=handlers:. python tests/fuzz/fuzz_chain.py -max_total_time=300 \
        -max_len=65536 /tmp/fuzz-corpus tests/corpus/files

Every input goes through validate -> transform -> enrich and must keep the invariants of
``tests.reliability.chain.check_invariants``. libFuzzer writes a crashing input to
``crash-<sha1>``: add it to ``tests/corpus/files`` with a manifest entry, and the hypothesis
tests (``tests/reliability/test_fuzz.py``) replay it on every run from then on.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from tests.reliability.chain import check_invariants, run_chain


def test_one_input(data: bytes) -> None:
    check_invariants(data, run_chain(data))


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
