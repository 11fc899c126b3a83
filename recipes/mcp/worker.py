"""Worker for the agent with MCP tools.

    python -m recipes.mcp.worker

Polls the ``mcp-weather-agent`` task queue (``$MCP_AGENT_TASK_QUEUE`` to change it) and runs
the agent workflow, the model activity and the MCP activities the plugin registers for the
server named ``weather`` (``list-tools``, ``call-tool``, ...). How it reaches that server:
``MCP_SERVER_URL`` (streamable HTTP) or, unset, a stdio child from ``MCP_SERVER_COMMAND``
(:mod:`recipes.mcp.connect`). Model and Temporal settings as for every worker here.
"""

from __future__ import annotations

from temporalio.worker import Worker

from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity
from recipes.mcp.connect import mcp_server_factory
from recipes.mcp.workflows import MCP_SERVER, MODEL_PARAMS, McpAgentWorkflow, default_task_queue


async def main() -> None:
    # The MCP activities come with the plugin: no activity of ours to list.
    plugin, model = agents_plugin(MODEL_PARAMS, mcp_servers={MCP_SERVER: mcp_server_factory()})
    client = await connect(plugins=[plugin])
    worker = Worker(
        client,
        task_queue=default_task_queue(),
        workflows=[McpAgentWorkflow],
        identity=worker_identity(),
    )
    await serve(worker, model=model)


if __name__ == "__main__":
    run_script(main())
