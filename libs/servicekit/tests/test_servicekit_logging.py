"""What reaches the service's log stream: FastStream's idle-fetch noise does not, real failures do."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from servicekit.logging import configure_logging


@pytest.fixture
def service_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging("svc", json_output=True)
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


RETRYING = "Task-7 raised an exception, retrying...\nIf this behavior causes issues, ..."


def test_an_idle_pull_fetch_timeout_is_not_reported_as_an_error(
    service_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    supervisor = logging.getLogger("faststream.logging-test")
    supervisor.error(RETRYING, exc_info=_raised(TimeoutError()))
    assert capsys.readouterr().err == ""


def test_other_failures_of_the_pull_loop_are_still_reported(
    service_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    supervisor = logging.getLogger("faststream.logging-test")
    supervisor.error(RETRYING, exc_info=_raised(ConnectionResetError("peer gone")))
    logging.getLogger("svc.handlers").error("handler timed out", exc_info=_raised(TimeoutError()))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], "exc" in line) for line in lines] == [
        ("faststream.logging-test", True),
        ("svc.handlers", True),
    ]
    assert "ConnectionResetError" in lines[0]["exc"]
