"""The consumer virtualenv, the folder the xdist workers share, and the one run two modules
read (see harness.py)."""

from .harness import consumer_env, consumer_root, custom_schema_run

__all__ = ["consumer_env", "consumer_root", "custom_schema_run"]
