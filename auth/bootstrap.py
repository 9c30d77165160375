"""The first administrator of a new installation: created with a random password when no user exists.

There is no default password anywhere: the password is made here, returned once to the caller (the demo
prints it on its console) and kept only as its hash.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from auth.passwords import random_password
from auth.policy import Role
from auth.users import add_user, count_users
from store.db import session_scope

logger = logging.getLogger(__name__)

FIRST_ADMIN = "admin"


def ensure_first_admin(engine: Engine) -> tuple[str, str] | None:
    """Create the administrator when the store has no user at all; returns (name, password) then, else None."""
    with session_scope(engine) as session:
        if count_users(session) > 0:
            return None
        password = random_password()
        add_user(
            session,
            FIRST_ADMIN,
            Role.ADMIN,
            password,
            actor="first-start",
            address="console",
            display_name="Administrator",
        )
    logger.info("first start: administrator %r created", FIRST_ADMIN)
    return FIRST_ADMIN, password


def first_admin_notice(username: str, password: str, url: str) -> str:
    """The console text that shows the first administrator's password, once."""
    line = "=" * 72
    return (
        f"\n{line}\n"
        f"  First start: an administrator account was created for {url}\n"
        f"    user name: {username}\n"
        f"    password:  {password}\n"
        "  This password is shown only this once. Manage users with: .venv/bin/python -m auth --help\n"
        f"{line}\n\n"
    )
