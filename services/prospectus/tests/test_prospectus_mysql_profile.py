"""The MySQL/MariaDB profile: migrations, the render worker's claims and the API on a real MariaDB."""

from __future__ import annotations

import pytest
from parley_contracts import LeadCreated
from prospectus.testing.events import catalog_events, lead_snapshot, recommendation_for

pytestmark = pytest.mark.integration


async def test_versions_render_on_mariadb(start_prospectus, make_mysql_database):
    async with start_prospectus(database_url=await make_mysql_database("prospectus")) as app:
        lead = lead_snapshot(app.agent_id, name="Zoë Ünïcödé")
        await app.publish(
            LeadCreated(lead=lead), *catalog_events(), recommendation_for(lead.id, app.agent_id)
        )
        (version,) = await app.wait_for_statuses(lead.id, ["READY"])
        assert version["version"] == 1 and version["created_at"].endswith(("Z", "+00:00"))
        response = await app.client.post(f"/api/prospectus/{lead.id}", headers=app.agent)
        assert response.status_code == 202
        await app.wait_for_statuses(lead.id, ["READY", "READY"])
        html = await app.client.get(f"/api/prospectus/{lead.id}/2/html", headers=app.agent)
        assert "Zoë Ünïcödé" in html.text
