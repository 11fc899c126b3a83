"""Weather recipe: an agent that answers questions using US National Weather Service alerts.

Modules (import them directly; this package imports nothing eagerly so that
``python -m tutorial.nws_service`` starts fast and workflow code can
import the activities without pulling in the HTTP stack):

- :mod:`tutorial.nws_service` -- a local, stdlib-only service shaped like
  ``https://api.weather.gov`` with run-time fault injection and a request log,
  plus the :class:`~tutorial.nws_service.WeatherService` handle.
- :mod:`recipes.tools.weather_alerts` -- the Temporal activities the agent uses as
  tools (``get_weather_alerts``) and the plain ``fetch_alerts`` helper.

The recipe talks to ``$NWS_API_URL`` (default ``http://127.0.0.1:8787``, the local
service); set ``NWS_API_URL=https://api.weather.gov`` to use the real NWS API.
"""
