"""The panels of the personnel page (``webapp.pages.personnel``): the live map, headcount, violation feed,
follow, playback and heatmap, muster and exposure, each with its layout builders and callbacks; ids and small
renderers shared by them in :mod:`.ids` and :mod:`.common`."""
