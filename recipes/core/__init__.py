"""The runtime core a project copies: Temporal settings and connection, the worker
entrypoint, the model switch, tool errors the model can read,
local tracing, and one-sentence errors. Imports nothing else from ``recipes``.
"""
