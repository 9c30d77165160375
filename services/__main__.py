"""``python -m services``: the alarm engine, personnel rules, notifications, video analytics, equipment
states and safety (hidden dangers' escalation), next to the collectors.

    python -m services [--plant FILE] [--db URL] [--only NAME ...]

SIGTERM/SIGINT stop it after the current steps.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from plant.loader import PlantFileError, load_plant
from plant.schema import Plant
from services.alarms import make_service as make_alarm_service
from services.compaction import make_service as make_compaction_service
from services.emergency import make_service as make_emergency_service
from services.emissions import make_service as make_emission_service
from services.energy import make_service as make_energy_service
from services.equipment import make_service as make_equipment_service
from services.notify import make_service as make_notify_service
from services.personnel import make_service as make_personnel_service
from services.reports import make_service as make_report_service
from services.retention import make_service as make_retention_service
from services.runner import Runner, Service
from services.safety import make_service as make_safety_service
from services.spc import make_service as make_spc_service
from services.stock import make_service as make_stock_service
from services.video import make_service as make_video_service
from settings import get_settings
from store.db import make_engine, migrate

logger = logging.getLogger("services")

# name -> factory(plant, engine, settings); each service module adds its own line here.
FACTORIES: dict[str, Callable[..., Service]] = {}
FACTORIES["alarms"] = make_alarm_service
FACTORIES["personnel"] = make_personnel_service
FACTORIES["notify"] = make_notify_service
FACTORIES["video"] = make_video_service
FACTORIES["equipment"] = make_equipment_service
FACTORIES["retention"] = make_retention_service
FACTORIES["compaction"] = make_compaction_service
FACTORIES["emissions"] = make_emission_service
FACTORIES["energy"] = make_energy_service
FACTORIES["spc"] = make_spc_service
FACTORIES["safety"] = make_safety_service
FACTORIES["emergency"] = make_emergency_service
FACTORIES["reports"] = make_report_service
FACTORIES["stock"] = make_stock_service


def parse_args(argv: list[str]) -> argparse.Namespace:
    s = get_settings()
    p = argparse.ArgumentParser(prog="python -m services", description=__doc__.split("\n\n")[0])
    p.add_argument("--plant", type=Path, default=s.plant_file, help="plant file (default: %(default)s)")
    p.add_argument("--db", default=s.db_url, help="database URL (default: SW_DATABASE_URL or the SQLite file)")
    p.add_argument("--only", action="append", default=[], metavar="NAME", help=f"run only these: {list(FACTORIES)}")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


def build(plant: Plant, db_url: str, names: list[str] | None = None) -> list[Service]:
    unknown = [n for n in names or [] if n not in FACTORIES]
    if unknown:
        raise SystemExit(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(FACTORIES)}")
    engine = make_engine(db_url)
    settings = get_settings()
    return [factory(plant, engine, settings) for n, factory in FACTORIES.items() if not names or n in names]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        plant = load_plant(args.plant)
    except PlantFileError as error:
        logger.error("%s", error)
        return 2
    migrate(args.db)
    services = build(plant, args.db, args.only)
    if not services:
        logger.warning("no services to run")  # still wait: a supervisor would otherwise restart it in a loop
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    with Runner(services):
        done.wait()
    for service in services:  # services with threads of their own (video) stop them and finish their files
        close = getattr(service, "close", None)
        if callable(close):
            close()
    logger.info("services stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
