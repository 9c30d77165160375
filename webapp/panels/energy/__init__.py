"""Panels of the energy page (``/energy``)."""
