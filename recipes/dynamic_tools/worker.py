"""Worker for the dynamic-tools agent.

    python -m recipes.dynamic_tools.worker
    DYNAMIC_TOOL_MODULES=recipes.dynamic_tools.extra_tools python -m recipes.dynamic_tools.worker

Polls ``dynamic-tools`` (``$DYNAMIC_TOOLS_TASK_QUEUE`` to change it). Registers the
workflow, the dynamic tool activity and ``list_tools``. The
tools are whatever the registry holds: the built-in ones plus ``TOOLS`` from
each module in ``$DYNAMIC_TOOL_MODULES`` -- add a tool by restarting the
worker with another module, never by changing the workflow.
"""

from __future__ import annotations

from recipes.core.worker_options import run_worker_main
from recipes.dynamic_tools.activities import ToolActivities
from recipes.dynamic_tools.registry import ToolRegistry
from recipes.dynamic_tools.workflows import MODEL_PARAMS, DynamicToolsWorkflow, default_task_queue

if __name__ == "__main__":
    registry = ToolRegistry.from_env()
    print(f"Tools: {', '.join(registry.names())}", flush=True)
    run_worker_main(
        task_queue=default_task_queue(),
        workflows=[DynamicToolsWorkflow],
        activities=ToolActivities(registry).activities(),
        model_params=MODEL_PARAMS,
    )
