"""Shell and cross-page callbacks (clock, data health, language switch)."""
