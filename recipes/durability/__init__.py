"""Durability: kill the worker mid-run, restart it, lose nothing, pay for no model call twice.

Notebooks 05 (kill the worker) and 06 (retries, failures and idempotency) drive
this recipe; from two terminals::

    python -m recipes.durability.worker
    python -m recipes.durability.starter briefing California Texas Florida

Modules: :mod:`~recipes.durability.activities` (the tools and the notification
side effect), :mod:`~recipes.durability.workflows` (the agent workflows),
:mod:`~recipes.durability.worker`, :mod:`~recipes.durability.starter` and
:mod:`~recipes.durability.inspect` (what the notebooks use to wait for, measure
and prove what happened).
"""
