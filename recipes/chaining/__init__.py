"""Chaining: one question, three ways to split it between small agents -- joined by workflow
code, by a handoff, or as tools of an orchestrating agent.

Modules: ``team`` (the agents and their output type), ``workflows`` (one workflow per
pattern), ``worker`` and ``starter`` (entrypoints).
"""
