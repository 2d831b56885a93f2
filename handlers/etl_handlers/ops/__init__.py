"""Operator actions over a running pipeline (``redrive``: the dead-letter queues)."""
