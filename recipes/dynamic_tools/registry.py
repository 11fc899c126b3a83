"""The worker-side tool registry: tool name -> implementation + spec.

    registry = ToolRegistry(BUILTIN_TOOLS)
    registry.add(get_state_capital)          # a new tool, on the worker only
    registry.specs()                         # what list_tools hands the workflow
    await registry.call("get_state_capital", {"state": "TX"})

Specs come from each function's signature and docstring via the Agents SDK's
``function_schema`` -- the same code ``@function_tool`` uses -- and arguments
are validated against that schema before the function runs.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agents.function_schema import FuncSchema, function_schema
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from recipes.dynamic_tools.specs import INVALID_TOOL_ARGUMENTS, RESERVED_NAMES, UNKNOWN_TOOL, ToolSpec

#: Comma-separated modules whose ``TOOLS`` list is added by :meth:`ToolRegistry.from_env`.
TOOL_MODULES_ENV = "DYNAMIC_TOOL_MODULES"


@dataclass
class _Entry:
    fn: Callable[..., Any]
    schema: FuncSchema
    spec: ToolSpec


class ToolRegistry:
    """Tools a worker can run, by name."""

    def __init__(self, tools: Iterable[Callable[..., Any]] = ()) -> None:
        self._entries: dict[str, _Entry] = {}
        for fn in tools:
            self.add(fn)

    @classmethod
    def from_env(cls) -> ToolRegistry:
        """The built-in tools plus ``TOOLS`` from each module in ``$DYNAMIC_TOOL_MODULES``."""
        from recipes.dynamic_tools.tools import BUILTIN_TOOLS

        registry = cls(BUILTIN_TOOLS)
        for module in filter(None, (m.strip() for m in os.environ.get(TOOL_MODULES_ENV, "").split(","))):
            for fn in importlib.import_module(module).TOOLS:
                registry.add(fn)
        return registry

    def add(self, fn: Callable[..., Any], *, name: str | None = None) -> ToolSpec:
        """Register ``fn`` (async or plain function) as a tool; returns its spec."""
        schema = function_schema(fn, name_override=name)
        if schema.name in RESERVED_NAMES:
            raise ValueError(f"{schema.name!r} is reserved for the tool machinery; pick another name")
        spec = ToolSpec(schema.name, schema.description or "", schema.params_json_schema, schema.strict_json_schema)
        self._entries[schema.name] = _Entry(fn, schema, spec)
        return spec

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def specs(self) -> list[ToolSpec]:
        return [self._entries[name].spec for name in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Validate ``arguments`` and run the tool; errors are ``ApplicationError``s.

        Unknown name and invalid arguments are non-retryable (retrying the
        same call cannot help); whatever the tool itself raises keeps its own
        retry semantics.
        """
        entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(self.names()) or "none"
            raise ApplicationError(
                f"Unknown tool {name!r}: this worker has no tool by that name (its tools: {known}).",
                type=UNKNOWN_TOOL,
                non_retryable=True,
            )
        try:
            parsed = entry.schema.params_pydantic_model(**arguments)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in err.errors())
            raise ApplicationError(
                f"Invalid arguments for tool {name!r}: {problems}",
                type=INVALID_TOOL_ARGUMENTS,
                non_retryable=True,
            ) from None
        args, kwargs = entry.schema.to_call_args(parsed)
        if inspect.iscoroutinefunction(entry.fn):
            result = await entry.fn(*args, **kwargs)
        else:
            result = await asyncio.to_thread(entry.fn, *args, **kwargs)
        return result if isinstance(result, str) else str(result)
