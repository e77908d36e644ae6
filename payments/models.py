"""Tables of the payments app, in the ``payments`` schema (they arrive with the checkout issue)."""
