"""Worker for the weather-alert agent: ``python -m recipes.weather.worker``.

Polls the ``weather-agent`` task queue (``$WEATHER_TASK_QUEUE``) and runs the agent workflow, the model
activity (``invoke_model_activity``, added by the plugin) and the ``get_weather_alerts`` tool activity.
Settings come from the environment: ``TEMPORAL_ADDRESS``, the model switch (``AGENT_MODEL_BACKEND``,
``OPENAI_API_KEY``, ``OPENAI_BASE_URL``) and ``NWS_API_URL`` (README.md).
"""

from __future__ import annotations

from temporalio.worker import Worker

from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow, default_task_queue


async def main() -> None:
    # The plugin runs every model call as an activity (MODEL_PARAMS' timeouts and retries) through the model
    # switch. It goes on the client: it sets the data converter the agent types need, and the worker inherits it.
    plugin, model = agents_plugin(MODEL_PARAMS)
    client = await connect(plugins=[plugin])
    worker = Worker(
        client,
        task_queue=default_task_queue(),
        workflows=[WeatherAgentWorkflow],
        activities=WEATHER_ACTIVITIES,  # activity_as_tool registers nothing: every tool activity is listed here
        identity=worker_identity(),
    )
    await serve(worker, model=model)


if __name__ == "__main__":
    run_script(main())
