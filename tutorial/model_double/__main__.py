"""``python -m tutorial.model_double --port 0 [--api-key KEY] [--model NAME]``.

Speaks OpenAI's, Anthropic's and Gemini's wire formats (see :mod:`.routes`).
Prints the OpenAI base URL (ending in ``/v1``; the root URL is the same without
it, Gemini's base adds ``/v1beta``) as the first stdout line, then writes
only to stderr. Exits on SIGTERM, and when ``--exit-with-parent PID`` is no
longer its parent (a SIGKILLed notebook kernel leaves no double behind). The
key can also come from ``$OPENAI_DOUBLE_API_KEY``, which keeps it out of ``ps``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from tutorial.local_service import stop_with_parent

from .handle import API_KEY_ENV
from .misbehaviour import PLANS, SmallModel
from .server import DEFAULT_MODEL, DEFAULT_STREAM_PACE_S, HOST, make_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tutorial.model_double",
        description="A local server that speaks OpenAI's, Anthropic's and Gemini's wire formats (not an LLM). "
        "Binds 127.0.0.1 only.",
    )
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 (default) = any free port")
    parser.add_argument("--api-key", help=f"require this key (default: ${API_KEY_ENV}; unset = accept any key)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"the model /v1/models lists (default {DEFAULT_MODEL})")
    parser.add_argument("--stream-pace", type=float, default=DEFAULT_STREAM_PACE_S, help="seconds after each delta")
    parser.add_argument("--plan", choices=PLANS, default="rules",
                        help="rules: every call the rules plan; one_tool: one function call a question, then the answer")
    parser.add_argument("--tokens-per-second", type=float, default=0.0, help="output speed (default 0: at once)")
    parser.add_argument("--first-token-seconds", type=float, default=0.0, help="wait before every response's first token")
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    parser.add_argument("--exit-with-parent", type=int, metavar="PID", help="shut down when PID is not our parent")
    args = parser.parse_args(argv)

    try:
        server = make_server(
            args.port,
            api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
            model=args.model,
            stream_pace_s=args.stream_pace,
            quiet=args.quiet,
            small_model=SmallModel(args.plan, args.tokens_per_second, args.first_token_seconds),
        )
    except ValueError as e:
        print(f"ERROR: {e}", flush=True)
        return 2
    except OSError as e:
        print(f"ERROR: cannot bind {HOST}:{args.port}: {e}", flush=True)  # still one line for the parent
        return 2
    print(server.url, flush=True)
    # From here on stdout is unused: the parent may have stopped reading the pipe.
    try:
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.stdout = sys.stderr
    keyed = "a required API key" if server.api_key else "any API key"
    sys.stderr.write(f"model-double: {server.url} (pid {os.getpid()}, model {server.model}, {keyed}; OpenAI, "
                     "Anthropic and Gemini wire formats); not an LLM\n")
    sys.stderr.flush()

    signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown, daemon=True).start())
    if args.exit_with_parent:
        stop_with_parent(args.exit_with_parent, server, "model-double")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
