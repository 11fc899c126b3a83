"""A web page for the streaming weather agent: ask, and watch the answer being written.

    python -m recipes.streaming.web                  # http://127.0.0.1:8000/
    python -m recipes.streaming.web --port 8001      # or STREAMING_WEB_PORT=8001

Needs a worker (``python -m recipes.streaming.worker``) on the same Temporal server and
task queue (``$STREAMING_TASK_QUEUE``). It binds to 127.0.0.1 unless ``--host`` says
otherwise: the page has no login, and anyone who can reach it can start runs.

What it serves
--------------
* ``GET /`` -- the page (``page.html`` next to this file: plain HTML and JavaScript).
* ``POST /runs`` with ``{"question": "..."}`` -- checks the question (HTTP 400 with one
  sentence if it is empty or too long), starts :class:`StreamingWeatherWorkflow` as
  ``stream-<8 hex>`` and returns ``{"workflow_id", "ui_url"}``.
* ``GET /runs/<id>/events`` -- Server-Sent Events: ``run`` (the question and the Web UI
  link), then one ``view`` per change. Each ``view`` carries the **whole** current view
  (segments, the text in flight, status, answer, error) rather than a delta, so a
  retried model call's withdrawn text simply disappears on the next render -- it can
  never be duplicated. ``error`` says what went wrong, with ``final`` true when
  reconnecting cannot help (an unknown run). A comment every 15 s keeps proxies from
  closing a quiet stream. The stream ends after the run is done or failed.

Why a reload resumes the same run
---------------------------------
The page keeps the run id in its address (``/?run=stream-1a2b3c4d``). After a reload
(or a lost connection, which ``EventSource`` retries on its own) it opens the events
again, and every events connection is a fresh :func:`follow` from offset 0. The
workflow truncates its stream at every snapshot, so offset 0 means "the latest
snapshot, then what streamed since": the page is whole again at once, and nothing
new is started. The run itself never depended on the page.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import errno
import json
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from temporalio.client import Client
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.service import RPCError

from recipes.core.errors import ConfigurationError, TutorialError
from recipes.core.scripts import add_verbose_flag, is_outage, run_script
from recipes.core.settings import connect, web_ui_url

from recipes.streaming.subscriber import OUTAGE_GRACE_S, StreamUnavailable, Update, follow
from recipes.streaming.workflows import TASK_QUEUE_ENV, default_task_queue, start_run

PORT_ENV = "STREAMING_WEB_PORT"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
PAGE = Path(__file__).with_name("page.html")
#: Seconds between keep-alive comments on a quiet event stream.
KEEPALIVE_S = 15.0
#: How long the browser waits before reconnecting an event stream the server ended early.
RECONNECT_MS = 2000
#: The start of the line printed once the page listens and Temporal answers (a parent waits for it).
READY_TEXT = "Streaming page at"

T = TypeVar("T")


class PortInUse(ConfigurationError):
    """The address to listen on cannot be bound."""


# -- the app --------------------------------------------------------------------


def create_app(client: Client, task_queue: str | None = None) -> Starlette:
    """The page and its two endpoints, using ``client`` for every run."""
    queue = task_queue or default_task_queue()

    async def page(request: Request) -> Response:
        # Read per request, so editing the page needs no restart.
        return HTMLResponse(PAGE.read_text(encoding="utf-8"), headers={"Cache-Control": "no-store"})

    async def create_run(request: Request) -> Response:
        # JSON only: a cross-site form cannot send it without a CORS preflight, which
        # this server never grants, so another web page cannot start runs here.
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _problem(415, 'Send the question as JSON, {"question": "..."}, with Content-Type: application/json.')
        try:
            body = await request.json()
        except ValueError:
            return _problem(400, 'The request body is not JSON; send {"question": "..."}.')
        question = body.get("question") if isinstance(body, dict) else None
        try:
            workflow_id = await start_run(client, question, task_queue=queue)
        except ValueError as err:
            return _problem(400, str(err))
        except RPCError as err:
            if not is_outage(err):
                raise
            return _problem(503, f"The Temporal server at {client.service_client.config.target_host} is not answering; try again in a moment.")
        return JSONResponse({"workflow_id": workflow_id, "ui_url": web_ui_url(client, workflow_id)})

    async def events(request: Request) -> Response:
        workflow_id = request.path_params["workflow_id"]
        return StreamingResponse(
            event_stream(client, workflow_id),
            media_type="text/event-stream",
            # no-transform: a compressing proxy would hold the events back.
            headers={"Cache-Control": "no-store, no-transform", "X-Accel-Buffering": "no"},
        )

    return Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            Route("/runs", create_run, methods=["POST"]),
            Route("/runs/{workflow_id}/events", events, methods=["GET"]),
        ]
    )


def _problem(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


# -- the event stream -------------------------------------------------------------


def sse(event: str | None, data: Any = None, *, retry_ms: int | None = None, comment: str | None = None) -> str:
    """One Server-Sent Events message. ``data`` is sent as one line of JSON."""
    lines = []
    if comment is not None:
        lines.append(f": {comment}")
    if retry_ms is not None:
        lines.append(f"retry: {retry_ms}")
    if event is not None:
        lines.append(f"event: {event}")
        lines.append(f"data: {json.dumps(data, ensure_ascii=False)}")
    return "\n".join(lines) + "\n\n"


def view_message(update: Update) -> dict[str, Any]:
    """What the page renders: the whole view, so a re-render is always right."""
    snapshot = update.view.snapshot
    return {
        "kind": update.kind,
        "segments": [dataclasses.asdict(s) for s in snapshot.segments],
        "pending": update.view.pending,
        "text": update.view.text,
        "status": snapshot.status,
        "model_calls": snapshot.model_calls,
        "answer": snapshot.answer,
        "error": snapshot.error,
        "withdrawn": update.text if update.kind != "delta" else "",
    }


async def event_stream(client: Client, workflow_id: str) -> AsyncIterator[str]:
    """The events of one page connection: ``run`` and ``view`` s until the run ends, or
    an ``error``. Every connection follows the run from offset 0 (see the module
    docstring), so a reconnect needs nothing from the last one."""
    yield sse(None, retry_ms=RECONNECT_MS, comment="connected")
    introduced = False
    try:
        async for update in with_keepalive(follow(client, workflow_id), KEEPALIVE_S):
            if update is None:
                yield sse(None, comment="keepalive")
                continue
            if not introduced:  # the run exists and the server answers: say what it is
                run = {"workflow_id": workflow_id, "question": await _question_of(client, workflow_id),
                       "ui_url": web_ui_url(client, workflow_id)}  # fmt: skip
                yield sse("run", run)
                introduced = True
            yield sse("view", view_message(update))
    except StreamUnavailable as err:
        yield sse("error", {"message": str(err), "final": True})
    except TutorialError:  # follow() gave up waiting for the Temporal server
        message = (f"Lost the Temporal server at {client.service_client.config.target_host} for over {OUTAGE_GRACE_S:.0f}s "
                   "(the run goes on there); reconnecting ...")  # fmt: skip
        yield sse("error", {"message": message, "final": False})
    except RPCError as err:
        if is_outage(err):
            message = f"The Temporal server at {client.service_client.config.target_host} is not answering; reconnecting ..."
            yield sse("error", {"message": message, "final": False})
        else:  # refused, not down: reconnecting would be refused again
            yield sse("error", {"message": f"Temporal refused to stream {workflow_id}: {err.message}", "final": True})
    # Ending the response here: after done/failed the page has closed its EventSource;
    # after a non-final error the browser reconnects in RECONNECT_MS and starts afresh.


async def with_keepalive(items: AsyncIterator[T], every_s: float) -> AsyncIterator[T | None]:
    """``items``, with a ``None`` whenever ``every_s`` seconds pass without one.

    The pending ``__anext__`` is awaited with ``asyncio.wait``, which does not cancel it
    on a timeout, so no item is lost to a keep-alive. When the page goes away the
    response is cancelled, and so is the pending step (and with it :func:`follow`)."""
    iterator = aiter(items)
    step: asyncio.Future[T] = asyncio.ensure_future(anext(iterator))
    try:
        while True:
            done, _ = await asyncio.wait({step}, timeout=every_s)
            if not done:
                yield None
                continue
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
            step = asyncio.ensure_future(anext(iterator))
    finally:
        step.cancel()


async def _question_of(client: Client, workflow_id: str) -> str | None:
    """The question the run was started with (the page shows it again after a reload),
    or ``None`` if it cannot be read: it is only a courtesy."""
    try:
        handle = client.get_workflow_handle(workflow_id)
        async for event in handle.fetch_history_events(page_size=1):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            values = await client.data_converter.decode(payloads, [str])
            return str(values[0]) if values else None
    except (RPCError, TypeError, ValueError):
        pass
    return None


# -- the command ------------------------------------------------------------------


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or :class:`PortInUse` with one sentence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise PortInUse(
                f"port {port} on {host} is in use (another copy of this page, or another program); "
                f"pass --port or set {PORT_ENV}."
            ) from None
        if err.errno == errno.EACCES:
            raise PortInUse(f"port {port} on {host} needs special privileges; pass --port 8000 or higher.") from None
        raise PortInUse(f"cannot listen on {host}:{port} ({err.strerror}); pass another --host or --port.") from None
    sock.set_inheritable(True)
    return sock


def _port_from_env() -> int:
    raw = os.environ.get(PORT_ENV, "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigurationError(f"{PORT_ENV}={raw!r} is not a port number (1-65535).")
    return int(raw)


def page_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"where to listen (default {DEFAULT_HOST}: this machine only)")
    parser.add_argument("--port", type=int, default=None, help=f"default: ${PORT_ENV} or {DEFAULT_PORT}")
    parser.add_argument("--task-queue", default=None,
                        help=f"where runs are started; default: ${TASK_QUEUE_ENV} or {default_task_queue()!r}")  # fmt: skip
    args = add_verbose_flag(parser).parse_args(argv)
    port = args.port if args.port is not None else _port_from_env()

    sock = bind(args.host, port)  # first: a taken port is the commonest problem, and the quickest to tell
    try:
        # The plugin on the client sets the data converter the agent types need.
        client = await connect(plugins=[OpenAIAgentsPlugin()])
        app = create_app(client, args.task_queue)
        # A short graceful shutdown: an open event stream never ends by itself.
        config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=1, lifespan="off")
        server = uvicorn.Server(config)
        print(f"{READY_TEXT} {page_url(args.host, port)} (Temporal {client.service_client.config.target_host}, namespace {client.namespace}, "
              f"task queue {args.task_queue or default_task_queue()!r}); Ctrl-C stops it.", flush=True)  # fmt: skip
        await server.serve(sockets=[sock])
    finally:
        sock.close()


if __name__ == "__main__":
    run_script(main())
