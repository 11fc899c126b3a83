"""Coding agent: an Agents SDK ``SandboxAgent`` fixes a failing test in a small project, durably.

- :mod:`recipes.coding_agent.project` -- the sample project (a few files and a test command) and
  ``CodingTask``, the workflow's input;
- :mod:`recipes.coding_agent.tools` -- the agent's tools (read a file, search, apply a patch, run the
  tests), each call a sandbox operation that runs as an activity, and their timeouts and retries;
- :mod:`recipes.coding_agent.workflows` -- ``CodingAgentWorkflow`` and ``MODEL_PARAMS``;
- :mod:`recipes.coding_agent.worker` and :mod:`recipes.coding_agent.starter` -- the two entrypoints.

The sandbox path of the Temporal integration is experimental upstream: see README.md for what this
recipe relies on and what the integration does not support.
"""
