"""Where renders run: off the event loop, in a thread or in child processes.

WeasyPrint is synchronous, CPU-bound Python that holds the GIL: renders in several threads share one
core (measured on 2 cores: 2 threads render no faster than one; 2 processes about twice as fast). So
one render at a time runs in a thread, and more than one in that many child processes.

The children fork from a forkserver that has already imported WeasyPrint and the templates' code
(spawn where there is no forkserver), so a pool is ready in milliseconds once the first one in the
process has started. A child that dies (killed, out of memory) breaks the pool: the render fails with
`RendererUnavailableError`, which the worker retries, and the next render gets a fresh pool.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from weasyprint import HTML

from prospectus.domain.models import ProspectusInput, RenderedProspectus
from prospectus.domain.ports import RendererUnavailableError

from .renderer import TEMPLATE_DIR, WeasyPrintRenderer

log = logging.getLogger("prospectus.render_pool")

# The renderer of a child process (set by `_start_child`).
_child_renderer: WeasyPrintRenderer | None = None


def _start_child(template_dir: Path) -> None:
    global _child_renderer
    _child_renderer = WeasyPrintRenderer(template_dir)
    # Fonts load on a process's first render: done here, not on the first prospectus.
    HTML(string="<p>warm-up</p>").write_pdf()


def _render_in_child(data: ProspectusInput) -> RenderedProspectus:
    assert _child_renderer is not None, "the pool's initializer did not run"
    return _child_renderer.render(data)


def _ready() -> None:
    """A no-op whose completion shows a child has started."""


def _process_context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Takes effect when this process first starts its forkserver (a no-op afterwards).
        context.set_forkserver_preload([__name__])
        return context
    return multiprocessing.get_context("spawn")


class RenderPool:
    """Implements `RenderExecutor`: `processes` renders at once (1: in a thread of this process)."""

    def __init__(self, processes: int, template_dir: Path = TEMPLATE_DIR) -> None:
        if processes < 1:
            raise ValueError("at least one render at a time")
        self.processes = processes
        self._template_dir = template_dir
        self._renderer = WeasyPrintRenderer(template_dir) if processes == 1 else None
        self._executor: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the child processes now, so the first prospectus does not wait for them."""
        if self._renderer is None:
            executor = self._pool()
            for _ in range(self.processes):
                executor.submit(_ready).add_done_callback(_log_start_failure)

    async def render(self, data: ProspectusInput) -> RenderedProspectus:
        if self._renderer is not None:
            return await asyncio.to_thread(self._renderer.render, data)
        executor = self._pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, _render_in_child, data)
        except BrokenProcessPool as exc:
            if self._executor is executor:
                self._executor = None
                executor.shutdown(wait=False, cancel_futures=True)
            raise RendererUnavailableError(f"a render process stopped unexpectedly: {exc}") from exc

    async def close(self) -> None:
        """Stop the children once the renders they are on finish; queued renders are dropped."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.processes,
                mp_context=_process_context(),
                initializer=_start_child,
                initargs=(self._template_dir,),
            )
        return self._executor


def _log_start_failure(started: Future[None]) -> None:
    if not started.cancelled() and started.exception() is not None:
        log.warning("a render process did not start: %s", started.exception())
