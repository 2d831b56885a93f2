"""The consumer virtualenv and the folder the xdist workers share (see harness.py)."""

from .harness import consumer_env, consumer_root

__all__ = ["consumer_env", "consumer_root"]
