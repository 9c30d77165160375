"""The panels of the overview (``webapp.pages.overview``): production and people tiles, the smelting chain,
energy, zones and violations, data sources and the compact 3D view. Each panel module fills its part of the
page's :class:`~webapp.panels.overview.view.View` (``fill_*``) and renders its slots from it; the page
assembles them and refreshes them all in one callback."""
