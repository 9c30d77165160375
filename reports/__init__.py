"""Reports (K5): shift, day and month reports of any past period, as PDF, Excel, CSV or a plant's own Excel
template, archived with their SHA-256 and versions, run on schedules (``services.reports``) and on demand
(the ``/reports`` page).

* :mod:`reports.period`: the periods (a shift of a local day, a local day, a month) and their keys;
* :mod:`reports.content`: the figures of a period from the same store and engine functions the screens use
  (``store.figures``, ``store.alarm_kpi``, ``engine.plan``), as tables and charts in the reader's language;
* :mod:`reports.pdf`, :mod:`reports.tables`: the formats;
* :mod:`reports.issue`: render, archive (new version, never overwritten) and deliver.
"""
