"""Error bodies, one style per provider: what each client SDK parses when a request fails.

The server decides *that* a request fails (a wrong key, a bad body, an injected
fault, a crash); an :class:`ErrorStyle` says it the way that provider does, so
the client raises the same exception class it would raise against the real API.
OpenAI's style lives here (Chat Completions and the Responses API share it);
Anthropic's and Google's live next to their wire formats.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAI_ERRORS", "ErrorStyle", "OpenAIErrors"]


class ErrorStyle:
    """How one provider words an error. Subclasses fill in :meth:`body` and the messages."""

    provider = "openai"

    def body(self, status: int, message: str, *, kind: str | None = None, param: str | None = None) -> dict[str, Any]:
        """The JSON error body for HTTP ``status`` (``kind`` overrides the provider's type for it)."""
        raise NotImplementedError

    def fault(self, status: int, retry_after_s: float | None) -> dict[str, Any]:
        """The body of an injected fault (``fail_next``)."""
        return self.body(status, f"Injected fault: HTTP {status}.")

    def unauthorized(self, auth: str) -> tuple[int, dict[str, Any]]:
        """Status and body for a key that is ``"missing"`` or ``"wrong"``."""
        raise NotImplementedError

    def bad_request(self, message: str, param: str | None = None) -> dict[str, Any]:
        return self.body(400, message, param=param)

    def bad_json(self) -> dict[str, Any]:
        return self.bad_request("The request body is not valid JSON.")

    def not_found(self, message: str) -> dict[str, Any]:
        return self.body(404, message)

    def crashed(self) -> dict[str, Any]:
        """A bug in the double: answered like a broken provider (HTTP 500)."""
        return self.body(500, "The model double crashed on this request; see its stderr.")


_OPENAI_FAULTS: dict[int, tuple[str, str, str | None]] = {
    429: ("Rate limit reached for requests (injected by the model double).", "requests", "rate_limit_exceeded"),
    500: ("The server had an error while processing your request. Sorry about that! (injected)", "server_error", None),
    502: ("Bad gateway (injected fault).", "server_error", None),
    503: ("The engine is currently overloaded, please try again later. (injected fault)", "server_error", None),
    529: ("Overloaded (injected fault).", "overloaded_error", None),
}


class OpenAIErrors(ErrorStyle):
    """``{"error": {"message", "type", "param", "code"}}``, as the ``openai`` client reads it."""

    provider = "openai"

    def body(
        self, status: int, message: str, *, kind: str | None = None, param: str | None = None, code: str | None = None
    ) -> dict[str, Any]:
        kind = kind or ("invalid_request_error" if status < 500 else "server_error")
        return {"error": {"message": message, "type": kind, "param": param, "code": code}}

    def fault(self, status: int, retry_after_s: float | None) -> dict[str, Any]:
        generic = "invalid_request_error" if status < 500 else "api_error"
        message, kind, code = _OPENAI_FAULTS.get(status, (f"Injected fault: HTTP {status}.", generic, None))
        return self.body(status, message, kind=kind, code=code)

    def unauthorized(self, auth: str) -> tuple[int, dict[str, Any]]:
        if auth == "missing":
            message = ("You didn't provide an API key. You need to provide your API key in an Authorization "
                       "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")  # fmt: skip
        else:
            message = "Incorrect API key provided. This model double only accepts the key it was started with."
        return 401, self.body(401, message, kind="invalid_request_error", code="invalid_api_key")

    def bad_json(self) -> dict[str, Any]:
        return self.bad_request("We could not parse the JSON body of your request. (HINT: This likely means "
                                "you aren't using your HTTP library correctly.)")  # fmt: skip

    def not_found(self, message: str) -> dict[str, Any]:
        return self.body(404, message, kind="invalid_request_error")


OPENAI_ERRORS = OpenAIErrors()
