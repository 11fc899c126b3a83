"""Talk to a conversation session from a terminal (a worker must be running:
``python -m recipes.agent_session.worker``).

    python -m recipes.agent_session.starter chat "Any weather alerts for California?" "And the forecast for Texas?"

    python -m recipes.agent_session.starter session-start --max-turns 3        # prints the session id
    python -m recipes.agent_session.starter send SESSION "Any weather alerts for California?"
    python -m recipes.agent_session.starter send SESSION 'Broadcast a public notice for CA: "Avoid the coast road"'
    python -m recipes.agent_session.starter pending SESSION
    python -m recipes.agent_session.starter approve SESSION approval-1
    python -m recipes.agent_session.starter reject SESSION approval-2 --reason "not verified"
    python -m recipes.agent_session.starter conversation SESSION
    python -m recipes.agent_session.starter status SESSION
    python -m recipes.agent_session.starter end SESSION
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.scripts import add_verbose_flag, require_text, run_script
from recipes.core.settings import connect, web_ui_url
from recipes.agent_session.client import Session
from recipes.agent_session.workflows import SessionConfig


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    chat = sub.add_parser("chat", help="start a session, send each message in turn, print the replies, end it")
    chat.add_argument("messages", nargs="+")
    start = sub.add_parser("session-start", help="start a conversation session")
    start.add_argument("--max-turns", type=int, default=SessionConfig.max_turns_per_run)
    start.add_argument("--recheck-unit-seconds", type=float, default=SessionConfig.recheck_unit_seconds,
                       help="how long one 'hour' of recheck_in_hours lasts (default 3600)")
    send = sub.add_parser("send", help="send a message (update) and print the reply")
    send.add_argument("session")
    send.add_argument("text")
    for name in ("approve", "reject"):
        p = sub.add_parser(name, help=f"{name} a pending tool call (update)")
        p.add_argument("session")
        p.add_argument("request_id")
        p.add_argument("--reason", default="")
    for name in ("pending", "conversation", "status", "end"):
        p = sub.add_parser(name)
        p.add_argument("session")
    return add_verbose_flag(parser)


async def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Bad input is one sentence before anything is started.
    for text in args.messages if args.command == "chat" else [args.text] if args.command == "send" else []:
        require_text("message", text, "Any weather alerts for California?")
    client = await connect(plugins=[OpenAIAgentsPlugin()])
    if args.command == "chat":
        session = await Session.start(client)
        print("Session:", session.id)
        for text in args.messages:
            reply = await session.send(text)
            print(f"{reply.agent}: {reply.text}")
        await session.end("chat over")
        summary = await session.result()
        print(f"Ended after {summary.user_turns} user turns in {summary.run_number} run(s).")
        print("Web UI:", web_ui_url(client, session.id))
    elif args.command == "session-start":
        config = SessionConfig(max_turns_per_run=args.max_turns, recheck_unit_seconds=args.recheck_unit_seconds)
        session = await Session.start(client, config=config)
        print(session.id)
    else:
        session = Session.attach(client, args.session)
        if args.command == "send":
            reply = await session.send(args.text)
            print(f"{reply.agent}: {reply.text}")
        elif args.command in ("approve", "reject"):
            reply = await session.decide(args.request_id, args.command == "approve", args.reason)
            print(f"{reply.agent}: {reply.text}")
        elif args.command == "pending":
            for request in await session.pending():
                print(f"{request.request_id}: {request.tool}({request.arguments})")
        elif args.command == "conversation":
            for turn in await session.conversation():
                who = turn.agent or turn.role
                print(f"[run {turn.run}, {turn.via}] {who}: {turn.text}")
        elif args.command == "status":
            for key, value in asdict(await session.status()).items():
                print(f"{key}: {value}")
        elif args.command == "end":
            await session.end("ended from the command line")
            summary = await session.result()
            print(f"Ended after {summary.user_turns} user turns in {summary.run_number} run(s).")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main()))
