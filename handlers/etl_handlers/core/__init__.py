"""The stdlib-only core: schema, values, rules, masking, totals, id set, CSV reading,
formats, codes, errors. Imports nothing of ``aws``, ``app`` or ``engines``."""
