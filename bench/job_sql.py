# ruff: noqa: E501 - SQL text reads better unwrapped
"""The benchmark job in SQL, for the DuckDB baseline: the same rules as ``etl_handlers.core.rules``.

Kept readable rather than clever: what an engineer who knows DuckDB would write in one pass
(one scan of the CSV into a table, the checks as one CASE chain, duplicate ids through a
narrow aggregate over the id column so file order is kept, totals as exact HUGEINT sums).
"""

from __future__ import annotations

NAMES = (
    "transaction_id",
    "account_id",
    "timestamp",
    "amount",
    "currency",
    "transaction_type",
    "merchant",
    "category",
    "card_number",
    "country",
)

# The values scrub() may change (a superset, as etl_handlers.engines.columnar.kernels.SCRUB_RE): 12+ digits, any
# non-ASCII character counted as one, up to three ASCII separators between two.
SCRUB_PREFILTER = r"([0-9]|[^\x00-\x7f])([[:blank:]./_-]{0,3}([0-9]|[^\x00-\x7f])){11,}"

# Row checks before the duplicate-id test (FIELD_COUNT comes from the reader's rejects).
PRE = """
  WHEN contains(concat(transaction_id, account_id, "timestamp", amount, currency,
       transaction_type, merchant, category, card_number, country), chr(0)) THEN 'NUL_CHARACTER'
  WHEN transaction_id = '' THEN 'REQUIRED'
  WHEN length(transaction_id) > 64 THEN 'TOO_LONG'
  WHEN NOT regexp_full_match(transaction_id, '[A-Za-z0-9_-]+') THEN 'INVALID_FORMAT'
"""

POST = """
  WHEN account_id = '' THEN 'REQUIRED'
  WHEN length(account_id) > 34 THEN 'TOO_LONG'
  WHEN NOT regexp_full_match(account_id, '[A-Za-z0-9]+') THEN 'INVALID_FORMAT'
  WHEN "timestamp" = '' THEN 'REQUIRED'
  WHEN NOT regexp_full_match("timestamp",
       '[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})')
    OR try_strptime(substr("timestamp", 1, 10), '%Y-%m-%d') IS NULL
    OR substr("timestamp", 1, 4) = '0000'
    OR substr("timestamp", 12, 2)::INT > 23 OR substr("timestamp", 15, 2)::INT > 59
    OR substr("timestamp", 18, 2)::INT > 59
    OR (upper(right("timestamp", 1)) <> 'Z' AND (
         substr(right("timestamp", 6), 5, 2)::INT > 59
      OR (left(right("timestamp", 6), 1) = '+'
          AND substr(right("timestamp", 6), 2, 2)::INT * 60 + substr(right("timestamp", 6), 5, 2)::INT > 840)
      OR (left(right("timestamp", 6), 1) = '-'
          AND substr(right("timestamp", 6), 2, 2)::INT * 60 + substr(right("timestamp", 6), 5, 2)::INT > 720)))
    THEN 'INVALID_TIMESTAMP'
  WHEN amount = '' THEN 'REQUIRED'
  WHEN NOT regexp_full_match(amount, '[0-9]+(\\.[0-9]+)?')
    OR length(ltrim(split_part(amount, '.', 1), '0')) > 18 THEN 'INVALID_AMOUNT'
  WHEN ltrim(split_part(amount, '.', 1), '0') = '' AND rtrim(split_part(amount, '.', 2), '0') = ''
    THEN 'INVALID_AMOUNT'
  WHEN cur.minor IS NOT NULL AND length(rtrim(split_part(amount, '.', 2), '0')) > cur.minor
    THEN 'AMOUNT_PRECISION'
  WHEN currency = '' THEN 'REQUIRED'
  WHEN cur.minor IS NULL THEN 'INVALID_CURRENCY'
  WHEN transaction_type = '' THEN 'REQUIRED'
  WHEN upper(transaction_type) NOT IN ('DEBIT', 'CREDIT') THEN 'INVALID_ENUM'
  WHEN length(merchant) > 255 THEN 'TOO_LONG'
  WHEN length(category) > 64 THEN 'TOO_LONG'
  WHEN card_number <> '' AND (NOT regexp_full_match(card_number, '[0-9]{12,19}')
    OR list_sum(list_transform(range(1, length(card_number) + 1), lambda i:
         CASE WHEN i % 2 = 0
              THEN [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][ascii(substr(card_number, length(card_number) - i + 1, 1)) - 47]
              ELSE ascii(substr(card_number, length(card_number) - i + 1, 1)) - 48 END)) % 10 <> 0)
    THEN 'INVALID_CARD'
  WHEN country <> '' AND (upper(country) NOT IN (SELECT code FROM ctry) OR NOT country SIMILAR TO '[A-Za-z]+')
    THEN 'INVALID_COUNTRY'
"""


