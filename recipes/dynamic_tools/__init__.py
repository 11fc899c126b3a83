"""Dynamic tools: the agent reaches worker-side tools by name at run time.

The workflow knows tools only as data -- name, description, JSON schema
(:class:`recipes.dynamic_tools.specs.ToolSpec`). Each tool call becomes
``workflow.execute_activity("<tool name>", arguments)``; no activity of that
name is registered, so it lands on the worker's *dynamic* activity, which
looks the name up in a :class:`~recipes.dynamic_tools.registry.ToolRegistry`.
Adding a tool is a worker-side change; the workflow code never changes.

Modules: ``specs`` (shared data, workflow-safe), ``registry`` and ``tools``
(worker side), ``activities``, ``workflows``, ``worker``, ``starter``.
"""
