# ruff: noqa: E501 - SQL text reads better unwrapped
"""The benchmark job in SQL, for the DuckDB baseline: the same rules as ``etl_handlers.core.rules``.

Written as a DuckDB user who tunes it would: the CSV read once with explicit VARCHAR
columns (no sniffing; every value must stay text, since a typed read would turn a bad value
into a reader error without its reject code), the quote and escape given so that quoted
line breaks read as the ``csv`` module reads them, rows of the wrong width kept by the
reader's reject table (``store_rejects``) for their FIELD_COUNT code; then ONE statement
checks every row (the rules as one CASE chain, duplicate ids as the first accepted row of
each id through a window), normalizes the accepted ones and keeps it all in one temporary
table, from which each output is one COPY: rejects (row, code), processed and enriched JSON
Lines, and exact per-currency totals (HUGEINT sums). Card numbers are Luhn-checked with
arithmetic (no list lambdas); only values that may hold a card number call the Python
``scrub`` (a regex prefilter decides).
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


def _luhn(card: str) -> str:
    """Luhn sum of ``card`` (12-19 digits, as a UBIGINT) as integer arithmetic: ten
    times faster in DuckDB than picking the digits out of the text."""
    number = card  # a UBIGINT: 19 digits fit
    terms = []
    for index in range(20):  # from the right; every second digit doubled
        digit = f"({number} // {10**index}::UBIGINT % 10)"
        terms.append(
            f"({digit} * 2 - CASE WHEN {digit} > 4 THEN 9 ELSE 0 END)" if index % 2 else digit
        )
    return " + ".join(terms)


TS = '"timestamp"'
OFFSET = f"""CASE WHEN upper(right({TS}, 1)) = 'Z' THEN 0
  ELSE (CASE WHEN substr({TS}, -6, 1) = '-' THEN -1 ELSE 1 END)
     * (TRY_CAST(substr({TS}, -5, 2) AS INT) * 60 + TRY_CAST(substr({TS}, -2, 2) AS INT)) END"""

# Row checks before the duplicate-id test (FIELD_COUNT comes from the reader's rejects).
PRE = """
  WHEN contains(concat(transaction_id, account_id, "timestamp", amount, currency,
       transaction_type, merchant, category, card_number, country), chr(0)) THEN 'NUL_CHARACTER'
  WHEN transaction_id = '' THEN 'REQUIRED'
  WHEN length(transaction_id) > 64 THEN 'TOO_LONG'
  WHEN NOT regexp_full_match(transaction_id, '[A-Za-z0-9_-]+') THEN 'INVALID_FORMAT'
"""

POST = f"""
  WHEN account_id = '' THEN 'REQUIRED'
  WHEN length(account_id) > 34 THEN 'TOO_LONG'
  WHEN NOT regexp_full_match(account_id, '[A-Za-z0-9]+') THEN 'INVALID_FORMAT'
  WHEN {TS} = '' THEN 'REQUIRED'
  WHEN NOT regexp_full_match({TS},
       '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{{1,9}})?([Zz]|\\+(0[0-9]|1[0-3]):[0-5][0-9]|\\+14:00|-(0[0-9]|1[01]):[0-5][0-9]|-12:00)')
    OR try_cast(substr({TS}, 1, 10) AS DATE) IS NULL OR substr({TS}, 1, 4) = '0000'
    THEN 'INVALID_TIMESTAMP'
  WHEN amount = '' THEN 'REQUIRED'
  WHEN NOT regexp_full_match(amount, '[0-9]+(\\.[0-9]+)?') OR length(head) > 18 THEN 'INVALID_AMOUNT'
  WHEN head = '' AND frac = '' THEN 'INVALID_AMOUNT'
  WHEN minor IS NOT NULL AND length(frac) > minor THEN 'AMOUNT_PRECISION'
  WHEN currency = '' THEN 'REQUIRED'
  WHEN minor IS NULL THEN 'INVALID_CURRENCY'
  WHEN transaction_type = '' THEN 'REQUIRED'
  WHEN upper(transaction_type) NOT IN ('DEBIT', 'CREDIT') THEN 'INVALID_ENUM'
  WHEN length(merchant) > 255 THEN 'TOO_LONG'
  WHEN length(category) > 64 THEN 'TOO_LONG'
  WHEN card_number <> '' AND (NOT regexp_full_match(card_number, '[0-9]{{12,19}}')
    OR ({_luhn("card_n")}) % 10 <> 0) THEN 'INVALID_CARD'
  WHEN country <> '' AND (NOT country_known OR NOT regexp_full_match(country, '[A-Za-z]+'))
    THEN 'INVALID_COUNTRY'
