"""The reference engine: per row, pure Python, the specification."""
