"""The panels of the video page (``webapp.pages.video``): the camera grid with its live view, the video alarm
feed with its filters, and the event dialog with its actions, each with its layout builders and callbacks;
ids and helpers shared by them in :mod:`.ids` and :mod:`.common`."""
