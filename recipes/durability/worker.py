"""The durability recipe's worker, a process the notebooks SIGKILL on purpose.

    python -m recipes.durability.worker

Registers both workflows and every activity their agents use as tools
(``activity_as_tool`` does not register anything by itself). The model calls
run as the plugin's ``invoke_model_activity`` with :data:`MODEL_PARAMS`
(heartbeat timeout 2 s, see ``workflows.py``).

Settings from the environment: ``TEMPORAL_ADDRESS``, the model switch
(``AGENT_MODEL_BACKEND``...), ``OFFLINE_MODEL_LATENCY``, ``DURABILITY_TOOL_SECONDS``,
``DURABILITY_OUTBOX``, ``NWS_API_URL``; and the test hooks
``DURABILITY_PAUSE_AFTER_SEND_S`` (pause after the notification is written) and
``DURABILITY_BROKEN_IMPORT`` (import a module that fails, to show how a worker
that crashes at start-up is reported).
"""

from __future__ import annotations

import importlib
import os
from datetime import timedelta

BROKEN_IMPORT_ENV = "DURABILITY_BROKEN_IMPORT"


def main() -> None:
    broken = os.environ.get(BROKEN_IMPORT_ENV, "").strip()
    if broken:
        # Stands in for a deploy with a bug in it: the import fails before polling starts.
        importlib.import_module(broken)

    from recipes.durability.activities import DURABILITY_ACTIVITIES
    from recipes.durability.workflows import DURABILITY_WORKFLOWS, MODEL_PARAMS, TASK_QUEUE
    from recipes.core.worker_options import run_worker_main
    from recipes.tools.weather_alerts import WEATHER_ACTIVITIES

    run_worker_main(
        task_queue=os.environ.get("DURABILITY_TASK_QUEUE") or TASK_QUEUE,
        workflows=DURABILITY_WORKFLOWS,
        activities=[*DURABILITY_ACTIVITIES, *WEATHER_ACTIVITIES],
        model_params=MODEL_PARAMS,
        # After a SIGKILL, the run's next workflow task first waits for the dead
        # worker's sticky queue to time out (10 s by default) before any worker
        # may take it; 2 s keeps recovery to a few seconds.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=2),
    )


if __name__ == "__main__":
    main()
