"""Panels of the incident replay page (``/replay``)."""
