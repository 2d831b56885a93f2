"""The engines that validate, transform and enrich: ``reference`` (per row, the spec) and
``columnar`` (pyarrow). Neither imports the other's private names."""
