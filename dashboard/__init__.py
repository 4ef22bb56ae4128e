"""The Dash app: layout, thin callbacks, and the ``hbm`` command line."""
