"""Dash pages (``dash.register_page``); helper modules start with ``_``."""
