"""What the workflow knows about a tool: data only, no code.

A ``ToolSpec`` is exactly what the model needs to call a tool -- the same
name/description/JSON-schema triple the Agents SDK sends to the model API --
and is safe to pass as workflow input or return from an activity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Activity names the tool machinery itself uses; no tool may take them.
LIST_TOOLS_ACTIVITY = "list_tools"
RESERVED_NAMES = frozenset({LIST_TOOLS_ACTIVITY})

#: ApplicationError types raised by the dynamic tool activity (both non-retryable).
UNKNOWN_TOOL = "UnknownTool"
INVALID_TOOL_ARGUMENTS = "InvalidToolArguments"


@dataclass
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    """JSON schema of the tool's arguments (an object)."""
    strict: bool = True
    """Strict JSON schema mode (every property required, no extras); recommended."""
