"""``python -m simulator``: play the plant on its OPC UA endpoints until SIGTERM/SIGINT.

    python -m simulator [--plant FILE] [--seed N] [--speed F] [--host H] [--dcs-port P] [--rtls-port P]
                        [--rate HZ] [--start ISO8601] [--duration S] [--resume-db URL] [--permits-db URL]
                        [--stock-db URL]
    python -m simulator --bench-tags N [--bench-hz F] [--duration S] [--dcs-port P]

Bench mode publishes N synthetic Double tags (``ns=2;s=BENCH.<n>``) on the dcs endpoint, all changing
at F Hz, and on exit prints one JSON line with the number of value changes published (also readable
while running from ``ns=2;s=BENCH.PUBLISHED``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from datetime import UTC, datetime

from plant.loader import PlantFileError, load_plant
from settings import get_settings
from simulator.server import Simulator

logger = logging.getLogger("simulator")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    settings = get_settings()
    p = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n\n")[0])
    p.add_argument("--plant", default=str(settings.plant_file), help="plant file (default: the demo smelter)")
    p.add_argument("--seed", type=int, default=settings.sim_seed)
    p.add_argument("--speed", type=float, default=settings.sim_speed, help="simulated seconds per wall second")
    p.add_argument("--host", default=settings.sim_host, help="host name or address the servers bind to")
    p.add_argument("--dcs-port", type=int, default=None, help="port of the dcs endpoint (default: from the plant)")
    p.add_argument("--rtls-port", type=int, default=None, help="port of the rtls endpoint (default: from the plant)")
    p.add_argument("--rate", type=float, default=1.0, help="ticks (value updates) per wall second")
    p.add_argument("--start", default=None, help="simulated start time, ISO 8601 (default: now)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many wall seconds")
    p.add_argument("--resume-db", default=None, help="continue the counters and meters from this store's latest values")
    p.add_argument(
        "--permits-db", default=None, help="file the special-work permits the simulated crews work on in this store"
    )
    p.add_argument(
        "--history-values",
        type=int,
        default=0,
        help="keep this many data changes of every variable (badge positions excepted) for OPC UA HistoryRead"
        " (0: no history)",
    )
    p.add_argument(
        "--history-minutes", type=float, default=30.0, help="and none older than this many simulated minutes"
    )
    p.add_argument(
        "--stock-db",
        default=None,
        help="go on writing the demo's stock ledger (issues, orders, deliveries) in this store",
    )
    p.add_argument("--bench-tags", type=int, default=0, help="bench mode: number of synthetic tags")
    p.add_argument("--bench-hz", type=float, default=1.0, help="bench mode: changes per second of every tag")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if args.speed <= 0 or args.rate <= 0 or args.bench_hz <= 0 or args.bench_tags < 0:
        p.error("--speed, --rate and --bench-hz must be positive, --bench-tags not negative")
    return args


def _start_ms(text: str | None) -> int | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


async def _main(args: argparse.Namespace) -> int:
    plant = None if args.bench_tags else load_plant(args.plant)
    initial = None
    if args.resume_db and plant is not None:
        from simulator.backfill import latest_cumulative

        initial = await asyncio.to_thread(latest_cumulative, args.resume_db, plant)
        logger.info("continuing %d counters and meters from %s", len(initial), args.resume_db)
    ports = {k: v for k, v in (("dcs", args.dcs_port), ("rtls", args.rtls_port)) if v is not None}
    sim = Simulator(
        plant,
        seed=args.seed,
        speed=args.speed,
        host=args.host,
        ports=ports,
        rate_hz=args.rate,
        start_ms=_start_ms(args.start),
        initial=initial,
        bench_tags=args.bench_tags,
        bench_hz=args.bench_hz,
        permits_db=args.permits_db,
        history_values=args.history_values,
        history_minutes=args.history_minutes,
        stock_db=args.stock_db,
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, sim.request_stop)
    try:
        await sim.start()
        await sim.run(duration_s=args.duration)
    finally:
        await sim.stop()
    if args.bench_tags:
        sys.stdout.write(json.dumps(sim.stats(), sort_keys=True) + "\n")
        sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("asyncua").setLevel(logging.WARNING)
    logging.getLogger("asyncua.server.server").setLevel(logging.ERROR)  # "no signing policy": by design
    try:
        return asyncio.run(_main(args))
    except PlantFileError as exc:
        logger.error("%s", exc)
        return 1
    except OSError as exc:  # typically: address already in use
        logger.error("cannot start the simulator: %s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
