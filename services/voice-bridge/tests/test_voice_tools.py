"""The bot's tools: schemas, validation, lead scoping and failures that never kill the call."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from parley_contracts import Recommendation, RecommendedProduct
from voice_bridge.domain.call import CallContext, EndCallReason
from voice_bridge.domain.tools import (
    DoNotCallMarked,
    EmailSaved,
    EndCallRequested,
    FollowUpScheduled,
    ToolName,
    ToolRunner,
    realtime_function_tools,
)
from voice_bridge.testing import ScriptedToolBackend

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
CALL = CallContext(call_id=uuid4(), lead_id=uuid4(), lead_timezone="America/New_York")


def runner(backend: ScriptedToolBackend, timeout_s: float = 1.0) -> ToolRunner:
    return ToolRunner(backend, CALL, timeout_s=timeout_s, clock=lambda: NOW)


def test_the_session_lists_every_tool_with_a_flat_json_schema() -> None:
    tools = {tool["name"]: tool for tool in realtime_function_tools()}

    assert set(tools) == {name.value for name in ToolName}
    assert all(tool["type"] == "function" and tool["description"] for tool in tools.values())
    assert "$ref" not in json.dumps(tools) and "$defs" not in json.dumps(tools)
    assert tools["saveEmail"]["parameters"]["required"] == ["email"]
    assert tools["scheduleFollowUp"]["parameters"]["required"] == ["datetime"]
    assert tools["endCall"]["parameters"]["properties"]["reason"]["enum"] == [r.value for r in EndCallReason]
    needs = tools["lookupProducts"]["parameters"]["properties"]["needs"]
    assert needs["properties"]["budget_range"]["anyOf"][0]["properties"]["period"]["enum"]


async def test_save_email_reaches_the_backend_for_the_calls_own_lead() -> None:
    backend = ScriptedToolBackend()

    result = await runner(backend).run("saveEmail", '{"email": "Jane.Doe@Example.com"}')

    assert result.status == "ok"
    assert json.loads(result.output) == {"ok": True, "saved_email": "Jane.Doe@example.com"}
    assert result.effect == EmailSaved("Jane.Doe@example.com")
    [invocation] = backend.invocations
    assert invocation.tool == "save_email" and invocation.call is CALL


@pytest.mark.parametrize(
    "arguments",
    [
        '{"email": "jane at example"}',
        '{"email": "jane@example.com", "lead_id": "00000000-0000-0000-0000-000000000000"}',
        '{"email": ',
        "{}",
    ],
    ids=["bad-address", "extra-field-cannot-pick-the-lead", "truncated-json", "missing"],
)
async def test_invalid_arguments_are_answered_without_calling_the_backend(arguments: str) -> None:
    backend = ScriptedToolBackend()

    result = await runner(backend).run("saveEmail", arguments)

    assert result.status == "invalid_arguments"
    output = json.loads(result.output)
    assert output["ok"] is False and output["error"] == "invalid_arguments" and output["problems"]
    assert result.effect is None
    assert backend.invocations == []


async def test_an_unknown_tool_gets_an_error_output() -> None:
    result = await runner(ScriptedToolBackend()).run("transferMoney", "{}")
    assert result.status == "unknown_tool"
    assert json.loads(result.output)["ok"] is False


async def test_a_failing_backend_becomes_a_polite_fallback() -> None:
    backend = ScriptedToolBackend(failures={"lookup_products": ConnectionError("rag is down")})

    result = await runner(backend).run("lookupProducts", '{"needs": {"coverage_type": ["term life"]}}')

    assert result.status == "failed"
    output = json.loads(result.output)
    assert output == {"ok": False, "error": "temporarily_unavailable", "note": output["note"]}
    assert "apologise" in output["note"].lower()


async def test_a_slow_backend_times_out_into_the_same_fallback() -> None:
    backend = ScriptedToolBackend(delays_s={"mark_do_not_call": 5})

    result = await runner(backend, timeout_s=0.05).run("markDoNotCall", "{}")

    assert result.status == "timed_out"
    assert json.loads(result.output)["error"] == "temporarily_unavailable"
    assert result.effect is None


async def test_lookup_products_tells_the_model_only_catalog_facts_for_at_most_three_products() -> None:
    product = RecommendedProduct(
        product_id=uuid4(), name="Plan", category_name="Term", insurer="Acme", score=0.5, rationale="Fits."
    )
    backend = ScriptedToolBackend(recommendation=Recommendation(items=[product] * 5))

    result = await runner(backend).run("lookupProducts", '{"needs": {"coverage_type": ["term"], "age": 40}}')

    output = json.loads(result.output)
    assert len(output["products"]) == 3
    assert output["products"][0] == {
        "name": "Plan",
        "insurer": "Acme",
        "category": "Term",
        "key_benefits": [],
        "why": "Fits.",
    }
    assert backend.invocations[0].arguments["needs"].age == 40


async def test_nothing_fits_is_said_plainly() -> None:
    backend = ScriptedToolBackend(
        recommendation=Recommendation(nothing_fits=True, nothing_fits_reason="Age limit.")
    )

    output = json.loads((await runner(backend).run("lookupProducts", '{"needs": {}}')).output)

    assert output["products"] == [] and output["nothing_fits"] == "Age limit."


async def test_a_callback_time_without_offset_is_the_leads_local_time() -> None:
    backend = ScriptedToolBackend()

    result = await runner(backend).run(
        "scheduleFollowUp", '{"datetime": "2025-03-05T17:30:00", "note": "kids asleep"}'
    )

    assert result.status == "ok"
    assert json.loads(result.output)["scheduled_for"] == "2025-03-05T17:30:00-05:00"
    assert result.effect == FollowUpScheduled(datetime(2025, 3, 5, 22, 30, tzinfo=UTC))
    assert backend.invocations[0].arguments == {
        "at": datetime(2025, 3, 5, 22, 30, tzinfo=UTC),
        "note": "kids asleep",
    }


@pytest.mark.parametrize("when", ["2025-03-04T11:00:00Z", "2026-12-01T10:00:00Z"], ids=["past", "too-far"])
async def test_callback_times_outside_the_window_are_refused(when: str) -> None:
    backend = ScriptedToolBackend()

    result = await runner(backend).run("scheduleFollowUp", json.dumps({"datetime": when}))

    assert result.status == "invalid_arguments"
    assert backend.invocations == []


async def test_end_call_and_do_not_call_report_their_effects() -> None:
    backend = ScriptedToolBackend()

    ended = await runner(backend).run("endCall", '{"reason": "not_interested"}')
    marked = await runner(backend).run("markDoNotCall", "{}")

    assert ended.effect == EndCallRequested(EndCallReason.NOT_INTERESTED)
    assert marked.effect == DoNotCallMarked()
    assert [i.tool for i in backend.invocations] == ["mark_do_not_call"]
