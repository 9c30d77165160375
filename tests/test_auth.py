"""Login and users (auth/): argon2 hashing, users and their audit rows (user, time, address), the append-only
audit log, lockout per user name, rate limit per address, sessions with idle and absolute expiry, the CLI,
the first administrator, and that no password or hash ever reaches a log or the audit log."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from auth import auditlog
from auth.__main__ import run as cli
from auth.bootstrap import ensure_first_admin, first_admin_notice
from auth.login import Limits, Outcome, attempt_login, lockout
from auth.passwords import PasswordError, check_policy, hash_password, random_password, verify_password
from auth.policy import Perm, Principal, Role, allowed, parse_role
from auth.sessions import SessionState, purge_expired, resolve, token_id
from auth.users import UserError, add_user, get_user, list_users, set_active, set_password, set_role, unlock
from settings import ROOT
from store.db import make_engine, migrate, session_scope
from store.models import AppUser, SecurityAudit, UserSession

T0 = 1_800_000_000_000  # a fixed "now" in ms: time in these tests is given, never read from the clock
PW = "correct horse battery"
LIMITS = Limits(max_failures=3, lockout_ms=15 * 60_000, rate_max=6, rate_ms=10 * 60_000, idle_ms=60_000, max_ms=600_000)


@pytest.fixture
def engine(sqlite_url: str):  # type: ignore[no-untyped-def]
    migrate(sqlite_url)
    eng = make_engine(sqlite_url)
    yield eng
    eng.dispose()


def _add(engine, name: str = "alice", role: Role = Role.DISPATCHER, password: str = PW) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        add_user(s, name, role, password, actor="test", address="10.0.0.9")


def _login(engine, name: str, password: str, now: int, address: str = "10.0.0.1"):  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return attempt_login(s, name, password, address=address, user_agent="pytest", limits=LIMITS, now_ms=now)


def _events(engine) -> list[SecurityAudit]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        return list(s.execute(select(SecurityAudit).order_by(SecurityAudit.id)).scalars())


# --- passwords -----------------------------------------------------------------------------------------


def test_argon2_hashes_are_salted_and_verify() -> None:
    h1, h2 = hash_password(PW), hash_password(PW)
    assert h1.startswith("$argon2id$v=19$m=65536,t=3,p=4$") and h1 != h2
    assert verify_password(h1, PW) and verify_password(h2, PW)
    assert not verify_password(h1, PW + " ") and not verify_password(h1, "")
    # unknown users (no hash), broken hashes and hostile input are all just "no"
    assert not verify_password(None, PW)
    assert not verify_password("not-a-hash", PW)
    assert not verify_password(h1, None)  # type: ignore[arg-type]
    assert not verify_password(h1, "x" * 1_000_000)
    for bad, why in (("short", "at least"), (" padded password ", "spaces"), ("alice-password", "user name")):
        with pytest.raises(PasswordError, match=why):
            check_policy(bad, "alice")
    pw = random_password()
    assert len(pw) == 16 and pw.isalnum() and pw != random_password()
    check_policy(pw, "admin")


def test_roles_and_permissions() -> None:
    assert parse_role("oncall") is Role.ON_CALL and parse_role(" On_Call ") is Role.ON_CALL
    with pytest.raises(ValueError, match="unknown role"):
        parse_role("root")
    exe = Principal.of(1, "e", "executive")
    assert exe.can(Perm.OVERVIEW) and exe.can(Perm.POSITIONS)
    assert not exe.can(Perm.NAMES) and not exe.can(Perm.VIDEO) and not exe.can(Perm.ACK)
    oncall = Principal.of(2, "o", Role.ON_CALL, areas=["acid"])
    assert oncall.can(Perm.ACK) and not oncall.can(Perm.ALARMS) and oncall.areas == ("acid",)
    assert Principal.of(3, "a", "admin").can(Perm.AUDIT) and not Principal.of(4, "d", "dispatcher").can(Perm.AUDIT)
    assert not allowed(None, Perm.OVERVIEW) and not allowed(exe, None)


# --- users and the audit log ------------------------------------------------------------------------------


def test_user_changes_are_audited_with_user_time_and_address(db_url: str) -> None:
    migrate(db_url)
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            add_user(s, "  Alice.W ", "dispatcher", PW, actor="cli:root", address="console", display_name="王丽")
        with session_scope(engine) as s:
            with pytest.raises(UserError, match="exists"):
                add_user(s, "alice.w", "executive", PW, actor="x")
            for bad in ("", "a b", "<script>", "x" * 65, 42):
                with pytest.raises(UserError):
                    add_user(s, bad, "executive", PW, actor="x")  # type: ignore[arg-type]
            with pytest.raises(ValueError):
                add_user(s, "bob", "root", PW, actor="x")
            with pytest.raises(UserError, match="no user"):
                set_active(s, "nobody", False, actor="x")
        with session_scope(engine) as s:
            user = get_user(s, "ALICE.W")
            assert user is not None and user.username == "alice.w" and user.display_name == "王丽"
            assert user.password_hash.startswith("$argon2id$") and PW not in user.password_hash
            set_role(s, "alice.w", Role.EXECUTIVE, actor="admin", address="10.1.2.3")
            set_active(s, "alice.w", False, actor="admin", address="10.1.2.3")
            set_active(s, "alice.w", True, actor="admin", address="10.1.2.3")
            set_password(s, "alice.w", "another good one", actor="admin", address="10.1.2.3")
            unlock(s, "alice.w", actor="admin", address="10.1.2.3")
        with session_scope(engine) as s:
            assert [u.username for u in list_users(s)] == ["alice.w"]
            rows = list(s.execute(select(SecurityAudit).order_by(SecurityAudit.id)).scalars())
        assert [r.event for r in rows] == [
            "user_added",
            "role_changed",
            "user_disabled",
            "user_enabled",
            "password_reset",
            "user_unlocked",
        ]
        assert all(r.target == "alice.w" and r.ts > 1_600_000_000_000 for r in rows)
        assert (rows[0].user, rows[0].address, rows[0].detail) == ("cli:root", "console", "role dispatcher")
        assert (rows[1].user, rows[1].address, rows[1].detail) == ("admin", "10.1.2.3", "dispatcher -> executive")
        # the audit log is append-only in the database itself
        for stmt in ("UPDATE security_audit SET detail = 'x'", "DELETE FROM security_audit"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(stmt))
        with session_scope(engine) as s:
            assert len(s.execute(select(SecurityAudit)).all()) == 6
    finally:
        engine.dispose()


def test_audit_records_hostile_and_oversized_text_and_searches(engine) -> None:  # type: ignore[no-untyped-def]
    hostile = '<img src=x onerror="alert(1)">'
    with session_scope(engine) as s:
        auditlog.record(s, "alarm_ack", user="bob", address="10.0.0.7", target="ALM-1", detail=hostile, ts=T0)
        auditlog.record(s, "alarm_shelve", user="bob", target="x" * 300, detail="y" * 5000, ts=T0 + 1)
        auditlog.record(s, "muster_declared", user="carol", address="10.0.0.8", detail="drill 50%_off", ts=T0 + 2)
        for bad in ("", "Bad Event", "x" * 33, "drop;table"):
            with pytest.raises(ValueError):
                auditlog.record(s, bad)
    with session_scope(engine) as s:
        rows, total = auditlog.search(s, auditlog.AuditQuery())
        assert total == 3 and [r.event for r in rows] == ["muster_declared", "alarm_shelve", "alarm_ack"]
        assert rows[2].detail == hostile  # recorded as given, shown as text
        assert len(rows[1].target or "") == 255 and (rows[1].target or "").endswith("…")
        assert len(rows[1].detail or "") == auditlog.MAX_DETAIL
        assert [r.event for r in auditlog.search(s, auditlog.AuditQuery(user="BO"))[0]] == [
            "alarm_shelve",
            "alarm_ack",
        ]
        assert auditlog.search(s, auditlog.AuditQuery(text="ONERROR"))[1] == 1
        assert auditlog.search(s, auditlog.AuditQuery(text="50%_"))[1] == 1  # LIKE wildcards are literal
        assert auditlog.search(s, auditlog.AuditQuery(text="%"))[1] == 1
        assert auditlog.search(s, auditlog.AuditQuery(event="alarm_ack", since=T0, until=T0 + 1))[1] == 1
        assert auditlog.search(s, auditlog.AuditQuery(address="10.0.0.8"))[1] == 1
        rows, total = auditlog.search(s, auditlog.AuditQuery(limit=2))
        assert len(rows) == 2 and total == 3


# --- login: lockout and rate limit -------------------------------------------------------------------------


def test_login_success_creates_a_session_and_audits_it(engine) -> None:  # type: ignore[no-untyped-def]
    _add(engine)
    result = _login(engine, " ALICE ", PW, T0)
    assert result.outcome is Outcome.OK and result.token and len(result.token) >= 40
    with session_scope(engine) as s:
        row = s.get(UserSession, token_id(result.token))
        assert row is not None and row.address == "10.0.0.1" and row.user_agent == "pytest"
        assert row.expires_at == T0 + LIMITS.max_ms
        assert result.token not in str(s.execute(select(UserSession.id)).all())  # only the digest is stored
        assert s.execute(select(AppUser.last_login_at)).scalar_one() == T0
    login = _events(engine)[-1]
    assert (login.event, login.user, login.role, login.address, login.ts) == (
        "login",
        "alice",
        "dispatcher",
        "10.0.0.1",
        T0,
    )


def test_lockout_after_repeated_wrong_passwords_then_expires(engine) -> None:  # type: ignore[no-untyped-def]
    _add(engine)
    assert _login(engine, "alice", "wrong-1-password", T0).outcome is Outcome.BAD
    assert _login(engine, "alice", "wrong-2-password", T0 + 1000).outcome is Outcome.BAD
    third = _login(engine, "alice", "wrong-3-password", T0 + 2000)
    assert third.outcome is Outcome.LOCKED and third.retry_after_s == 15 * 60 - 2  # told at once
    # locked: even the right password is refused, without being checked
    locked = _login(engine, "alice", PW, T0 + 60_000)
    assert locked.outcome is Outcome.LOCKED and locked.token is None and locked.retry_after_s == 14 * 60
    # the lock ends when the oldest wrong password is older than the lockout period
    assert _login(engine, "alice", PW, T0 + 15 * 60_000 + 1).outcome is Outcome.OK
    events = [(e.event, e.detail) for e in _events(engine)][1:]
    assert events == [
        ("login_failed", "wrong password"),
        ("login_failed", "wrong password"),
        ("login_failed", "wrong password"),
        ("login_locked", None),
        ("login", None),
    ]
    # a successful login starts the count afresh
    t = T0 + 16 * 60_000
    assert _login(engine, "alice", "wrong-4-password", t).outcome is Outcome.BAD
    assert _login(engine, "alice", PW, t + 1).outcome is Outcome.OK


def test_unknown_names_lock_like_known_ones_and_an_admin_unlocks(engine) -> None:  # type: ignore[no-untyped-def]
    _add(engine)
    answers = [
        _login(engine, name, "wrong-password-x", T0 + i, address=f"10.0.1.{i}").outcome
        for name in ("alice", "ghost")
        for i in range(3)
    ]
    assert answers == [Outcome.BAD, Outcome.BAD, Outcome.LOCKED] * 2  # no way to tell who exists
    details = [e.detail for e in _events(engine) if e.event == "login_failed"]
    assert details == ["wrong password"] * 3 + ["unknown user"] * 3
    with session_scope(engine) as s:
        assert lockout(s, "alice", LIMITS, T0 + 10)[0]
        unlock(s, "alice", actor="admin", address="10.0.0.2", now_ms=T0 + 10)
    assert _login(engine, "alice", PW, T0 + 20).outcome is Outcome.OK
    with session_scope(engine) as s:  # a password reset also lifts the lock
        for i in range(3):
            attempt_login(
                s, "alice", "wrong-password-y", address="10.0.0.3", user_agent=None, limits=LIMITS, now_ms=T0 + 30 + i
            )
        assert lockout(s, "alice", LIMITS, T0 + 40)[0]
        set_password(s, "alice", "a brand new one", actor="admin", now_ms=T0 + 41)
    assert _login(engine, "alice", "a brand new one", T0 + 50).outcome is Outcome.OK


def test_disabled_user_gets_the_same_answer_as_a_wrong_password(engine) -> None:  # type: ignore[no-untyped-def]
    _add(engine)
    with session_scope(engine) as s:
        set_active(s, "alice", False, actor="admin")
    assert _login(engine, "alice", PW, T0).outcome is Outcome.BAD
    assert _events(engine)[-1].detail == "user disabled"


def test_rate_limit_per_address(engine) -> None:  # type: ignore[no-untyped-def]
    _add(engine)
    names = [f"user{i}" for i in range(LIMITS.rate_max)]
    assert all(
        _login(engine, n, "wrong-password-z", T0 + i, address="10.9.9.9").outcome is Outcome.BAD
        for i, n in enumerate(names)
    )
    limited = _login(engine, "alice", PW, T0 + 100, address="10.9.9.9")  # even the right password
    assert limited.outcome is Outcome.RATE_LIMITED and limited.token is None and limited.retry_after_s == 600
    for i in range(5):
        assert _login(engine, "alice", PW, T0 + 200 + i, address="10.9.9.9").outcome is Outcome.RATE_LIMITED
    assert _login(engine, "alice", PW, T0 + 300, address="10.0.0.5").outcome is Outcome.OK  # other addresses work
    events = [e.event for e in _events(engine)]
    assert events.count("login_rate_limited") == 1  # a flood cannot fill the audit log
    assert _login(engine, "alice", PW, T0 + LIMITS.rate_ms + 1, address="10.9.9.9").outcome is Outcome.OK


# --- sessions ----------------------------------------------------------------------------------------------


def test_sessions_expire_when_idle_at_their_end_and_when_disabled(engine) -> None:  # type: ignore[no-untyped-def]
    _add(engine)
    tok = _login(engine, "alice", PW, T0).token
    with session_scope(engine) as s:
        r = resolve(s, tok, now_ms=T0 + 30_000, idle_ms=LIMITS.idle_ms)
        assert r.state is SessionState.OK and r.user is not None and r.user.username == "alice"
        assert resolve(s, "forged-token", now_ms=T0, idle_ms=LIMITS.idle_ms).state is SessionState.NONE
        assert resolve(s, None, now_ms=T0, idle_ms=LIMITS.idle_ms).state is SessionState.NONE
        assert resolve(s, "x" * 5000, now_ms=T0, idle_ms=LIMITS.idle_ms).state is SessionState.NONE
    with session_scope(engine) as s:  # idle: nothing for longer than idle_ms
        idle = T0 + 30_000 + LIMITS.idle_ms + 1  # last seen at T0 + 30 s
        assert resolve(s, tok, now_ms=idle, idle_ms=LIMITS.idle_ms).state is SessionState.EXPIRED
    with session_scope(engine) as s:
        assert resolve(s, tok, now_ms=T0 + 1, idle_ms=LIMITS.idle_ms).state is SessionState.NONE  # deleted

    tok = _login(engine, "alice", PW, T0).token
    t = T0
    with session_scope(engine) as s:  # activity keeps it alive, but not past its absolute end
        while t + 50_000 < T0 + LIMITS.max_ms:
            t += 50_000
            assert resolve(s, tok, now_ms=t, idle_ms=LIMITS.idle_ms).state is SessionState.OK
        assert resolve(s, tok, now_ms=T0 + LIMITS.max_ms, idle_ms=LIMITS.idle_ms).state is SessionState.EXPIRED

    tok = _login(engine, "alice", PW, T0).token
    with session_scope(engine) as s:
        set_active(s, "alice", False, actor="admin")  # disabling ends the sessions at once
    with session_scope(engine) as s:
        assert resolve(s, tok, now_ms=T0 + 1, idle_ms=LIMITS.idle_ms).state is SessionState.NONE
        set_active(s, "alice", True, actor="admin")
    tok = _login(engine, "alice", PW, T0).token
    with session_scope(engine) as s:
        set_password(s, "alice", "yet another password", actor="admin")
    with session_scope(engine) as s:
        assert resolve(s, tok, now_ms=T0 + 1, idle_ms=LIMITS.idle_ms).state is SessionState.NONE
        old = _login(engine, "alice", "yet another password", T0 - 10 * 60_000).token
        assert purge_expired(s, now_ms=T0, idle_ms=LIMITS.idle_ms) == 1
    with session_scope(engine) as s:
        assert resolve(s, old, now_ms=T0, idle_ms=LIMITS.idle_ms).state is SessionState.NONE


# --- the command-line tool ------------------------------------------------------------------------------


def _cli(url: str, *args: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = cli(["--db", url, *args], io.StringIO(stdin), out)
    return code, out.getvalue()


def _printed_password(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("password (shown only now): ")]
    assert len(lines) == 1, out
    return lines[0].split(": ", 1)[1]


def test_cli_adds_disables_enables_resets_and_lists(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _cli(sqlite_url, "add", "Dora", "--role", "dispatcher", "--display-name", "Dora Li")
    assert code == 0 and "user dora added with role dispatcher" in out
    first = _printed_password(out)
    code, out = _cli(
        sqlite_url, "add", "olga", "--role", "oncall", "--areas", "acid, fsf", "--password-stdin", stdin=PW + "\n"
    )
    assert code == 0 and "shown only now" not in out
    engine = make_engine(sqlite_url)
    try:
        assert _login(engine, "dora", first, T0).outcome is Outcome.OK
        assert _login(engine, "olga", PW, T0).outcome is Outcome.OK
        with session_scope(engine) as s:
            olga = get_user(s, "olga")
            assert olga is not None and olga.role == "on-call" and olga.areas == ["acid", "fsf"]

        assert _cli(sqlite_url, "disable", "dora")[0] == 0
        assert _login(engine, "dora", first, T0 + 1).outcome is Outcome.BAD
        assert _cli(sqlite_url, "enable", "dora")[0] == 0
        code, out = _cli(sqlite_url, "reset", "dora")
        second = _printed_password(out)
        assert code == 0 and second != first
        assert _login(engine, "dora", first, T0 + 2).outcome is Outcome.BAD
        assert _login(engine, "dora", second, T0 + 3).outcome is Outcome.OK
        assert _cli(sqlite_url, "role", "dora", "executive")[0] == 0
        code, out = _cli(sqlite_url, "list")
        assert code == 0
        rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
        assert rows["dora"][1:3] == ["executive", "active"] and rows["olga"][1:3] == ["on-call", "active"]
        assert first not in out and second not in out

        # errors: a clear message and exit code 1, nothing changed
        assert _cli(sqlite_url, "add", "dora", "--role", "admin")[0] == 1
        assert _cli(sqlite_url, "reset", "nobody")[0] == 1
        assert _cli(sqlite_url, "add", "eve", "--role", "admin", "--password-stdin", stdin="short\n")[0] == 1
        assert _cli(sqlite_url, "add", "<b>x</b>", "--role", "admin")[0] == 1
        err = capsys.readouterr().err
        assert "exists already" in err and "no user 'nobody'" in err and "at least 10" in err and "user name has" in err
        with session_scope(engine) as s:
            assert [u.username for u in list_users(s)] == ["dora", "olga"]
            events = [(r.event, r.user, r.address) for r in s.execute(select(SecurityAudit)).scalars()]
        assert ("user_added", "cli:" + _login_name(), "console") in events
        assert [e[0] for e in events if e[0] not in ("login", "login_failed")] == [
            "user_added",
            "user_added",
            "user_disabled",
            "user_enabled",
            "password_reset",
            "role_changed",
        ]
    finally:
        engine.dispose()


def _login_name() -> str:
    import getpass

    return getpass.getuser()


def test_cli_runs_as_a_module(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    proc = subprocess.run(
        [sys.executable, "-m", "auth", "--db", url, "add", "kim", "--role", "executive", "--password-stdin"],
        input=PW + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "auth", "--db", url, "list"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert listed.returncode == 0 and "kim" in listed.stdout and "executive" in listed.stdout
    assert (
        subprocess.run(
            [sys.executable, "-m", "auth", "--db", url, "role", "kim", "root"], capture_output=True, cwd=ROOT
        ).returncode
        == 2
    )


# --- the first administrator ---------------------------------------------------------------------------------


def test_first_start_creates_one_admin_with_a_random_password(engine) -> None:  # type: ignore[no-untyped-def]
    created = ensure_first_admin(engine)
    assert created is not None
    name, password = created
    assert name == "admin" and len(password) == 16
    assert ensure_first_admin(engine) is None  # only on the very first start
    assert _login(engine, "admin", password, T0).outcome is Outcome.OK
    with session_scope(engine) as s:
        assert [(u.username, u.role) for u in list_users(s)] == [("admin", "admin")]
    notice = first_admin_notice(name, password, "http://127.0.0.1:8050/")
    assert notice.count(password) == 1 and "shown only this once" in notice
    other = make_engine(f"sqlite:///{engine.url.database}.2")
    try:
        migrate(str(other.url))
        again = ensure_first_admin(other)
        assert again is not None and again[1] != password  # no fixed default password
    finally:
        other.dispose()


# --- nothing secret in the logs ------------------------------------------------------------------------------


def test_no_password_or_hash_is_ever_logged(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "S3cret-horse-battery"
    typed_into_name = "Another-Secret-2024"
    code, out = _cli(sqlite_url, "add", "lee", "--role", "dispatcher", "--password-stdin", stdin=secret + "\n")
    assert code == 0
    code, out = _cli(sqlite_url, "reset", "lee")
    generated = _printed_password(out)
    engine = make_engine(sqlite_url)
    try:
        assert _login(engine, "lee", secret, T0).outcome is Outcome.BAD
        assert _login(engine, "lee", generated, T0 + 1).outcome is Outcome.OK
        assert _login(engine, typed_into_name, generated, T0 + 2).outcome is Outcome.BAD
        for i in range(4):
            _login(engine, "lee", secret, T0 + 10 + i)
        with session_scope(engine) as s:
            stored = s.execute(select(AppUser.password_hash)).scalar_one()
            audit_text = " ".join(str(tuple(r)) for r in s.execute(select(SecurityAudit)).all())
    finally:
        engine.dispose()
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert "login failed" in logged and "reset" in logged  # the events are logged...
    for needle in (secret, generated, stored, stored.split("$")[-1], typed_into_name.lower()):
        assert needle not in logged  # ...but never a password or a hash
    for needle in (secret, generated, stored):
        assert needle not in audit_text


# --- the web app: login page, logout, audit -------------------------------------------------------------------


def _web(tmp_path, **overrides):  # type: ignore[no-untyped-def]
    from tests.webutil import seed_store
    from webapp.app import create_app

    settings = seed_store(tmp_path).model_copy(update=overrides)
    return create_app(settings), settings


def _post_login(client, name: str, password: str, next_: str = "/scene", **headers: str):  # type: ignore[no-untyped-def]
    return client.post("/login", data={"username": name, "password": password, "next": next_}, headers=headers)


def test_login_page_logs_in_with_a_hardened_cookie_and_audits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.webutil import make_user
    from webapp.gate import SESSION_COOKIE

    app, settings = _web(tmp_path)
    make_user(settings, "dispatcher", "dina", PW)
    client = app.server.test_client()
    page = client.get("/login?next=/scene")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert 'name="username"' in body and 'type="password"' in body and 'value="/scene"' in body
    assert 'data-bs-theme="dark"' in body and "<script" not in body  # no script at all on the login page
    csp = page.headers["Content-Security-Policy"]
    script_src = next(p for p in csp.split("; ") if p.startswith("script-src "))
    assert "'unsafe-eval'" not in csp and "'unsafe-inline'" not in script_src and "'self'" in script_src
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"

    bad = _post_login(client, "dina", "not the password")
    assert bad.status_code == 200 and "Wrong user name or password." in bad.get_data(as_text=True)
    assert 'value="dina"' in bad.get_data(as_text=True)  # the name stays typed in
    assert SESSION_COOKIE not in (bad.headers.get("Set-Cookie") or "")

    ok = _post_login(client, "dina", PW)
    assert ok.status_code == 303 and ok.headers["Location"] == "/scene"
    cookie = ok.headers["Set-Cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie and f"Max-Age={int(settings.session_max_hours * 3600)}" in cookie
    assert client.get("/login").status_code == 303  # logged in: the login page sends you on
    first = cookie.split(";")[0].split("=", 1)[1]
    again = client.post("/login", data={"username": "dina", "password": PW})  # a new login: a new session...
    assert again.status_code == 303 and first not in again.headers["Set-Cookie"]

    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            rows = [(r.event, r.user, r.address, r.detail) for r in s.execute(select(SecurityAudit)).scalars()]
    finally:
        engine.dispose()
    assert ("login_failed", "dina", "127.0.0.1", "wrong password") in rows
    assert ("login", "dina", "127.0.0.1", None) in rows
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:  # ...and the one before is gone, not left behind
            assert s.get(UserSession, token_id(first)) is None
            assert len(s.execute(select(UserSession)).all()) == 1
    finally:
        engine.dispose()


def test_login_over_https_sets_a_secure_cookie(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.webutil import make_user

    app, settings = _web(tmp_path)
    make_user(settings, "executive", "eli", PW)
    client = app.server.test_client()
    ok = client.post("/login", data={"username": "eli", "password": PW}, base_url="https://plant.example")
    assert ok.status_code == 303 and "Secure" in ok.headers["Set-Cookie"]
    assert ok.headers["Strict-Transport-Security"].startswith("max-age=")
    assert ok.headers["Location"] == "/"  # the executive's start page


def test_login_refuses_open_redirects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.webutil import make_user

    app, settings = _web(tmp_path)
    make_user(settings, "dispatcher", "dina", PW)
    for hostile in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/login"):
        client = app.server.test_client()
        resp = _post_login(client, "dina", PW, next_=hostile)
        assert resp.status_code == 303 and resp.headers["Location"] == "/", hostile


def test_logout_ends_the_session_and_audits(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.webutil import make_user
    from webapp.gate import SESSION_COOKIE

    app, settings = _web(tmp_path)
    make_user(settings, "dispatcher", "dina", PW)
    client = app.server.test_client()
    token = _post_login(client, "dina", PW).headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    client.get("/logout")  # only a POST logs out (no logout by a link or an image elsewhere)
    assert client.get("/login").status_code == 303  # still logged in
    out = client.post("/logout")
    assert out.status_code == 303 and out.headers["Location"] == "/login?bye=1"
    assert f"{SESSION_COOKIE}=;" in out.headers["Set-Cookie"] and "Max-Age=0" in out.headers["Set-Cookie"]
    assert "You have logged out." in client.get("/login?bye=1").get_data(as_text=True)
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            assert s.get(UserSession, token_id(token)) is None
            last = s.execute(select(SecurityAudit).order_by(SecurityAudit.id.desc())).scalars().first()
            assert last is not None and (last.event, last.user, last.role, last.address) == (
                "logout",
                "dina",
                "dispatcher",
                "127.0.0.1",
            )
    finally:
        engine.dispose()


def test_web_login_lockout_and_rate_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.webutil import make_user

    app, settings = _web(tmp_path, login_max_failures=3, login_rate_max=5)
    make_user(settings, "dispatcher", "dina", PW)
    client = app.server.test_client()
    assert [_post_login(client, "dina", f"wrong password {i}").status_code for i in range(3)] == [200, 200, 429]
    locked = _post_login(client, "dina", PW)  # the right password, but locked
    assert locked.status_code == 429 and "Set-Cookie" not in locked.headers
    assert int(locked.headers["Retry-After"]) > 800
    assert "Too many wrong passwords for this user name. Try again in 15 min." in locked.get_data(as_text=True)
    # this address has now failed 4 times (3 wrong, 1 locked): one more and it is refused for any name
    assert _post_login(client, "someone", "wrong password x").status_code == 200
    limited = _post_login(client, "anyone", "wrong password y")
    assert limited.status_code == 429 and "from this device" in limited.get_data(as_text=True)
    other = app.server.test_client()
    ok = other.post("/login", data={"username": "dina", "password": PW}, environ_base={"REMOTE_ADDR": "10.2.3.4"})
    assert ok.status_code == 429  # the name is still locked, from any address


def test_audit_function_records_the_logged_in_user_and_address(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.webutil import logged_in_client
    from webapp.audit import audit
    from webapp.gate import current_user

    app, settings = _web(tmp_path)
    client = logged_in_client(app, settings, "dispatcher")
    seen = {}

    @app.server.post("/_test/ack")
    def _ack() -> str:
        seen["user"] = current_user()
        audit("alarm_ack", target="ALM-7", detail="checked on site <b>ok</b>")
        return "ok"

    from auth import policy

    policy.ROUTES["/_test/ack"] = policy.Perm.ACK
    try:
        assert client.post("/_test/ack", environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code == 200
    finally:
        del policy.ROUTES["/_test/ack"]
    assert seen["user"].username == "test-dispatcher"
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            row = s.execute(select(SecurityAudit).where(SecurityAudit.event == "alarm_ack")).scalar_one()
    finally:
        engine.dispose()
    assert (row.user, row.role, row.address, row.target, row.detail) == (
        "test-dispatcher",
        "dispatcher",
        "10.7.7.7",
        "ALM-7",
        "checked on site <b>ok</b>",
    )
    assert row.ts > 1_600_000_000_000


def _callback_post(client, app, output_id: str, values: dict[str, object], changed: str):  # type: ignore[no-untyped-def]
    """POST the callback that has ``output_id`` among its outputs, the way Dash's renderer does."""
    from tests.webutil import CALLBACK, callback_body

    client.get("/_dash-dependencies")  # Dash sets itself up on the first request
    key = next(k for k, v in app.callback_map.items() if "callback" in v and f"{output_id}." in k)
    spec = app.callback_map[key]

    def entries(deps):  # type: ignore[no-untyped-def]
        return [{"id": d["id"], "property": d["property"], "value": values.get(d["id"])} for d in deps]

    body = callback_body(key, entries(spec["inputs"]), entries(spec["state"]), [changed])
    return client.post(CALLBACK, json=body)


