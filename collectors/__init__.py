"""OPC UA ingestion (requirement C1): subscriptions -> validation -> one batch writer -> the store.

Pipeline stages, one module each:

- :mod:`collectors.coordinator` - :class:`~collectors.coordinator.EndpointCoordinator`, one per OPC UA
  endpoint: asyncua client with auto-reconnect, subscriptions created in batches, outage gaps and markers.
- :mod:`collectors.backfill` - after an outage, the missed span read back from the server's history
  (OPC UA HistoryRead), marked ``BACKFILLED``.
- :mod:`collectors.validate` - :class:`~collectors.validate.Validator`: a data change becomes a
  ``SampleIn``/``PositionIn`` or a counted rejection (pure, no I/O).
- :mod:`collectors.writer` - :class:`~collectors.writer.BatchWriter`: the single writer task, SQL in a
  worker thread, store-and-forward through :mod:`collectors.spool` when the database is unavailable.
- :mod:`collectors.health` - per-endpoint counters reported to ``collector_health``.
- :mod:`collectors.service` - :class:`~collectors.service.CollectorService`: everything above for a set
  of endpoints in one process; ``python -m collectors`` is its command line.
"""
