"""The demo plant, played live over OPC UA (requirement C5) and written as history into the store.

- :mod:`simulator.model` - :class:`~simulator.model.SmelterModel`, the plant's dynamics without I/O:
  ``step(now_ms)`` returns the values reported at that simulated time; deterministic for a seed.
- :mod:`simulator.people` - badge movement (shift crews, gates, roads, work zones, vehicles).
- :mod:`simulator.incidents` - the seeded schedule of the plant file's scripted incidents.
- :mod:`simulator.geometry` - polygons, the road network and timed routes.
- :mod:`simulator.server` - one asyncua server per plant endpoint (``dcs``, ``rtls``) in simulated time;
  :func:`~simulator.server.run_simulator` runs them in-process (tests), ``python -m simulator`` as a
  service, with a ``--bench-tags`` mode for the ingest benchmark.
- :mod:`simulator.backfill` - ``python -m simulator.backfill --days N``: the same model written straight
  into the store.

Contract with the collectors and the engine:

- a badge that is off site rests on its gate's position and its ``POS`` value is published once with the
  status ``UncertainLastUsableValue`` (0x40900000): out of RTLS coverage, last known position; it is Good
  again when the badge walks back in. A standing-still person on site is always a man-down (people on site
  never stop moving otherwise); parked vehicles do stand still.
- values are reported by exception (see :mod:`simulator.model`), so a quiet tag may go up to 10 simulated
  minutes without a new sample.
"""
