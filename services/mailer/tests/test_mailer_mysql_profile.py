"""The MySQL/MariaDB profile: migrations, the delivery worker's claims and the log on a real MariaDB."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def test_emails_are_queued_sent_and_logged_on_mariadb(
    start_mailer, make_mysql_database, smtp_listener, inbox
):
    async with start_mailer(database_url=await make_mysql_database("mailer")) as app:
        lead = await app.known_lead(name="Zoë Ünïcödé")
        await app.publish(app.prospectus.generated(lead))
        (sent,) = await app.wait_for_statuses(lead.id, ["SENT"])
        assert sent["sent_at"].endswith(("Z", "+00:00")) and sent["attempts"] == 1
        again = await app.client.post("/api/email/send", json={"lead_id": str(lead.id)}, headers=app.agent)
        assert again.status_code == 202
        await app.wait_for_statuses(lead.id, ["SENT", "SENT"])
    assert len(inbox.list_messages()) == 2
