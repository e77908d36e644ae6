"""Tables of the orders app, in the ``orders`` schema (they arrive with the checkout issue)."""
