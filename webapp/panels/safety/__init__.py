"""Panels of the safety page (``/safety``): the hidden-danger register and its workflow actions."""
