"""SeenIds / IdSet: exact membership in compact memory, scalar and batch APIs agree."""

from __future__ import annotations

import sys

import pytest
from etl_handlers.core import idset
from etl_handlers.core.idset import IdSet, fingerprint
from etl_handlers.core.rules import SeenIds
from hypothesis import given, settings
from hypothesis import strategies as st

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")


def layout(values: list[str]) -> tuple[object, object]:
    array = pa.array(values, type=pa.string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[: len(values) + 1]
    data = np.frombuffer(array.buffers()[2] or b"", dtype=np.uint8)
    return data, offsets


def test_scalar_add_and_contains() -> None:
    seen = SeenIds()
    assert "a" not in seen
    seen.add("a")
    seen.add("a")  # idempotent
    assert "a" in seen
    assert "b" not in seen
    assert len(seen) == 1
    seen.close()
    assert len(seen) == 0
    assert "a" not in seen


def test_grows_past_the_initial_table() -> None:
    with IdSet() as seen:
        values = [f"id-{number}" for number in range(5000)]
        for value in values:
            seen.add(value)
        assert all(value in seen for value in values)
        assert not any(f"other-{number}" in seen for number in range(2000))
        assert len(seen) == 5000


def test_pure_python_growth_without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_numpy(name: str, *args: object, **kwargs: object) -> object:
        if name == "numpy":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_numpy)
    monkeypatch.delitem(sys.modules, "numpy")
    seen = IdSet()
    for number in range(3000):
        seen.add(str(number))
    assert all(str(number) in seen for number in range(3000))
    assert "3000" not in seen


def test_fingerprint_collisions_are_never_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every id gets the same fingerprint: only the byte comparison can tell them apart."""
    monkeypatch.setattr(idset, "fingerprint", lambda data: 0xDEADBEEF00000000)
    seen = IdSet(portable=True)
    for value in ("a", "b", "c"):
        assert value not in seen
        seen.add(value)
    assert all(value in seen for value in ("a", "b", "c"))
    assert "d" not in seen
    hashes = np.full(2, 0xDEADBEEF00000000, dtype=np.uint64)
    found = seen.contains_many(hashes, lambda row: [b"b", b"zz"][row])
    assert found.tolist() == [True, False]


def test_batch_fingerprints_match_scalar() -> None:
    values = ["", "a", "tx-0000000001", "x" * 8, "y" * 9, "é" * 30, "z" * 100]
    data, offsets = layout(values)
    hashes = idset.fingerprints(data, offsets)
    assert [int(h) for h in hashes] == [fingerprint(v.encode()) for v in values]
    empty = idset.fingerprints(np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int32))
    assert len(empty) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=20), max_size=300, unique=True),
    st.lists(st.text(min_size=1, max_size=20), max_size=100),
)
def test_batch_and_scalar_agree(added: list[str], probes: list[str]) -> None:
    batch = IdSet(portable=True)
    scalar = IdSet()
    half = len(added) // 2
    data, offsets = layout(added[:half])
    batch.add_many(idset.fingerprints(data, offsets), data, offsets)
    for value in added[half:]:
        batch.add(value)
    for value in added:
        scalar.add(value)
    candidates = added + probes
    data, offsets = layout(candidates)
    found = batch.contains_many(
        idset.fingerprints(data, offsets), lambda row: candidates[row].encode()
    )
    for value, hit in zip(candidates, found.tolist(), strict=True):
        assert hit == (value in set(added)) == (value in scalar) == (value in batch)
    assert len(batch) == len(scalar) == len(added)


def test_batch_add_grows_and_spills(tmp_path: object) -> None:
    seen = IdSet(directory=str(tmp_path), portable=True)
    values = [f"tx-{number:010d}" for number in range(200_000)]
    data, offsets = layout(values)
    hashes = idset.fingerprints(data, offsets)
    seen.add_many(hashes[:100_000], data, offsets[:100_001])
    seen.add_many(hashes[100_000:], data, offsets[100_000:])
    probe = [*values[::997], "tx-x", "tx-0000200000"]
    data, offsets = layout(probe)
    found = seen.contains_many(idset.fingerprints(data, offsets), lambda row: probe[row].encode())
    assert found.tolist() == [True] * (len(probe) - 2) + [False, False]
    assert seen.contains_many(hashes[:0], lambda row: b"").tolist() == []
    seen.add_many(hashes[:0], data, offsets[:1])
    assert len(seen) == 200_000
    seen.close()


def test_python_hash_collisions_are_never_duplicates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(idset, "_python_hash", lambda value: 0xDEADBEEF00000000)
    seen = IdSet()
    seen._hash = idset._python_hash
    for value in ("a", "b"):
        seen.add(value)
    assert "a" in seen and "b" in seen and "c" not in seen


def test_batch_api_needs_the_portable_fingerprint() -> None:
    with pytest.raises(ValueError, match="portable"):
        IdSet().contains_many(np.zeros(1, dtype=np.uint64), lambda row: b"")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(max_size=20), st.text(min_size=17, max_size=90)), min_size=1, max_size=60
    ),
    st.integers(min_value=0, max_value=5),
)
def test_batch_fingerprints_match_scalar_for_any_lengths(values: list[str], skip: int) -> None:
    """Strings of mixed lengths (a round per 8 bytes, for the long ones only), from an array
    that does not start at offset 0."""
    array = pa.array(["x" * skip, *values], type=pa.string()).slice(1)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[1 : len(values) + 2]
    data = np.frombuffer(array.buffers()[2] or b"", dtype=np.uint8)
    hashes = idset.fingerprints(data, offsets)
    assert [int(h) for h in hashes] == [fingerprint(v.encode()) for v in values]


def crowded(hashes: object) -> object:
    """Distinct fingerprints with only three (nonzero) home slots, in any table size."""
    return (hashes & np.uint64(0xFFFFFFFF)) | (
        (hashes % np.uint64(3) + np.uint64(1)) << np.uint64(62)
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=400, unique=True),
    st.integers(min_value=1, max_value=120),
    st.booleans(),
)
def test_adds_that_start_where_the_probes_ended(values: list[str], batch: int, crowd: bool) -> None:
    """add_many from the slots probe_many ended at (the table growing or not in between),
    with the fingerprints crowded into long clusters when ``crowd``: every id is found
    afterwards. The table starts at 16 slots, so that it grows several times."""

    def hashes_of(part: list[str]) -> tuple[object, object, object]:
        data, offsets = layout(part)
        hashes = idset.fingerprints(data, offsets)
        return (crowded(hashes) if crowd else hashes), data, offsets

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(idset, "_INITIAL_BITS", 4)
        seen = IdSet(portable=True)
    for begin in range(0, len(values), batch):
        part = values[begin : begin + batch]
        hashes, data, offsets = hashes_of(part)
        found, slots = seen.probe_many(hashes, lambda row, part=part: part[row].encode())
        assert not found.any()
        seen.add_many(hashes, data, offsets, slots)
    hashes, _, _ = hashes_of(values)
    assert seen.contains_many(hashes, lambda row: values[row].encode()).all()
    assert len(seen) == len(values)
