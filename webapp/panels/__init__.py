"""Panels of the pages, one package per page (``webapp.panels.<page>``), a module per panel: its layout
builders and its callbacks, which the gate checks against the page's line of the policy."""
