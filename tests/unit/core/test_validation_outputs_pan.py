"""validated/ is an output object: it never holds a full card number."""

from __future__ import annotations

import io

from etl_handlers.core.schema import load_schema
from etl_handlers.engines.selector import validate_stream

HEADER = (
    "transaction_id,account_id,timestamp,amount,currency,transaction_type,merchant,card_number\n"
)


def test_valid_rows_carry_masked_cards_and_scrubbed_text():
    row = (
        "t1,A1,2024-01-01T00:00:00Z,1.00,USD,DEBIT,paid with 4111 1111 1111 1111,4111111111111111\n"
    )
    valid, rejects = io.BytesIO(), io.BytesIO()
    result = validate_stream(
        io.BytesIO((HEADER + row).encode()), valid, rejects, schema=load_schema(None)
    )
    assert result.rows_valid == 1
    text = valid.getvalue().decode()
    assert "4111111111111111" not in text
    assert "4111 1111 1111 1111" not in text
    assert "1111" in text.splitlines()[1]
