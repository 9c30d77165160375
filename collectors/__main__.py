"""``python -m collectors``: collect the plant's OPC UA endpoints into the store.

    python -m collectors [--plant FILE] [--db URL] [--endpoint ID ...] [--spool-dir DIR] [options]
    python -m collectors cert ENDPOINT [--renew]        the collector's certificate for a secured endpoint
    python -m collectors trust ENDPOINT [THUMBPRINT]    list the server's certificates / trust one
    python -m collectors import-tags ENDPOINT --out FILE [--start NODE] [--filter RE] [--depth N] [--mapping CSV]

Runs the migrations, syncs the tag table, then one coordinator per endpoint (all endpoints of the plant
file, or those named with ``--endpoint`` - one process per endpoint scales out) and the single writer.
SIGTERM/SIGINT stop it cleanly: the coordinators disconnect and everything queued is written to the
database or, when that is unavailable, to the spool.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from pathlib import Path

from asyncua import Client, ua
from cryptography import x509
from tqdm import tqdm  # type: ignore[import-untyped]

from collectors import tagimport
from collectors.coordinator import CoordinatorOptions
from collectors.security import (
    Pki,
    SecurityRefusedError,
    application_uri,
    create_certificate,
    secure_client,
    server_certificates,
    thumbprint,
)
from collectors.service import CollectorService, default_spool_dir, tune_gc
from collectors.writer import WriterOptions
from plant.loader import PlantFileError, load_plant
from settings import get_settings

logger = logging.getLogger("collectors")


def parse_args(argv: list[str]) -> argparse.Namespace:
    s = get_settings()
    p = argparse.ArgumentParser(prog="python -m collectors", description=__doc__.split("\n\n")[0])
    p.add_argument("--plant", type=Path, default=s.plant_file, help="plant file (default: %(default)s)")
    p.add_argument("--db", default=s.db_url, help="database URL (default: SW_DATABASE_URL or the SQLite file)")
    p.add_argument("--endpoint", action="append", default=[], metavar="ID", help="collect only this endpoint")
    p.add_argument("--url", action="append", default=[], metavar="ID=URL", help="override an endpoint's URL")
    p.add_argument("--spool-dir", type=Path, default=None, help="spool directory (default: <spool>/<endpoints>)")
    p.add_argument("--publishing-ms", type=float, default=500.0, help="subscription publishing interval")
    p.add_argument("--items-per-subscription", type=int, default=1000)
    p.add_argument("--queue-size", type=int, default=100, help="server-side sampling queue per item")
    p.add_argument("--reconnect-max-delay", type=float, default=2.0, help="seconds between reconnect attempts, max")
    p.add_argument("--batch-max", type=int, default=s.batch_max, help="values per database transaction, max")
    p.add_argument("--batch-ms", type=int, default=s.batch_ms, help="longest wait to fill a batch")
    p.add_argument("--db-busy-timeout-ms", type=int, default=None, help="SQLite busy timeout for the writer")
    p.add_argument(
        "--position-min-distance",
        type=float,
        default=s.position_min_distance_m,
        help="metres a badge moves before its next fix is stored (0 and --position-max-interval 0: all fixes)",
    )
    p.add_argument(
        "--position-max-interval",
        type=float,
        default=s.position_max_interval_s,
        help="seconds after which a badge's fix is stored even if it did not move",
    )
    p.add_argument("--health-interval", type=float, default=2.0, help="seconds between collector_health updates")
    p.add_argument("--no-migrate", action="store_true", help="do not run the migrations at start")
    p.add_argument(
        "--gc-threshold",
        type=int,
        default=50_000,
        help="allocations between young-generation garbage collections (0: Python's default)",
    )
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


async def _run(args: argparse.Namespace) -> int:
    try:
        plant = load_plant(args.plant)
    except PlantFileError as error:
        logger.error("%s", error)
        return 2
    urls: dict[str, str] = {}
    for item in args.url:
        ep, sep, url = item.partition("=")
        if not sep:
            logger.error("--url wants ID=URL, got %r", item)
            return 2
        urls[ep] = url
    endpoints = args.endpoint or [e.id for e in plant.endpoints]
    spool_dir = args.spool_dir or default_spool_dir(get_settings().spool_path, endpoints)
    try:
        service = CollectorService(
            plant,
            args.db,
            spool_dir=spool_dir,
            endpoints=endpoints,
            urls=urls,
            run_migrations=not args.no_migrate,
            writer_options=WriterOptions(
                batch_max=args.batch_max,
                batch_ms=args.batch_ms,
                busy_timeout_ms=args.db_busy_timeout_ms,
                health_interval_s=args.health_interval,
                position_min_distance_m=args.position_min_distance,
                position_max_interval_s=args.position_max_interval,
            ),
            coordinator_options=CoordinatorOptions(
                publishing_interval_ms=args.publishing_ms,
                items_per_subscription=args.items_per_subscription,
                queue_size=args.queue_size,
                reconnect_max_delay_s=args.reconnect_max_delay,
            ),
        )
    except ValueError as error:
        logger.error("%s", error)
        return 2

    loop = asyncio.get_running_loop()
    signals = 0
    stopping: set[asyncio.Task[None]] = set()

    def on_signal(signum: int) -> None:
        nonlocal signals
        signals += 1
        logger.info("%s received: stopping (flushing the queue)", signal.Signals(signum).name)
        if signals == 1:
            task = loop.create_task(service.stop())
            stopping.add(task)
            task.add_done_callback(stopping.discard)
        else:
            logger.warning("second signal: exiting without waiting for the flush")
            for task in asyncio.all_tasks(loop):
                if task is not asyncio.current_task(loop):
                    task.cancel()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await service.start()
    except asyncio.CancelledError:
        logger.info("stopped before the database was reachable")
        return 0
    tune_gc(args.gc_threshold)
    await service.wait()
    await service.stop()
    return 0


def pki_command(argv: list[str]) -> int:
    """``cert`` and ``trust``: the PKI directory's two commands (see ``collectors.security``)."""
    s = get_settings()
    p = argparse.ArgumentParser(prog="python -m collectors", description="OPC UA certificates of the collectors")
    p.add_argument("--plant", type=Path, default=s.plant_file, help="plant file (default: %(default)s)")
    p.add_argument("--pki-dir", type=Path, default=s.pki_path, help="PKI directory (default: %(default)s)")
    sub = p.add_subparsers(dest="command", required=True)
    cert = sub.add_parser("cert", help="create the collector's certificate and key for an endpoint")
    cert.add_argument("endpoint")
    cert.add_argument("--renew", action="store_true", help="replace a certificate that exists")
    cert.add_argument("--host", default=None, help="host name in the certificate (default: this machine's)")
    trust = sub.add_parser("trust", help="list an endpoint's server certificates, or trust one by thumbprint")
    trust.add_argument("endpoint")
    trust.add_argument("thumbprint", nargs="?", help="the certificate to trust (as listed, or as logged)")
    trust.add_argument("--url", default=None, help="ask this URL instead of the plant file's")
    args = p.parse_args(argv)
    try:
        plant = load_plant(args.plant)
    except PlantFileError as error:
        print(error, file=sys.stderr)
        return 2
    endpoint = next((e for e in plant.endpoints if e.id == args.endpoint), None)
    if endpoint is None:
        print(
            f"unknown endpoint {args.endpoint!r}; the plant has {', '.join(e.id for e in plant.endpoints)}",
            file=sys.stderr,
        )
        return 2
    pki = Pki(args.pki_dir)
    if args.command == "cert":
        if args.renew:
            pki.own_cert(endpoint.id).unlink(missing_ok=True)
            pki.own_key(endpoint.id).unlink(missing_ok=True)
        path = asyncio.run(create_certificate(endpoint, pki, host=args.host))
        der = path.read_bytes()
        print(f"{path} (application URI {application_uri(endpoint)}, thumbprint {thumbprint(der)})")
        print("give this certificate to the server's administrator to trust")
        return 0
    wanted = (args.thumbprint or "").replace(":", "").upper()
    rejected = pki.rejected / f"{wanted}.der"
    if wanted and rejected.is_file():  # seen and refused by a collector: trust that very file
        print(f"trusted {pki.trust(rejected.read_bytes())}")
        return 0
    try:
        offered = asyncio.run(server_certificates(args.url or endpoint.url))
    except Exception as error:
        print(f"cannot ask {args.url or endpoint.url} for its certificates: {error}", file=sys.stderr)
        return 1
    certs = {thumbprint(der): der for _ep, der in offered if der}
    if not wanted:
        for thumb, der in sorted(certs.items()):
            state = "trusted" if pki.is_trusted(der) else "not trusted"
            print(f"{thumb}  {x509.load_der_x509_certificate(der).subject.rfc4514_string()}  ({state})")
        if certs:
            print("check a thumbprint with the server's administrator, then:")
            print(f"python -m collectors trust {endpoint.id} THUMBPRINT")
        return 0
    if wanted not in certs:
        print(f"the server does not offer a certificate with thumbprint {wanted}", file=sys.stderr)
        return 1
    print(f"trusted {pki.trust(certs[wanted])}")
    return 0


