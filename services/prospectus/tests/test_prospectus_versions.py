from datetime import timedelta

import pytest
from prospectus.domain.versions import LeadEmailFacts, may_email_automatically, retry_delay

ELIGIBLE = LeadEmailFacts(email="priya@example.com", email_permission=True, email_opt_out=False, dnd=False)


def test_an_automatic_version_for_an_eligible_lead_is_emailed():
    assert may_email_automatically(True, ELIGIBLE)


@pytest.mark.parametrize(
    "change",
    [{"email": None}, {"email": ""}, {"email_permission": False}, {"email_opt_out": True}, {"dnd": True}],
)
def test_each_missing_condition_stops_the_automatic_email(change):
    facts = LeadEmailFacts(**{**ELIGIBLE.__dict__, **change})
    assert not may_email_automatically(True, facts)


def test_on_demand_versions_are_never_emailed_by_themselves():
    assert not may_email_automatically(False, ELIGIBLE)


def test_render_retries_back_off_linearly():
    assert [retry_delay(n, 2.0) for n in (0, 1, 3)] == [
        timedelta(seconds=2),
        timedelta(seconds=2),
        timedelta(seconds=6),
    ]