"""


def read_csv(path: str) -> str:
    """The one read of the input: every column VARCHAR, by position (header names vary).

    ``nullstr`` is a value no file holds: with the default (empty means NULL) DuckDB takes a
    row with one empty field too many for a row of the right width."""
    cols = ", ".join(f"'{name}': 'VARCHAR'" for name in NAMES)
    return f"""read_csv('{path}', header = true, auto_detect = false, columns = {{{cols}}},
                 delim = ',', quote = '"', escape = '"', ignore_errors = true,
                 store_rejects = true, null_padding = false, strict_mode = true,
                 nullstr = '\x02\x03')"""


def script(
    path: str,
    out_dir: str,
    meta: dict[str, str],
    *,
    minor_units: dict[str, int],
    countries: frozenset[str],
) -> list[str]:
    """SQL statements of the job over ``path``; outputs go to ``out_dir``; the reference
    data (currencies' minor units, country codes) become literals.

    Rows stay in file order without a sort: one thread and ``preserve_insertion_order``
    (DuckDB's default) keep the order of the read through the table and into every COPY,
    and nothing joins the rows (a hash join may emit them in another order): the reference
    data are a MAP and an IN list.
    """
    minor_map = (
        "MAP {"
        + ", ".join(f"'{code}': {minor}" for code, minor in sorted(minor_units.items()))
        + "}"
    )
    country_list = ", ".join(f"'{code}'" for code in sorted(countries))
    utc = f"""TRY_CAST(substr({TS}, 1, 10) || ' ' || substr({TS}, 12, 8) AS TIMESTAMP)
              - to_minutes(({OFFSET})::BIGINT)"""
    fraction = f"CASE WHEN substr({TS}, 20, 1) = '.' THEN regexp_extract({TS}, '^.{{19}}(\\.[0-9]+)', 1) ELSE '' END"

    def scrubbed(column: str) -> str:  # the Python UDF only where a card number may hide
        return f"nullif(CASE WHEN regexp_matches({column}, '{SCRUB_PREFILTER}') THEN scrub({column}) ELSE {column} END, '')"

    meta_cols = ", ".join(f"'{value}' AS {name}" for name, value in meta.items())
    processed = (
        'transaction_id, account_id, o_timestamp AS "timestamp", o_amount AS amount, '
        "o_currency AS currency, o_transaction_type AS transaction_type, o_merchant AS merchant, "
        "o_category AS category, o_card_number AS card_number, o_country AS country"
    )
    return [
        # 1. read, check and normalize in one pass; the duplicate test needs every row's
        #    verdict first, so it is step 2.
        f"""CREATE TEMP TABLE job AS
            WITH raw AS (
              SELECT row_number() OVER () AS k, * FROM {read_csv(path)}
            ), parts AS (
              SELECT *,
                CASE WHEN regexp_full_match(currency, '[A-Za-z]+') THEN {minor_map}[upper(currency)] END AS minor,
                upper(country) IN ({country_list}) AS country_known,
                ltrim(amount_parts[1], '0') AS head,
                rtrim(coalesce(amount_parts[2], ''), '0') AS frac,
                TRY_CAST(card_number AS UBIGINT) AS card_n
              FROM (SELECT *, string_split(amount, '.') AS amount_parts FROM raw)
            ), checked AS (
              SELECT *, CASE {PRE} END AS pre, CASE {POST} END AS post
              FROM parts
            ), timed AS (
              SELECT *, {utc} AS utc FROM checked
            )
            SELECT k, coalesce(pre, post) AS code, pre IS NOT NULL AS failed_pre,
              transaction_id, account_id,
              strftime(utc, '%Y-%m-%dT%H:%M:%S') || {fraction} || 'Z' AS o_timestamp,
              strftime(utc, '%Y-%m-%d') AS transaction_date,
              CASE WHEN minor = 0 THEN coalesce(nullif(head, ''), '0')
                   ELSE coalesce(nullif(head, ''), '0') || '.' || rpad(frac, minor, '0') END AS o_amount,
              upper(currency) AS o_currency, upper(transaction_type) AS o_transaction_type,
              CASE WHEN pre IS NULL AND post IS NULL THEN {scrubbed("merchant")} END AS o_merchant,
              CASE WHEN pre IS NULL AND post IS NULL THEN {scrubbed("category")} END AS o_category,
              nullif(CASE WHEN length(card_number) > 4
                   THEN repeat('*', length(card_number) - 4) || right(card_number, 4)
                   ELSE card_number END, '') AS o_card_number,
              nullif(upper(country), '') AS o_country,
              TRY_CAST(head || rpad(frac, minor, '0') AS HUGEINT) AS minor_units
            FROM timed""",
        # 2. DUPLICATE_ID: an id an accepted row took earlier (decided before the columns
        #    after the id, so it replaces their code).
        """UPDATE job SET code = 'DUPLICATE_ID'
            FROM (SELECT transaction_id, min(k) AS first_k FROM job WHERE code IS NULL
                  GROUP BY transaction_id HAVING count(*) > 1) AS firsts
            WHERE job.transaction_id = firsts.transaction_id AND job.k > firsts.first_k
              AND NOT job.failed_pre""",
        f"""COPY (SELECT k, code FROM job WHERE code IS NOT NULL)
            TO '{out_dir}/rejected.csv' (HEADER false)""",
        f"""COPY (SELECT {processed} FROM job WHERE code IS NULL)
            TO '{out_dir}/processed.jsonl' (FORMAT json)""",
        f"""COPY (SELECT {processed}, {meta_cols}, transaction_date FROM job WHERE code IS NULL)
            TO '{out_dir}/enriched.jsonl' (FORMAT json)""",
        """CREATE TEMP TABLE totals AS SELECT o_currency AS currency,
              o_transaction_type = 'DEBIT' AS debit, count(*) AS n, sum(minor_units) AS minor_units
            FROM job WHERE code IS NULL GROUP BY ALL""",
    ]