def import_command(argv: list[str]) -> int:
    """``import-tags``: browse an endpoint and write plant-file tag entries (``collectors.tagimport``)."""
    s = get_settings()
    p = argparse.ArgumentParser(prog="python -m collectors import-tags", description=tagimport.__doc__.split("\n\n")[0])
    p.add_argument("command", choices=["import-tags"])
    p.add_argument("endpoint")
    p.add_argument("--out", type=Path, required=True, help="tags file to write or update (.json or .yaml)")
    p.add_argument("--start", default="i=85", help="node to browse from (default: the Objects folder, i=85)")
    p.add_argument("--filter", default=None, help="regular expression on the browse path (folder/.../name)")
    p.add_argument("--depth", type=int, default=6, help="folder levels to descend (default: %(default)s)")
    p.add_argument("--mapping", type=Path, default=None, help="CSV: pattern,equipment,zone (first match wins)")
    p.add_argument("--plant", type=Path, default=s.plant_file, help="plant file (default: %(default)s)")
    p.add_argument("--pki-dir", type=Path, default=s.pki_path, help="PKI directory (default: %(default)s)")
    p.add_argument("--url", default=None, help="browse this URL instead of the plant file's")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    try:
        plant = load_plant(args.plant)
    except PlantFileError as error:
        print(error, file=sys.stderr)
        return 2
    endpoint = next((e for e in plant.endpoints if e.id == args.endpoint), None)
    if endpoint is None:
        print(f"unknown endpoint {args.endpoint!r}", file=sys.stderr)
        return 2
    try:
        mapping = tagimport.Mapping.read(args.mapping) if args.mapping else tagimport.Mapping()
        name_filter = re.compile(args.filter) if args.filter else None
        start = ua.NodeId.from_string(args.start)
        existing = tagimport.read_existing(args.out)
    except (ValueError, OSError, re.error) as error:
        print(error, file=sys.stderr)
        return 2
    url = args.url or endpoint.url

    async def run() -> list[tagimport.Variable]:
        bar = None if args.quiet else tqdm(total=None, unit=" nodes", desc=f"browsing {endpoint.id}", file=sys.stderr)

        def progress(done: int, found: int) -> None:
            if bar is None:
                return
            if done >= 0:
                bar.set_postfix_str(f"{found} variables")
                bar.n = done
            else:  # describing: -done of found variables read
                bar.set_description(f"reading {endpoint.id}")
                bar.total = found
                bar.n = -done
            bar.refresh()

        client = Client(url, timeout=10)
        await secure_client(client, endpoint, Pki(args.pki_dir), url=url, timeout=10)
        async with client:
            found = await tagimport.browse(client, start, depth=args.depth, name_filter=name_filter, progress=progress)
        if bar is not None:
            bar.close()
        return found

    try:
        variables = asyncio.run(run())
    except SecurityRefusedError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 1
    except (OSError, TimeoutError, ua.UaError) as error:
        print(f"cannot browse {url}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    tags, result = tagimport.merge(existing, variables, endpoint.id, mapping)
    tagimport.write(args.out, tags)
    print(
        f"{args.out}: {len(variables)} variables on the server; {len(result.added)} added, {result.kept} kept as they"
        f" were, {result.total} in all; every added entry is marked 'review' (its kind is a guess)"
    )
    if result.removed:
        print(f"{len(result.removed)} entries name variables the server no longer has (left in the file):")
        for tag in result.removed[:50]:
            print(f"  {tag}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["import-tags"]:
        return import_command(argv)
    if {"cert", "trust"} & set(argv):
        return pki_command(argv)
    args = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("asyncua").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
