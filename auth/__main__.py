"""Manage the users of the command center: ``python -m auth <command>``.

add NAME --role ROLE     add a user; the password is made up and shown once (or read with --password-stdin)
disable NAME             the user can no longer log in; open sessions end at once
enable NAME              allow a disabled user again
reset NAME               a new password (shown once, or --password-stdin); ends sessions, lifts a lockout
role NAME ROLE           change the role
badge NAME [BADGE]       set the user's own badge (one of the plant file's people's badges); none without BADGE
unlock NAME              lift a lockout after too many wrong passwords
list                     every user with role, state and last login

Roles: executive, dispatcher, on-call, admin. The store is the one of the settings (SW_DATABASE_URL, or
var/smeltwatch.db), or --db URL. Every change is written to the security audit log.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session

from auth.login import Limits, lockout
from auth.passwords import PasswordError, random_password
from auth.policy import Role, parse_role
from auth.users import (
    UnknownBadgeError,
    UserError,
    add_user,
    list_users,
    set_active,
    set_badge,
    set_password,
    set_role,
    unlock,
)
from engine.clock import now_ms

logger = logging.getLogger("auth")

ADDRESS = "console"


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def _read_password(stdin: TextIO) -> str:
    line = stdin.readline()
    if not line:
        raise PasswordError("no password on standard input")
    return line.rstrip("\r\n")


def _areas(text: str | None) -> list[str] | None:
    return [a.strip() for a in text.split(",") if a.strip()] if text else None


def _people_badges(plant_file: Path) -> set[str]:
    """The badge ids of the people in the plant file (a user's own badge must be one of them)."""
    from plant.loader import load_plant
    from plant.schema import BadgeKind

    return {b.id for b in load_plant(plant_file).badges if b.kind == BadgeKind.PERSON}


def _fmt_time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def run(argv: list[str], stdin: TextIO, stdout: TextIO, db_url: str | None = None) -> int:
    from settings import get_settings
    from store.db import make_engine, migrate, session_scope

    parser = argparse.ArgumentParser(
        prog="python -m auth", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="database URL (default: the settings' store)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("add", help="add a user")
    p.add_argument("name")
    p.add_argument("--role", required=True, type=parse_role, help="executive, dispatcher, on-call or admin")
    p.add_argument("--display-name", default="", help="the name shown in the app and the audit log")
    p.add_argument("--email", default=None, help="for on-call notifications")
    p.add_argument("--areas", default=None, help="on-call: comma-separated plant area ids whose alerts are theirs")
    p.add_argument("--badge", default=None, help="the user's own badge id: the phone lists their special-work permits")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first input line")
    for name, helptext in (("disable", "disable a user"), ("enable", "enable a user"), ("unlock", "lift a lockout")):
        sub.add_parser(name, help=helptext).add_argument("name")
    p = sub.add_parser("reset", help="give a user a new password")
    p.add_argument("name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from the first input line")
    p = sub.add_parser("role", help="change a user's role")
    p.add_argument("name")
    p.add_argument("role", type=parse_role)
    p = sub.add_parser("badge", help="set a user's own badge (the phone lists their special-work permits)")
    p.add_argument("name")
    p.add_argument("badge", nargs="?", default=None, help="a person's badge id of the plant file; none: no badge")
    sub.add_parser("list", help="list users")
    args = parser.parse_args(argv)

    settings = get_settings()
    url = args.db or db_url or settings.db_url
    if url.startswith("sqlite"):
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrate(url)
    engine = make_engine(url)
    actor = _actor()

    def new_password(given: bool) -> tuple[str, bool]:
        return (_read_password(stdin), False) if given else (random_password(), True)

    def change(fn: Callable[[Session], str]) -> int:
        with session_scope(engine) as session:
            message = fn(session)
        stdout.write(message)
        return 0

    try:
        if args.command == "add":
            if args.badge and args.badge.strip() not in _people_badges(settings.plant_file):
                raise UnknownBadgeError(args.badge.strip()[:64])
            password, show = new_password(args.password_stdin)

            def _add(s: Session) -> str:
                add_user(
                    s,
                    args.name,
                    args.role,
                    password,
                    actor=actor,
                    address=ADDRESS,
                    display_name=args.display_name,
                    email=args.email,
                    areas=_areas(args.areas),
                    badge=args.badge,
                )
                text = f"user {args.name.strip().lower()} added with role {Role(args.role).value}\n"
                return text + (f"password (shown only now): {password}\n" if show else "")

            return change(_add)
        if args.command in ("disable", "enable"):
            active = args.command == "enable"
            return change(
                lambda s: (
                    f"user {set_active(s, args.name, active, actor=actor, address=ADDRESS).username} "
                    f"{'enabled' if active else 'disabled'}\n"
                )
            )
        if args.command == "reset":
            password, show = new_password(args.password_stdin)

            def _reset(s: Session) -> str:
                user = set_password(s, args.name, password, actor=actor, address=ADDRESS)
                text = f"password of {user.username} reset; its sessions ended\n"
                return text + (f"password (shown only now): {password}\n" if show else "")

            return change(_reset)
        if args.command == "role":
            return change(
                lambda s: (
                    f"user {set_role(s, args.name, args.role, actor=actor, address=ADDRESS).username} "
                    f"now has role {Role(args.role).value}\n"
                )
            )
        if args.command == "badge":
            known = _people_badges(settings.plant_file)

            def _badge(s: Session) -> str:
                user = set_badge(s, args.name, args.badge, known=known, actor=actor, address=ADDRESS)
                return (
                    f"user {user.username} now has badge {user.badge}\n"
                    if user.badge
                    else f"user {user.username} has no badge now\n"
                )

            return change(_badge)
        if args.command == "unlock":
            return change(lambda s: f"user {unlock(s, args.name, actor=actor, address=ADDRESS).username} unlocked\n")
        # list
        limits = Limits.from_settings(settings)
        now = now_ms()
        with session_scope(engine) as session:
            users = list_users(session)
            locked = {u.username: lockout(session, u.username, limits, now)[0] for u in users}
        if not users:
            stdout.write("no users\n")
        stdout.write(f"{'user':24} {'role':11} {'state':9} {'last login':16} name\n")
        for u in users:
            state = "disabled" if not u.active else ("locked" if locked[u.username] else "active")
            stdout.write(f"{u.username:24} {u.role:11} {state:9} {_fmt_time(u.last_login_at):16} {u.display_name}\n")
        return 0
    except (UserError, PasswordError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    finally:
        engine.dispose()


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run(sys.argv[1:], sys.stdin, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