def script(path: str, out_dir: str, meta: dict[str, str]) -> list[str]:
    """SQL statements of the job over ``path``; outputs go to ``out_dir``."""
    cols = ", ".join(f"'{name}': 'VARCHAR'" for name in NAMES)
    coalesced = ", ".join(f'coalesce("{name}", \'\') AS "{name}"' for name in NAMES)
    ts = '"timestamp"'
    offset = (
        f"CASE WHEN upper(right({ts}, 1)) = 'Z' THEN 0 ELSE "
        f"(CASE WHEN left(right({ts}, 6), 1) = '-' THEN -1 ELSE 1 END) * "
        f"(substr(right({ts}, 6), 2, 2)::INT * 60 + substr(right({ts}, 6), 5, 2)::INT) END"
    )
    fraction = (
        f"CASE WHEN substr({ts}, 20, 1) = '.' THEN regexp_extract({ts}, '(\\.[0-9]+)', 1) "
        "ELSE '' END"
    )
    meta_cols = ", ".join(f"'{value}' AS {name}" for name, value in meta.items())
    return [
        f"""CREATE TABLE raw AS SELECT row_number() OVER () AS k, {coalesced}
            FROM read_csv('{path}', header = true, auto_detect = false, columns = {{{cols}}},
                 quote = '"', escape = '"', delim = ',', ignore_errors = true,
                 store_rejects = true, null_padding = false)""",
        f"""CREATE TABLE chk AS SELECT raw.*, cur.minor,
              CASE {PRE} END AS pre, CASE {POST} END AS post
            FROM raw LEFT JOIN cur ON cur.code = upper(raw.currency)
              AND raw.currency SIMILAR TO '[A-Za-z]+'""",
        """CREATE TABLE firsts AS SELECT transaction_id, min(k) AS first_k FROM chk
            WHERE pre IS NULL AND post IS NULL GROUP BY transaction_id""",
        """CREATE TABLE checked AS SELECT chk.*,
              coalesce(pre, CASE WHEN firsts.first_k < chk.k THEN 'DUPLICATE_ID' END, post) AS code
            FROM chk LEFT JOIN firsts USING (transaction_id)""",
        f"""COPY (SELECT k, code FROM checked WHERE code IS NOT NULL ORDER BY k)
            TO '{out_dir}/rejected.csv' (HEADER false)""",
        """CREATE TABLE valid AS SELECT *,
              ltrim(split_part(amount, '.', 1), '0') AS head,
              rtrim(split_part(amount, '.', 2), '0') AS frac
            FROM checked WHERE code IS NULL""",
        f"""COPY (SELECT
              transaction_id, account_id,
              strftime(strptime(substr({ts}, 1, 19), '%Y-%m-%dT%H:%M:%S')
                       - to_minutes(({offset})::BIGINT), '%Y-%m-%dT%H:%M:%S')
                || {fraction} || 'Z' AS "timestamp",
              CASE WHEN minor = 0 THEN coalesce(nullif(head, ''), '0')
                   ELSE coalesce(nullif(head, ''), '0') || '.' || rpad(frac, minor, '0') END AS amount,
              upper(currency) AS currency, upper(transaction_type) AS transaction_type,
              nullif(CASE WHEN regexp_matches(merchant, '{SCRUB_PREFILTER}')
                          THEN scrub(merchant) ELSE merchant END, '') AS merchant,
              nullif(CASE WHEN regexp_matches(category, '{SCRUB_PREFILTER}')
                          THEN scrub(category) ELSE category END, '') AS category,
              nullif(CASE WHEN length(card_number) > 4
                          THEN repeat('*', length(card_number) - 4) || right(card_number, 4)
                          ELSE card_number END, '') AS card_number,
              nullif(upper(country), '') AS country,
              {meta_cols},
              strftime(strptime(substr({ts}, 1, 19), '%Y-%m-%dT%H:%M:%S')
                       - to_minutes(({offset})::BIGINT), '%Y-%m-%d') AS transaction_date
            FROM valid ORDER BY k) TO '{out_dir}/enriched.jsonl' (FORMAT json)""",
        """CREATE TABLE totals AS SELECT upper(currency) AS currency,
              upper(transaction_type) = 'DEBIT' AS debit, count(*) AS n,
              sum((head || rpad(frac, minor, '0'))::HUGEINT) AS minor_units
            FROM valid GROUP BY ALL""",
    ]
