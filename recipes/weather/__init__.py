"""Weather recipe: an agent that answers questions from US National Weather Service alerts.

- :mod:`recipes.weather.workflows` -- ``WeatherAgentWorkflow`` (the agent inside a workflow) and
  ``MODEL_PARAMS`` (how its model calls run as activities);
- :mod:`recipes.weather.tools` -- its tools: ``get_weather_alerts`` as an activity, ``explain_severity``
  in the workflow;
- :mod:`recipes.weather.worker` and :mod:`recipes.weather.starter` -- the two entrypoints.

Import the modules directly: this package imports nothing eagerly, so workflow code can import the
activities without the HTTP stack. The tool calls ``$NWS_API_URL`` (default ``http://127.0.0.1:8787``,
the tutorial's local stand-in); ``NWS_API_URL=https://api.weather.gov`` uses the real NWS API.
"""
