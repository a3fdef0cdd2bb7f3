import ipaddress
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mailer.adapters.dev_mailbox import DevMailbox, DevSmtpServer, MailboxHandler
from mailer.main import definition
from mailer.settings import MailerSettings
from mailer.testing.smtp import free_tcp_port
from parley_contracts import (
    RPC_PROSPECTUS_PDF,
    LeadCreated,
    LeadSnapshot,
    ProspectusAgentContact,
    ProspectusGenerated,
    ProspectusPdfReply,
    ProspectusPdfRequest,
)
from prospectus.testing.factories import sample_products, sample_recommendation
from servicekit.app import create_app
from servicekit.bus import wait_for
from servicekit.testing.keys import KeyPair
from servicekit.testing.plugin import running
from servicekit.testing.service import AGENT2_ID, AGENT_ID, ServiceUnderTest


@pytest.fixture
def mailbox(tmp_path: Path) -> DevMailbox:
    return DevMailbox(tmp_path / "mailbox")


@pytest.fixture
def mail_server(mailbox: DevMailbox) -> Iterator[DevSmtpServer]:
    with DevSmtpServer(MailboxHandler(mailbox), port=0) as server:
        yield server


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts only the test certificate


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """A self-signed certificate for 127.0.0.1 and the contexts to serve and trust it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return Tls(server=server, client=client)


# -- the running service ---------------------------------------------------------------------

UNSUBSCRIBE_SECRET = "unsubscribe-secret-for-service-tests-0123456789"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


class FakeProspectus:
    """Answers the mailer's PDF requests on the bus as the prospectus service would."""

    def __init__(self) -> None:
        self.versions: dict[uuid.UUID, tuple[uuid.UUID, ProspectusPdfReply]] = {}
        self.requests = 0

    def generated(
        self, lead: LeadSnapshot, *, send_email: bool = True, version: int = 1
    ) -> ProspectusGenerated:
        """A READY version of the lead's prospectus, and the event announcing it."""
        prospectus_id = uuid.uuid4()
        reply = ProspectusPdfReply(
            found=True,
            status="READY",
            version=version,
            pdf=PDF,
            recommendation=sample_recommendation(sample_products()),
            agent=ProspectusAgentContact(
                name="Sam Okafor", email="sam@parley.example.com", title="Insurance agent"
            ),
        )
        self.versions[prospectus_id] = (lead.id, reply)
        return ProspectusGenerated(
            lead_id=lead.id,
            assigned_agent_id=lead.assigned_agent_id,
            prospectus_id=prospectus_id,
            version=version,
            send_email=send_email,
        )

    async def answer(self, msg) -> None:
        self.requests += 1
        request = ProspectusPdfRequest.model_validate_json(msg.data)
        lead_id, reply = self.versions.get(request.prospectus_id, (None, None))
        if reply is None or lead_id != request.lead_id:
            reply = ProspectusPdfReply(found=False)
        await msg.respond(reply.model_dump_json().encode())


@dataclass
class MailerApp(ServiceUnderTest):
    prospectus: FakeProspectus
    agent_id: uuid.UUID = AGENT_ID
    agent2_id: uuid.UUID = AGENT2_ID

    async def emails(self, lead_id: uuid.UUID) -> list[dict[str, Any]]:
        """The lead's email log, newest first; none while the lead itself has not arrived (404)."""
        response = await self.client.get(
            "/api/email/logs", params={"lead_id": str(lead_id)}, headers=self.admin
        )
        if response.status_code == 404:
            return []
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def wait_for_statuses(
        self, lead_id: uuid.UUID, expected: list[str], timeout: float = 15
    ) -> list[dict]:
        async def settled() -> bool:
            return [e["status"] for e in await self.emails(lead_id)] == expected

        assert await wait_for(settled, timeout=timeout), await self.emails(lead_id)
        return await self.emails(lead_id)

    async def known_lead(self, **fields: Any) -> LeadSnapshot:
        """A lead of AGENT_ID that the service knows."""
        data: dict[str, Any] = {
            "id": uuid.uuid4(),
            "name": "Priya Raman",
            "phone": "+14155550123",
            "email": "priya@example.com",
            "assigned_agent_id": AGENT_ID,
        }
        lead = LeadSnapshot.model_validate({**data, **fields})
        await self.publish(LeadCreated(lead=lead))

        async def arrived() -> bool:
            r = await self.client.get("/api/email/logs", params={"lead_id": str(lead.id)}, headers=self.admin)
            return r.status_code == 200

        assert await wait_for(arrived, timeout=10)
        return lead


@pytest.fixture
def smtp_port() -> int:
    """Where the mailer sends; tests start (or not) a listener there."""
    return free_tcp_port()


@pytest.fixture
def inbox(tmp_path: Path) -> DevMailbox:
    """What the test's SMTP listener received."""
    return DevMailbox(tmp_path / "received")


@pytest.fixture
def smtp_listener(inbox: DevMailbox, smtp_port: int) -> Iterator[DevSmtpServer]:
    with DevSmtpServer(MailboxHandler(inbox), port=smtp_port) as server:
        yield server


def mailer_settings(
    database_url: str, nats_url: str, namespace: str, keys: KeyPair, data_dir: Path, **overrides: Any
) -> MailerSettings:
    return MailerSettings(
        **{
            "database_url": database_url,
            "nats_url": nats_url,
            "bus_namespace": namespace,
            "jwt_public_key": keys.public_pem,
            "auto_migrate": True,
            "outbox_poll_seconds": 0.05,
            "bus_backoff_seconds": [0.05],
            "data_dir": data_dir,
            "smtp_security": "none",
            "smtp_timeout_seconds": 2,
            "unsubscribe_secret": UNSUBSCRIBE_SECRET,
            "public_base_url": "http://127.0.0.1:8080",
            "delivery_poll_seconds": 0.05,
            "retry_first_delay_seconds": 0.2,
            "retry_max_delay_seconds": 0.4,
            "prospectus_timeout_seconds": 1,
            "gateway_timeout_seconds": 0.3,
            **overrides,
        }
    )


@pytest.fixture
def start_mailer(make_database, nats_url, bus_namespace, jwt_keys, tmp_path, smtp_port):
    """Start the service (SMTP to `smtp_port` unless overridden) with a fake prospectus responder.
    Replicas share a database given as `database_url`."""

    @asynccontextmanager
    async def start(
        *, fake_prospectus: bool = True, database_url: str | None = None, **overrides: Any
    ) -> AsyncIterator[MailerApp]:
        settings = mailer_settings(
            database_url or await make_database("mailer"),
            nats_url,
            bus_namespace,
            jwt_keys,
            tmp_path / "mailer-data",
            **{"smtp_host": "127.0.0.1", "smtp_port": smtp_port, **overrides},
        )
        app = create_app(definition, settings)
        prospectus = FakeProspectus()
        nc = await nats.connect(nats_url)
        try:
            if fake_prospectus:
                await nc.subscribe(f"{bus_namespace}.{RPC_PROSPECTUS_PDF}", cb=prospectus.answer)
                await nc.flush()
            async with running(app) as client:
                yield MailerApp(client, app.state.runtime, jwt_keys, prospectus)
        finally:
            await nc.close()

    return start


@pytest.fixture
async def mailer_app(start_mailer) -> AsyncIterator[MailerApp]:
    async with start_mailer() as app:
        yield app
