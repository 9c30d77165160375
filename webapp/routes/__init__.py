"""Flask routes other than pages and callbacks."""
