"""Runs the offline evaluation (demo catalog, ONNX MiniLM embeddings, Qdrant local mode) and holds its floor."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog.demo import load_demo_catalog
from rag.eval import EvalReport, format_report, load_cases, run_offline_eval

CASES = load_cases()


@pytest.fixture(scope="module")
async def report(tmp_path_factory: pytest.TempPathFactory) -> EvalReport:
    return await run_offline_eval(CASES, Path(tmp_path_factory.mktemp("eval-index")))


def test_the_evaluation_set_is_big_enough_and_refers_to_demo_products() -> None:
    slugs = set(load_demo_catalog().product_slugs)
    assert len(CASES) >= 20
    assert sum(1 for case in CASES if not case.relevant) >= 3
    assert sum(1 for case in CASES if case.transcript) >= 3
    assert all(set(case.relevant) <= slugs for case in CASES)
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.slow
def test_offline_recommendations_meet_the_floor(report: EvalReport) -> None:
    assert report.eligibility_violations == 0, format_report(report)
    assert report.nothing_fits_accuracy == 1.0, format_report(report)
    assert report.hit_at_3 >= 0.9, format_report(report)
    assert report.precision_at_3 >= 0.7, format_report(report)
    assert report.ungrounded_sentences == 0, format_report(report)


@pytest.mark.slow
def test_the_report_prints_one_row_per_case_and_the_totals(report: EvalReport) -> None:
    table = format_report(report)
    assert all(case.id in table for case in CASES)
    assert f"hit@3: {report.hit_at_3:.3f}" in table
    assert "eligibility violations: 0" in table
