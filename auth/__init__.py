"""Login, users, roles, sessions, the policy of who may see what, and the security audit log (feature C3).

- ``auth.policy``: roles, permissions and the table of pages, callbacks and routes each role may use;
- ``webapp.gate``: the Flask side - login and logout, the check of every request, security headers,
  ``current_user()`` and ``client_address()`` for pages and callbacks;
- ``auth.auditlog``: the security audit log's rows and searches (``webapp.audit.audit`` records a web action);
- ``python -m auth``: add, disable, enable, reset and list users.
"""

from __future__ import annotations

from auth.policy import NotLoggedInError, Perm, Principal, Role

__all__ = ["NotLoggedInError", "Perm", "Principal", "Role"]
