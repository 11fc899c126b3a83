"""Agent session: a conversation that lives as long as it needs to, one workflow per session.
You talk to it while it runs -- updates with validators, queries, a signal to end it --, a person
approves its risky tool calls, it waits on durable timers, and it continues as new.

Modules: ``team`` (the session agent, the scheduled-check agent, their tools),
``activities`` (the broadcast that needs approval), ``workflows`` (the session workflow),
``client`` (``Session``: the caller's side), ``worker`` and ``starter`` (entrypoints).
"""
