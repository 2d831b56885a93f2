"""The Lambda handlers of etl-constructs: one asset, one namespaced package.

Layers point one way: the function packages (thin Powertools shells) -> ``app`` (use
cases) -> ``aws`` (adapters) and ``engines`` -> ``core`` (stdlib only). ``contract`` holds
the facts the constructs and the handlers share.
"""
