"""Shared layout pieces: the shell (navbar, clock, health, language switch) and reusable widgets."""
