"""Parallel agents: one small agent per branch, fanned out concurrently inside one workflow
(``asyncio.gather``) or as one child workflow each, then gathered by a summarizing agent; a
failed branch is recorded and reported, not fatal.

Modules: ``team`` (the branch agent and the briefing writer), ``workflows`` (fan-out in one
workflow, and with child workflows), ``worker`` and ``starter`` (entrypoints).
"""
