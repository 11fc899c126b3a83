"""Worker for the weather-alert agent.

    python -m recipes.weather.worker

Polls the ``weather-agent`` task queue (``$WEATHER_TASK_QUEUE`` to change it) and runs the agent workflow, the model
activity (``invoke_model_activity``, added by ``OpenAIAgentsPlugin``) and the
``get_weather_alerts`` tool activity. ``activity_as_tool`` does not register
an activity, so it is listed here. Settings come from the environment:
``TEMPORAL_ADDRESS``, ``AGENT_MODEL_BACKEND``/``OPENAI_API_KEY`` and
``NWS_API_URL`` (see README.md).
"""

from __future__ import annotations

from recipes.core.worker import run_worker_main
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow, default_task_queue

if __name__ == "__main__":
    run_worker_main(
        task_queue=default_task_queue(),
        workflows=[WeatherAgentWorkflow],
        activities=WEATHER_ACTIVITIES,
        model_params=MODEL_PARAMS,
    )
