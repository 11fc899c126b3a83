"""Ask the chosen model for one tiny answer before a lesson starts, so a rejected key or a dead endpoint is one
sentence instead of a failed run minutes later (notebooks 00 and 12 do)."""

from __future__ import annotations

from recipes.core.errors import TutorialError
from recipes.core.models import ModelChoice

class ModelUnavailable(TutorialError):
    """The chosen model backend does not answer or rejects our credentials."""


async def check_model(choice: ModelChoice) -> None:
    """Make one tiny call so a rejected key or a dead endpoint is one clear sentence.

    The offline model always answers, so it is not called.
    """
    if choice.backend == "offline":
        return
    import openai
    from agents import ModelSettings, ModelTracing
    from temporalio.exceptions import ApplicationError

    model = choice.provider().get_model(None)
    try:
        await model.get_response(
            system_instructions=None,
            input="Reply with OK.",
            model_settings=ModelSettings(max_tokens=16),
            tools=[],
            output_schema=None,
            handoffs=[],
            tracing=ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        )
    except ApplicationError as err:  # the litellm backend's errors, each one sentence already
        raise ModelUnavailable(err.message) from None
    except openai.AuthenticationError as err:
        raise ModelUnavailable(
            f"{choice.describe()} rejected the API key (HTTP {err.status_code}); "
            "check OPENAI_API_KEY, or use model='offline'."
        ) from None
    except openai.NotFoundError:
        raise ModelUnavailable(
            f"{choice.describe()} does not know model {choice.model!r}; "
            "set OPENAI_DEFAULT_MODEL (or the notebook's model_name) to one it serves."
        ) from None
    except openai.APIConnectionError:
        where = choice.base_url or "api.openai.com"
        raise ModelUnavailable(
            f"Cannot reach {where}; check the network or OPENAI_BASE_URL, or use model='offline'."
        ) from None
    except openai.APIStatusError as err:
        raise ModelUnavailable(
            f"{choice.describe()} answered HTTP {err.status_code} to a one-line test request; "
            "try again, or check the server."
        ) from None
