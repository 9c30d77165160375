"""Operate a SmeltWatch installation: ``python -m plantctl <command>``.

demo      migrate the store, fill history on first run, start simulator, collectors and web app
migrate   apply the database migrations
status    print the collectors' health table
backup    a consistent backup of the store while everything runs (SQLite online backup, or pg_dump)
restore   put a backup back into the store (stop the other processes first) and check it
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from engine.clock import now_ms
from settings import ROOT, Settings, get_settings

logger = logging.getLogger("plantctl")


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the supervisor dies, even by SIGKILL (Linux), so no orphan keeps a port."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@dataclass
class Child:
    """A supervised process of the demo, restarted with backoff when it dies."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    log_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        assert self.log_path is not None
        log = self.log_path.open("ab")
        env = {**os.environ, **self.extra_env} if self.extra_env else None
        self.proc = subprocess.Popen(
            self.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
        log.close()
        logger.info("started %s (pid %d), log %s", self.name, self.proc.pid, self.log_path)

    def poll(self, now: float) -> None:
        if self.proc is None:
            if now >= self.next_start:
                self.start()
            return
        code = self.proc.poll()
        if code is None:
            return
        self.restarts += 1
        delay = min(30.0, 2.0**self.restarts)
        logger.warning("%s exited with %s; restarting in %.0f s (see %s)", self.name, code, delay, self.log_path)
        self.proc = None
        self.next_start = now + delay

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def wait(self, timeout: float) -> None:
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            logger.warning("%s did not stop in time; killing it", self.name)
            self.proc.kill()


def _prepare(settings: Settings) -> None:
    from plant import load_plant
    from store.db import make_engine, migrate, session_scope
    from store.tags import sync_tags

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    plant = load_plant(settings.plant_file)  # a broken plant file stops here with its problems listed
    migrate(settings.db_url)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        sync_tags(session, plant)
    from auth.bootstrap import ensure_first_admin, first_admin_notice

    first = ensure_first_admin(engine)  # no user yet: an administrator with a random password, shown once
    engine.dispose()
    if first is not None:
        url = f"http://{settings.web_host}:{settings.web_port}/"
        sys.stdout.write(first_admin_notice(*first, url))
        sys.stdout.flush()


def _has_history(settings: Settings) -> bool:
    from sqlalchemy import select

    from store.db import make_engine, session_scope
    from store.models import Sample

    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        found = session.execute(select(Sample.tag_id).limit(1)).first() is not None
    engine.dispose()
    return found


# The demo's report schedules (services.reports): Chinese shift reports 15 minutes after each shift, the 日报 in
# Chinese and English at 00:30 for the day before, the month's report at 01:00 on the 1st.
DEMO_REPORT_SCHEDULES = (
    ("shift", "zh", ("pdf",), 15),
    ("day", "zh", ("pdf", "xlsx"), 30),
    ("day", "en", ("pdf",), 30),
    ("month", "zh", ("pdf", "xlsx"), 60),
)


def _seed_report_schedules(settings: Settings, since_ms: int) -> None:
    """The demo's report schedules on a store without any, starting at ``since_ms`` (the start of the history
    just written): the reports of the backfilled shifts and days are issued when the services start."""
    from plant import load_plant
    from reports.period import Kind, containing
    from store.db import make_engine, session_scope
    from store.reports import add_schedule, schedules

    plant = load_plant(settings.plant_file)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        if schedules(session):
            engine.dispose()
            return
        for kind, lang, formats, delay in DEMO_REPORT_SCHEDULES:
            start = containing(plant, Kind(kind), since_ms).t1 if kind == "month" else since_ms
            add_schedule(
                session,
                kind=kind,
                lang=lang,
                formats=formats,
                by="demo",
                now_ms=now_ms(),
                at_minute=delay,
                last_end=start,
            )
    engine.dispose()
    logger.info("report schedules: shift, day and month reports (the backfilled days' are issued at start)")


DEMO_REDIS_URL = "redis://127.0.0.1:6379/0"


def _web_cache_env(settings: Settings) -> dict[str, str]:
    """The web app's cache in the demo: with several workers and no SW_CACHE_REDIS_URL, a local Redis when
    one answers, so the workers share one live snapshot; else each worker keeps its own (and says so)."""
    if settings.cache_redis_url or settings.web_workers < 2:
        return {}
    try:
        import redis

        redis.Redis.from_url(DEMO_REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping()
    except Exception as exc:
        logger.info("no local Redis (%s): each web worker caches its own snapshot", exc)
        return {}
    logger.info("web workers share their snapshot cache in the local Redis (%s)", DEMO_REDIS_URL)
    return {"SW_CACHE_REDIS_URL": DEMO_REDIS_URL}


def per_endpoint(endpoint: str) -> list[str]:
    return ["--endpoint", endpoint, "--no-migrate"]


def cmd_demo(args: argparse.Namespace) -> int:
    from plant import load_plant

    settings = get_settings()
    py = sys.executable
    _prepare(settings)
    _seed_report_schedules(settings, now_ms() - int(max(args.backfill_days, 0.0) * 86_400_000))
    if args.backfill_days > 0 and not _has_history(settings):
        logger.info("first run: writing %s day(s) of history so trends and reports have data", args.backfill_days)
        subprocess.run(
            [
                py,
                "-m",
                "simulator.backfill",
                "--days",
                str(args.backfill_days),
                "--plant",
                str(settings.plant_file),
                "--db",
                settings.db_url,
                "--violations",
            ],
            cwd=ROOT,
            check=True,
        )
        logger.info("first run: the alarm and energy services over that history, with the console's answers")
        subprocess.run(
            [py, "-m", "demo.history", "--plant", str(settings.plant_file), "--db", settings.db_url],
            cwd=ROOT,
            check=True,
        )
    logs = settings.var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    children = [
        Child(
            "simulator",
            [
                py,
                "-m",
                "simulator",
                "--plant",
                str(settings.plant_file),
                "--seed",
                str(settings.sim_seed),
                "--speed",
                str(settings.sim_speed),
                "--resume-db",  # counters and meters continue from the stored history, no jump
                settings.db_url,
                "--permits-db",  # the simulated crews' special-work permits are filed in the store
                settings.db_url,
                # a historian: a collector that was away reads what it missed back (ten wall minutes at 1 Hz)
                "--history-values",
                "600",
                "--history-minutes",
                str(10 * settings.sim_speed),
                "--stock-db",  # the demo's storekeeper goes on with the stock ledger the backfill began
                settings.db_url,
            ],
        ),
        # one collector process per endpoint of the plant file, as in production (migrations ran above)
        *(
            Child(
                f"collector-{ep.id}",
                [
                    py,
                    "-m",
                    "collectors",
                    "--plant",
                    str(settings.plant_file),
                    "--db",
                    settings.db_url,
                    *per_endpoint(ep.id),
                ],
            )
            for ep in load_plant(settings.plant_file).endpoints
        ),
        # alarms, personnel rules and on-call notification, next to the collectors
        Child("services", [py, "-m", "services", "--plant", str(settings.plant_file), "--db", settings.db_url]),
        # the demo cameras as MJPEG streams (rendered only while someone watches; idle otherwise)
        Child("cameras", [py, "-m", "simulator.cameras", "--plant", str(settings.plant_file), "--db", settings.db_url]),
    ]
    # gunicorn: SW_WEB_WORKERS processes of SW_WEB_THREADS threads (webapp.gunicorn_conf)
    children.append(Child("web", [py, "-m", "webapp"], extra_env=_web_cache_env(settings)))
    for child in children:
        child.log_path = logs / f"{child.name}.log"

    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        for child in children:
            child.start()
            if child.name == "simulator":
                time.sleep(2.0)  # let the servers listen before the collectors connect (they retry anyway)
        logger.info("database: %s", settings.db_url)
        if any(c.name == "web" for c in children):
            logger.info("command center: http://%s:%d/", settings.web_host, settings.web_port)
        logger.info("demo running; Ctrl-C stops it")
        deadline = time.monotonic() + args.seconds if args.seconds else None
        while not stopping and (deadline is None or time.monotonic() < deadline):
            now = time.monotonic()
            for child in children:
                child.poll(now)
            time.sleep(0.5)
    finally:
        logger.info("stopping")
        for child in reversed(children):
            child.stop()
        for child in reversed(children):
            child.wait(15)
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from store.db import migrate

    settings = get_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    migrate(settings.db_url)
    logger.info("migrated %s", settings.db_url)
    return 0


def cmd_status(_args: argparse.Namespace) -> int:
    from store.db import make_engine, session_scope
    from store.health import read_health

    engine = make_engine(get_settings().db_url)
    now = now_ms()
    with session_scope(engine) as session:
        rows = read_health(session)
        if not rows:
            sys.stdout.write("no collector has reported yet\n")
        for h in rows:
            age = (now - h.updated_at) / 1000
            sys.stdout.write(
                f"{h.endpoint:8} {'up' if h.connected else 'DOWN':4} age={age:5.1f}s received={h.received} "
                f"written={h.written} spooled={h.spooled} rejected={h.rejected} lag_p50={h.lag_ms_p50:.0f}ms "
                f"{h.last_error}\n"
            )
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from store.backup import BackupError, backup, manifest_path

    url = args.db or get_settings().db_url
    try:
        manifest = backup(url, Path(args.path), checksum=args.checksum)
    except BackupError as exc:
        logger.error("%s", exc)
        return 1
    sys.stdout.write(
        f"backup {args.path}: {manifest.counts.get('sample', 0)} samples, {manifest.bytes} bytes, "
        f"{manifest.seconds:.1f} s; manifest {manifest_path(Path(args.path))}\n"
    )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from store.backup import BackupError, restore

    url = args.db or get_settings().db_url
    try:
        manifest = restore(Path(args.path), url, replace=args.replace)
    except BackupError as exc:
        logger.error("%s", exc)
        return 1
    checked = "row counts and samples' checksum" if manifest.samples_sha256 else "row counts"
    sys.stdout.write(f"restored {args.path}: {checked} match the backup\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m plantctl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start the whole demo")
    demo.add_argument("--backfill-days", type=float, default=2, help="history written on first run (0: none)")
    demo.add_argument("--seconds", type=float, default=0, help="stop after this many seconds (0: run until Ctrl-C)")
    demo.set_defaults(func=cmd_demo)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("status", help="collectors' health").set_defaults(func=cmd_status)
    back = sub.add_parser("backup", help="consistent backup of the store while it runs (PATH and PATH.json)")
    back.add_argument("path", help="the backup file to write")
    back.add_argument("--db", default="", help="database URL (default: SW_DATABASE_URL or the SQLite file)")
    back.add_argument("--checksum", action="store_true", help="also a SHA-256 of every sample in the manifest")
    back.set_defaults(func=cmd_backup)
    rest = sub.add_parser("restore", help="restore a backup into the store and check it against its manifest")
    rest.add_argument("path", help="the backup file (its manifest PATH.json beside it)")
    rest.add_argument("--db", default="", help="database URL (default: SW_DATABASE_URL or the SQLite file)")
    rest.add_argument("--replace", action="store_true", help="overwrite a store that holds data")
    rest.set_defaults(func=cmd_restore)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except Exception as exc:
        from plant import PlantFileError

        if isinstance(exc, PlantFileError):
            logger.error("%s", exc)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
