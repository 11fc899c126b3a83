"""``ModelDouble``: start the double as a subprocess and drive its control API.

The subprocess runs in its own process group with stdin from /dev/null; it is
stopped by :meth:`ModelDouble.stop`, by the ``with`` block, at interpreter exit,
or on its own when the process that started it dies. The API key reaches it
through the environment (never argv, where ``ps`` would show it).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from tutorial.local_service import loopback_opener, read_url, spawn, stop_at_exit, terminate

from .misbehaviour import SmallModel
from .server import CONTROL_PREFIX, DEFAULT_MODEL

__all__ = ["API_KEY_ENV", "PROVIDERS", "ModelDouble"]

#: How the handle hands the required key to the subprocess.
API_KEY_ENV = "OPENAI_DOUBLE_API_KEY"
_NO_KEY_NEEDED = "double-accepts-any-key"
PROVIDERS = ("openai", "anthropic", "gemini")


class ModelDouble:
    """A running model double (OpenAI, Anthropic and Gemini wire formats; a subprocess), and its control API."""

    def __init__(self, proc: subprocess.Popen[str], url: str, api_key: str | None, model: str) -> None:
        self._proc: subprocess.Popen[str] | None = proc
        self._pid = proc.pid
        self._url = url
        self._root = url[: -len("/v1")]
        self._api_key = api_key
        self.model = model
        self._lock = threading.Lock()

    @classmethod
    def start(
        cls,
        port: int = 0,
        api_key: str | None = None,
        model: str = DEFAULT_MODEL,
        *,
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 15.0,
        small_model: SmallModel = SmallModel(),
    ) -> ModelDouble:
        """Start ``python -m tutorial.model_double`` and wait until it answers.

        Args:
            port: Port on 127.0.0.1; 0 picks a free one (see ``.url``).
            api_key: If given, every API request must send it (``Authorization: Bearer``,
                ``x-api-key`` or ``x-goog-api-key``, as each provider's clients do).
            model: The model name ``/v1/models`` lists.
            log_path: Append the double's stderr (access log) here; discarded by default.
            startup_timeout: Seconds to wait for the URL line and a healthy answer.
            small_model: Answer every request with this plan, at this speed (default: the rules, at once).
        """
        env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
        if api_key:
            env[API_KEY_ENV] = api_key
        args = ["--port", str(port), "--model", model, "--plan", small_model.plan,
                "--tokens-per-second", str(small_model.tokens_per_second),
                "--first-token-seconds", str(small_model.first_token_seconds)]  # fmt: skip
        proc = spawn("tutorial.model_double", args, env=env, log_path=log_path)
        double = cls(proc, "http://invalid/v1", api_key, model)
        stop_at_exit(double)
        try:
            line = read_url(proc, startup_timeout, "model double")
            double._url, double._root = line, line[: -len("/v1")]
            double._wait_healthy(startup_timeout)
        except BaseException:
            double.stop()
            raise
        return double

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise RuntimeError("model double exited during start-up")
            try:
                if self._call("GET", "health").get("status") == "ok":
                    return
            except (OSError, ValueError, RuntimeError) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(f"model double not answering at {self._root}{CONTROL_PREFIX}health: {last}")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the process group, then SIGKILL if it lingers. Safe to call twice."""
        with self._lock:
            proc, self._proc = self._proc, None
        stop_at_exit(self, forget=True)
        if proc is not None:
            terminate(proc, timeout)

    def __enter__(self) -> ModelDouble:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ModelDouble(url={self._url!r}, {'pid=' + str(self._pid) if self._proc else 'stopped'})"

    # ------------------------------------------------------------------ what a client needs
    @property
    def url(self) -> str:
        """Base URL for an OpenAI client, ending in ``/v1`` (``OPENAI_BASE_URL``)."""
        return self._url

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT``: the base URL for Anthropic clients (they add ``/v1/messages``)."""
        return self._root

    @property
    def gemini_url(self) -> str:
        """Base URL for Gemini clients, ending in ``/v1beta`` (they add ``/models/{model}:generateContent``)."""
        return f"{self._root}/v1beta"

    @property
    def pid(self) -> int:
        """The subprocess pid (also its process group id)."""
        return self._pid

    def env(self, api_key: str | None = None, *, provider: str = "openai") -> dict[str, str]:
        """The settings a client of this double needs, by ``provider``.

        * ``openai`` (default): ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``OPENAI_DEFAULT_MODEL``.
        * ``anthropic``: ``LITELLM_MODEL`` (``anthropic/<model>``), ``LITELLM_API_BASE`` (the root URL),
          ``ANTHROPIC_API_KEY``.
        * ``gemini``: ``LITELLM_MODEL`` (``gemini/<model>``), ``LITELLM_API_BASE`` (ending in ``/v1beta``),
          ``GEMINI_API_KEY``.

        ``api_key`` defaults to the key the double requires (or a placeholder when it takes any).
        """
        key = api_key or self._api_key or _NO_KEY_NEEDED
        if provider == "openai":
            return {"OPENAI_BASE_URL": self._url, "OPENAI_API_KEY": key, "OPENAI_DEFAULT_MODEL": self.model}
        if provider == "anthropic":
            return {"LITELLM_MODEL": f"anthropic/{self.model}", "LITELLM_API_BASE": self.root, "ANTHROPIC_API_KEY": key}
        if provider == "gemini":
            return {"LITELLM_MODEL": f"gemini/{self.model}", "LITELLM_API_BASE": self.gemini_url, "GEMINI_API_KEY": key}
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")

    # ------------------------------------------------------------------ control API
    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def state(self) -> dict[str, Any]:
        """Pending faults, latency, stream pace and request count."""
        return self._call("GET", "state")

    def fail_next(self, n: int = 1, status: int = 500, retry_after_s: float | None = None) -> None:
        """Answer the next ``n`` model requests with HTTP ``status`` in the error body of the provider
        each is addressed to (and ``Retry-After`` when ``retry_after_s`` is given)."""
        self._call("POST", "fail", {"count": n, "status": status, "retry_after_s": retry_after_s})

    def slow_next(self, n: int, seconds: float) -> None:
        """Delay the next ``n`` model requests by ``seconds``, then answer normally."""
        self._call("POST", "slow", {"count": n, "seconds": seconds})

    def set_latency(self, seconds: float) -> None:
        """Add ``seconds`` to every model request until changed (0 = off)."""
        self._call("POST", "latency", {"seconds": seconds})

    def set_stream_pace(self, seconds_per_delta: float) -> None:
        """Pause this long after each streamed delta."""
        self._call("POST", "pace", {"seconds": seconds_per_delta})

    def reset(self, *, clear_log: bool = True) -> None:
        """No faults, no latency, the default pace (and an empty request log unless ``clear_log=False``)."""
        self._call("POST", "reset", {"clear_log": clear_log})

    def requests(self) -> list[dict[str, Any]]:
        """The request log: one dict per model request, oldest first."""
        return self._call("GET", "requests")["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def _call(self, method: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        req = urllib.request.Request(
            f"{self._root}{CONTROL_PREFIX}{name}",
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with loopback_opener().open(req, timeout=10) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            raise RuntimeError(f"{method} {CONTROL_PREFIX}{name} -> HTTP {e.code}: {detail}") from None
