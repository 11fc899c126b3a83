"""Worker for the streaming weather agent.

    python -m recipes.streaming.worker

Polls the ``streaming-agent`` task queue (``$STREAMING_TASK_QUEUE`` to change it) and runs
the workflow, the streaming model activity (``invoke_model_activity_streaming``, added by
``OpenAIAgentsPlugin``) and the ``get_weather_alerts`` tool activity. Settings come from
the environment, as for ``recipes.weather.worker``; ``$STREAMING_BATCH_INTERVAL_MS`` sets
how often streamed events are sent (default 100).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.worker import Worker

from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity
from recipes.streaming.workflows import StreamingWeatherWorkflow, default_task_queue, model_params
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES

STICKY_TIMEOUT = timedelta(seconds=2)


async def main() -> None:
    plugin, model = agents_plugin(model_params())
    client = await connect(plugins=[plugin])
    worker = Worker(
        client,
        task_queue=default_task_queue(),
        workflows=[StreamingWeatherWorkflow],
        activities=WEATHER_ACTIVITIES,
        identity=worker_identity(),
        # After a crash the server keeps sending this run's workflow tasks to the dead
        # worker's sticky queue until this timeout (default 10 s); each streamed batch is a
        # Signal that needs a workflow task, so a person watching would see nothing for that
        # long. 2 s moves them to a live worker sooner; the cost is a full replay whenever a
        # busy worker takes over 2 s to pick up a sticky task.
        sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT,
    )
    await serve(worker, model=model)


if __name__ == "__main__":
    run_script(main())
