"""Microagents: many small agents, each with its own loop, orchestrated durably by Temporal.

Modules: ``team`` (the agents), ``activities`` (their I/O tools), ``session`` (a long-running
conversation: updates, queries, signals, approvals, durable timers,
continue-as-new), ``client`` (the caller's side), ``worker`` and ``starter`` (entrypoints).
"""
