"""The sample weather alerts (``sample_alerts.json``): fixed NWS-shaped data.

The local NWS stand-in serves them, and the durability recipe's storm report
reads them directly, so both run offline and give the same answers every time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from recipes.tools.us_states import AREA_NAMES

__all__ = ["SAMPLE_DATA_PATH", "load_sample_alerts"]

SAMPLE_DATA_PATH = Path(__file__).with_name("sample_alerts.json")


def load_sample_alerts(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Load and sanity-check the sample data: ``{"updated": str, "alerts": {CODE: [feature, ...]}}``."""
    data = json.loads(Path(path or SAMPLE_DATA_PATH).read_text(encoding="utf-8"))
    alerts = data.get("alerts")
    if not isinstance(alerts, dict):
        raise ValueError("sample data needs an 'alerts' object keyed by area code")
    for code, features in alerts.items():
        if code not in AREA_NAMES:
            raise ValueError(f"sample data has unknown area code {code!r}")
        if not isinstance(features, list):
            raise ValueError(f"sample alerts for {code} must be a list")
    data.setdefault("updated", "2025-01-01T00:00:00+00:00")
    return data
