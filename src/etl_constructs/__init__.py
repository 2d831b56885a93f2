"""etl-constructs."""
