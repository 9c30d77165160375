"""Excel downloads: the one workbook writer lives in ``engine.tables`` (the reports use it too)."""

from __future__ import annotations

from engine.tables import XLSX, Sheet, to_xlsx

__all__ = ["XLSX", "Sheet", "to_xlsx"]
