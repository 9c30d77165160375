"""The simulator's OPC UA history: what a plant historian keeps, bounded so the demo's memory stays small.

asyncua's :class:`~asyncua.server.history.HistoryDict` keeps every data change of a historized variable in a
list and trims it by the wall clock, one ``list.pop(0)`` at a time; the simulator's source time runs ahead of
the wall clock when it plays faster than real time, and a long list makes every trim slow. This storage keeps
asyncua's read path (``read_node_history``: raw values between two times, paged) and holds each variable's
values in a ``deque`` bounded by a count and by an age in *source* time (the newest value's time minus
``period``), so its cost is at most ``count`` values per variable (about 320 bytes each).
"""

from __future__ import annotations

from collections import deque
from datetime import timedelta

from asyncua import ua
from asyncua.server.history import HistoryDict, UaNodeAlreadyHistorizedError


class BoundedHistory(HistoryDict):
    """In-memory history of data changes, at most ``count`` values and ``period`` of source time per variable."""

    def __init__(self, max_history_data_response_size: int = 10_000) -> None:
        super().__init__(max_history_data_response_size)
        self._bounded: dict[ua.NodeId, deque[ua.DataValue]] = {}

    async def new_historized_node(self, node_id: ua.NodeId, period: timedelta | None, count: int = 0) -> None:
        if node_id in self._datachanges:
            raise UaNodeAlreadyHistorizedError(node_id)
        values: deque[ua.DataValue] = deque(maxlen=count or None)
        self._bounded[node_id] = values
        self._datachanges[node_id] = values  # type: ignore[assignment]  # HistoryDict's reads iterate it
        self._datachanges_period[node_id] = period, count

    async def save_node_value(self, node_id: ua.NodeId, datavalue: ua.DataValue) -> None:
        values = self._bounded.get(node_id)
        if values is None:
            return
        values.append(datavalue)  # the deque drops the oldest beyond ``count``
        period = self._datachanges_period[node_id][0]
        newest = datavalue.SourceTimestamp
        if period and newest is not None:
            cutoff = newest - period
            while values and values[0].SourceTimestamp is not None and values[0].SourceTimestamp < cutoff:
                values.popleft()
