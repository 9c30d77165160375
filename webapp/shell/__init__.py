"""The shell around every page: navbar, plant clock, data health, alarm banner, user menu."""
