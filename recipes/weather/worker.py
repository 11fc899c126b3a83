"""Worker for the weather-alert agent.

    python -m recipes.weather.worker

Polls the ``weather-agent`` task queue (``$WEATHER_TASK_QUEUE`` to change it) and
runs the agent workflow, the model activity (``invoke_model_activity``, added by
``OpenAIAgentsPlugin``) and the ``get_weather_alerts`` tool activity. Settings
come from the environment: ``TEMPORAL_ADDRESS``, the model switch
(``AGENT_MODEL_BACKEND``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``) and
``NWS_API_URL`` (see README.md).
"""

from __future__ import annotations

from temporalio.worker import Worker

from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow, default_task_queue


async def main() -> None:
    # The plugin runs every model call as an activity (with MODEL_PARAMS' timeouts and
    # retries) through the model switch; a starter's client needs the plugin too.
    plugin, model = agents_plugin(MODEL_PARAMS)
    client = await connect(plugins=[plugin])
    worker = Worker(
        client,
        task_queue=default_task_queue(),
        workflows=[WeatherAgentWorkflow],
        # activity_as_tool registers nothing: every tool activity is listed here.
        activities=WEATHER_ACTIVITIES,
        identity=worker_identity(),
    )
    await serve(worker, model=model)


if __name__ == "__main__":
    run_script(main())
