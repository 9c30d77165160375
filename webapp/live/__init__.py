"""Live data builders shared by every screen (cached snapshots, summaries, per-page data)."""
