"""A tool added later, on the worker only.

Notebook 04 registers it on a running worker (``registry.add(get_state_capital)``);
from a terminal, start the worker with ``DYNAMIC_TOOL_MODULES=recipes.dynamic_tools.extra_tools``.
The workflow code does not change either way.
"""

from __future__ import annotations

from recipes.tools.weather_alerts import normalize_state

STATE_CAPITALS = {
    "AL": "Montgomery", "AK": "Juneau", "AZ": "Phoenix", "AR": "Little Rock", "CA": "Sacramento",
    "CO": "Denver", "CT": "Hartford", "DE": "Dover", "FL": "Tallahassee", "GA": "Atlanta",
    "HI": "Honolulu", "ID": "Boise", "IL": "Springfield", "IN": "Indianapolis", "IA": "Des Moines",
    "KS": "Topeka", "KY": "Frankfort", "LA": "Baton Rouge", "ME": "Augusta", "MD": "Annapolis",
    "MA": "Boston", "MI": "Lansing", "MN": "Saint Paul", "MS": "Jackson", "MO": "Jefferson City",
    "MT": "Helena", "NE": "Lincoln", "NV": "Carson City", "NH": "Concord", "NJ": "Trenton",
    "NM": "Santa Fe", "NY": "Albany", "NC": "Raleigh", "ND": "Bismarck", "OH": "Columbus",
    "OK": "Oklahoma City", "OR": "Salem", "PA": "Harrisburg", "RI": "Providence", "SC": "Columbia",
    "SD": "Pierre", "TN": "Nashville", "TX": "Austin", "UT": "Salt Lake City", "VT": "Montpelier",
    "VA": "Richmond", "WA": "Olympia", "WV": "Charleston", "WI": "Madison", "WY": "Cheyenne",
}  # fmt: skip


async def get_state_capital(state: str) -> str:
    """Get the capital city of a US state.

    Args:
        state: Two-letter US state code, e.g. TX.
    """
    code = normalize_state(state)
    capital = STATE_CAPITALS.get(code)
    return f"The capital of {code} is {capital}." if capital else f"{code} is a territory, not a state."


TOOLS = [get_state_capital]
