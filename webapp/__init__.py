"""The web tier: the app factory, request context, gate, routes, live data builders, pages, shell."""
