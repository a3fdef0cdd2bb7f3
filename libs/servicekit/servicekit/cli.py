"""`python -m <service> serve | migrate | seed | replay | dlq` for every service."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from .logging import configure_logging
from .runtime import ServiceDefinition, ServiceRuntime


def main(
    definition: ServiceDefinition,
    argv: list[str] | None = None,
    app_factory: Callable[[Any], FastAPI] | None = None,
) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {definition.name}", description=definition.description)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API and the event consumers")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("seed", help="apply migrations, then load the demo data (dev profile only)")
    replay = sub.add_parser("replay", help="re-run a handler over stored events with a fresh consumer")
    replay.add_argument("--handler", help="consumer name; default: every handler of --subject")
    replay.add_argument("--subject", help="event subject, e.g. call.ended; or dlq.<consumer>.<subject>")
    start = replay.add_mutually_exclusive_group()
    start.add_argument("--since", type=datetime.fromisoformat, help="ISO-8601 time with offset")
    start.add_argument("--from-seq", type=int, help="stream sequence to start from")
    sub.add_parser("handlers", help="list this service's event handlers")
    args = parser.parse_args(argv)

    settings = definition.settings_cls()
    configure_logging(definition.name, settings.log_level, settings.log_json)

    if args.command == "serve":
        import uvicorn

        from .app import create_app

        uvicorn.run(
            app_factory(settings) if app_factory else create_app(definition, settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
            log_config=None,
            access_log=False,
            # Long-lived responses (event streams, websockets) would otherwise hold a shutdown open
            # past the orchestrator's grace period; clients reconnect to another replica.
            timeout_graceful_shutdown=5,
        )
        return 0
    runtime = ServiceRuntime(definition, settings)
    if args.command == "migrate":
        asyncio.run(runtime.migrate())
        return 0
    if args.command == "seed":
        return asyncio.run(_seed(runtime))
    if args.command == "handlers":
        for handler in definition.handlers(runtime):
            print(f"{handler.name}\t{handler.event_type.subject}")
        return 0
    return asyncio.run(_replay(runtime, args))


async def _seed(runtime: ServiceRuntime) -> int:
    await runtime.migrate()
    if runtime.definition.seed is None:
        return 0
    if runtime.settings.profile.value == "prod":
        print("refusing to seed demo data with PARLEY_PROFILE=prod", file=sys.stderr)
        return 2
    await runtime.start(consume=False)
    try:
        await runtime.definition.seed(runtime)
    finally:
        await runtime.stop()
    return 0


async def _replay(runtime: ServiceRuntime, args: argparse.Namespace) -> int:
    handlers = list(runtime.definition.handlers(runtime))
    bare_subject: str | None = args.subject
    original = (
        bare_subject.split(".", 2)[2] if bare_subject and bare_subject.startswith("dlq.") else bare_subject
    )
    chosen = [
        h
        for h in handlers
        if (args.handler is None or h.name == args.handler)
        and (original is None or h.event_type.subject == original)
    ]
    if not chosen:
        print("no handler matches --handler/--subject; see `handlers`", file=sys.stderr)
        return 2
    await runtime.bus.connect()
    try:
        for handler in chosen:
            report = await runtime.bus.replay(
                handler, since=args.since, from_seq=args.from_seq, bare_subject=bare_subject
            )
            print(json.dumps(report.__dict__))
            await runtime.relay.publish_pending()
    finally:
        await runtime.bus.close()
        await runtime.db.dispose()
    return 0