def test_acknowledge_and_muster_are_audited_with_the_logged_in_user(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.webutil import logged_in_client

    app, settings = _web(tmp_path)
    dispatcher = logged_in_client(app, settings, "dispatcher")
    executive = logged_in_client(app, settings, "executive")
    ack = {
        "alarms-modal-confirm": 1,
        "alarms-pending": {"action": "ack", "ids": ["tag:FF-1.TEMP:hh"]},
        "alarms-modal-comment": "checked on site <b>ok</b>",
    }
    assert _callback_post(executive, app, "alarms-sent", ack, "alarms-modal-confirm.n_clicks").status_code == 403
    assert _callback_post(dispatcher, app, "alarms-sent", ack, "alarms-modal-confirm.n_clicks").status_code == 200
    muster = {"personnel-declare-confirm": 1, "personnel-muster-name": "Wu Lei", "personnel-muster-note": "drill"}
    changed = "personnel-declare-confirm.submit_n_clicks"
    assert _callback_post(executive, app, "personnel-muster-msg", muster, changed).status_code == 403  # not theirs
    assert _callback_post(dispatcher, app, "personnel-muster-msg", muster, changed).status_code == 200
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            rows = {
                r.event: r
                for r in s.execute(
                    select(SecurityAudit).where(SecurityAudit.event.in_(("alarm_ack", "muster_declared")))
                )
                .scalars()
                .all()
            }
    finally:
        engine.dispose()
    a, m = rows["alarm_ack"], rows["muster_declared"]
    assert (a.user, a.role, a.address, a.target, a.detail) == (
        "test-dispatcher",
        "dispatcher",
        "127.0.0.1",
        "tag:FF-1.TEMP:hh",
        "checked on site <b>ok</b>",
    )
    assert a.data is not None and a.data["alarms"] == ["tag:FF-1.TEMP:hh"] and len(a.data["commands"]) == 1
    # the muster is declared under the logged-in user's name, whatever name was typed
    assert (m.user, m.role, m.address, m.detail) == ("test-dispatcher", "dispatcher", "127.0.0.1", "drill")


def test_web_login_logs_no_password_or_hash(tmp_path, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from tests.webutil import make_user

    caplog.set_level(logging.DEBUG)
    app, settings = _web(tmp_path)
    secret = "Web-Secret-horse-42"
    make_user(settings, "dispatcher", "wendy", secret)
    client = app.server.test_client()
    assert _post_login(client, "wendy", secret + "x").status_code == 200
    assert _post_login(client, "wendy", secret).status_code == 303
    assert client.post("/logout").status_code == 303
    engine = make_engine(settings.db_url)
    try:
        with session_scope(engine) as s:
            stored = s.execute(select(AppUser.password_hash).where(AppUser.username == "wendy")).scalar_one()
    finally:
        engine.dispose()
    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "login of wendy" in logged and "login failed for 'wendy'" in logged
    for needle in (secret, stored, stored.split("$")[-1]):
        assert needle not in logged
