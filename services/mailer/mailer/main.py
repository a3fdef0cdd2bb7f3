"""The mailer: prospectus emails over SMTP (or the local dev mailbox), the email log, and opt-out links."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from servicekit.app import create_app
from servicekit.runtime import ServiceDefinition, ServiceRuntime

from .adapters.dev_mailbox import DevMailbox, DevSmtpServer, MailboxHandler
from .adapters.tables import inbox, metadata, outbox
from .api import mailbox, routes
from .delivery import DeliveryWorker
from .domain.unsubscribe import UnsubscribeTokens
from .handlers.events import handlers
from .outgoing import configured_sender
from .settings import MailerSettings

log = logging.getLogger("mailer")


async def wire(runtime: ServiceRuntime) -> None:
    settings = runtime.settings
    assert isinstance(settings, MailerSettings)
    configured_sender(settings)  # a sender that cannot be valid stops the start, not the first email
    tokens = UnsubscribeTokens(
        settings.unsubscribe_secret_value(),
        max_age=timedelta(days=settings.unsubscribe_link_days),
        previous_secrets=[s.get_secret_value() for s in settings.unsubscribe_previous_secrets],
    )
    dev_server: DevSmtpServer | None = None
    if settings.uses_dev_mailbox:
        # aiosmtpd logs every connection at INFO; the mailer's own log line per email is enough.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        dev_mailbox = DevMailbox(settings.mailbox_dir)
        dev_server = DevSmtpServer(
            MailboxHandler(dev_mailbox), host=settings.dev_smtp_host, port=settings.dev_smtp_port
        )
        dev_server.start()
        runtime.extras["dev_mailbox"] = dev_mailbox
        runtime.extras["dev_smtp_server"] = dev_server
        log.info(
            "no SMTP_HOST: email goes to the local mailbox (SMTP %s:%d, files in %s, /api/dev/mailbox)",
            dev_server.host,
            dev_server.port,
            settings.mailbox_dir,
        )
    worker = DeliveryWorker(runtime, settings, tokens, dev_server)
    runtime.extras["tokens"] = tokens
    runtime.extras["worker"] = worker
    worker.start()


async def unwire(runtime: ServiceRuntime) -> None:
    worker: DeliveryWorker | None = runtime.extras.get("worker")
    if worker is not None:
        await worker.stop()
    dev_server: DevSmtpServer | None = runtime.extras.get("dev_smtp_server")
    if dev_server is not None:
        dev_server.stop()


definition = ServiceDefinition(
    name="mailer",
    description="Prospectus emails over SMTP or the local dev mailbox, the email log, and unsubscribe links.",
    settings_cls=MailerSettings,
    metadata=metadata,
    outbox=outbox,
    inbox=inbox,
    migrations=Path(__file__).parent / "migrations",
    routers=[routes.router, mailbox.router],
    handlers=handlers,
    on_startup=[wire],
    on_shutdown=[unwire],
)


def app() -> FastAPI:
    """ASGI factory: `uvicorn --factory mailer.main:app`."""
    return create_app(definition)
