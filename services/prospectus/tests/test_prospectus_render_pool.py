"""Where renders run: one at a time in a thread, or several at once in child processes (WeasyPrint
holds the GIL, so only processes use a second core); a child that dies costs a retry, not the pool."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import signal

import pytest
from prospectus.adapters.render_pool import RenderPool
from prospectus.domain.ports import RendererUnavailableError
from prospectus.settings import ProspectusSettings
from prospectus.testing.factories import sample_prospectus_input
from pypdf import PdfReader


def pages(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


async def test_several_renders_run_at_once_in_child_processes():
    pool = RenderPool(2)
    pool.start()
    try:
        data = [sample_prospectus_input(lead_name=f"Lead {n}") for n in range(4)]
        rendered = await asyncio.gather(*(pool.render(d) for d in data))
        assert all(r.pdf.startswith(b"%PDF-") and pages(r.pdf) == r.page_count >= 2 for r in rendered)
        assert [f"Lead {n}" in r.html for n, r in enumerate(rendered)] == [True] * 4
        workers = [p for p in multiprocessing.active_children() if p.pid != os.getpid()]
        assert len(workers) >= 2
    finally:
        await pool.close()


async def test_a_render_process_that_dies_fails_its_render_retryably_then_a_new_pool_renders():
    pool = RenderPool(2)
    try:
        assert (await pool.render(sample_prospectus_input())).pdf.startswith(b"%PDF-")
        children = multiprocessing.active_children()
        assert children
        # Killed mid-render (out of memory, a crash in native code): the whole pool breaks.
        rendering = asyncio.create_task(pool.render(sample_prospectus_input()))
        await asyncio.sleep(0.05)
        for child in children:
            os.kill(child.pid, signal.SIGKILL)
        with pytest.raises(RendererUnavailableError):
            await rendering
        assert (await pool.render(sample_prospectus_input())).pdf.startswith(b"%PDF-")
    finally:
        await pool.close()


async def test_one_render_at_a_time_runs_in_a_thread_without_child_processes():
    before = set(multiprocessing.active_children())
    pool = RenderPool(1)
    pool.start()
    try:
        assert (await pool.render(sample_prospectus_input())).pdf.startswith(b"%PDF-")
        assert set(multiprocessing.active_children()) <= before
    finally:
        await pool.close()


def test_render_concurrency_defaults_to_the_cores_available_up_to_two(monkeypatch):
    monkeypatch.delenv("RENDER_CONCURRENCY", raising=False)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    assert ProspectusSettings().render_concurrency == min(2, cores)
    monkeypatch.setenv("RENDER_CONCURRENCY", "3")
    assert ProspectusSettings().render_concurrency == 3
